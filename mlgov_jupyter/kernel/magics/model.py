"""``%mlgov model``: model revisions under governance (approval status, aliases, the project gate)."""

from __future__ import annotations

from html import escape

from IPython.core.error import UsageError

from .base import Subcommand

USAGE = ("Model versions: %mlgov model versions NAME | %mlgov model approve NAME REVISION --comment C | "
         "%mlgov model reject NAME REVISION --comment C | %mlgov model alias NAME ALIAS REVISION | "
         "%mlgov model policy PROJECT [off|warn|refuse]")


class Model(Subcommand):
    name = "model"
    help = USAGE

    def add_arguments(self, parser):
        parser.add_argument("action", choices=("versions", "approve", "reject", "alias", "policy"))
        parser.add_argument("target", help="the model (the project for policy)")
        parser.add_argument("rest", nargs="*", help="REVISION | ALIAS REVISION | off|warn|refuse")
        parser.add_argument("--comment", default="")

    def run(self, args, ctx):
        client = ctx.client
        if args.action == "versions":
            _expect(args, 0)
            return _show(client.model_versions(args.target))
        if args.action == "policy":
            if not args.rest:
                setting = client.project_settings(args.target)
            else:
                _expect(args, 1)
                if args.rest[0] not in ("off", "warn", "refuse"):
                    raise UsageError("%mlgov model policy: the setting is off, warn or refuse")
                setting = client.set_model_approval(args.target, args.rest[0])
            print(f"project {setting['project']}: model_approval={setting['model_approval']}")
            return None
        if args.action == "alias":
            _expect(args, 2)
            client.set_alias(args.target, args.rest[0], _revision(args.rest[1]))
            print(f"{args.target}@{args.rest[0]} -> revision {args.rest[1]}")
            return None
        _expect(args, 1)
        if not args.comment.strip():
            raise UsageError(f"%mlgov model {args.action}: say why with --comment")
        decide = client.approve_model if args.action == "approve" else client.reject_model
        versions = decide(args.target, _revision(args.rest[0]), comment=args.comment)
        rev = next(r for r in versions["revisions"] if r["revision"] == int(args.rest[0]))
        print(f"{args.target} revision {rev['revision']}: {rev['approval_status']} by {rev['decided_by']}")
        return None


def _expect(args, n: int) -> None:
    if len(args.rest) != n:
        want = {"versions": "NAME", "approve": "NAME REVISION --comment C", "reject": "NAME REVISION --comment C",
                "alias": "NAME ALIAS REVISION", "policy": "PROJECT [off|warn|refuse]"}[args.action]
        raise UsageError(f"%mlgov model {args.action} {want}")


def _revision(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"%mlgov model: revision must be a positive number, not {text!r}")
    return int(text)


def _rows(v: dict) -> list[list[str]]:
    out = []
    for r in v["revisions"]:
        cards = ", ".join(f"{c['card']} v{c['version']} ({c['status']})" for c in r["cards"]) or "-"
        decided = f"{r['decided_by']} {(r['decided_at'] or '')[:19].replace('T', ' ')}" if r["decided_by"] else "-"
        out.append([str(r["revision"]), r["approval_status"], ", ".join(r["aliases"]) or "-", decided,
                    r["comment"] or "", r["created_by"], cards])
    return out


HEADER = ["revision", "status", "aliases", "decided", "comment", "published by", "cards"]


class VersionsView:
    """A model's versions as an HTML table (text in plain front ends)."""

    def __init__(self, versions: dict):
        self.versions = versions

    def __getitem__(self, key):
        return self.versions[key]

    def _title(self) -> str:
        v = self.versions
        return f"{v['name']} (project {v['project']}, model_approval={v['model_approval']})"

    def __repr__(self) -> str:
        rows = [HEADER] + _rows(self.versions)
        widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
        lines = [self._title()] + ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        for mv in self.versions["alias_history"][:10]:
            lines.append(f"alias {mv['alias']}: {mv['from_revision'] or '-'} -> {mv['to_revision']} "
                         f"by {mv['moved_by']} {mv['moved_at'][:19].replace('T', ' ')}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{escape(h)}</th>" for h in HEADER)
        body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{escape(c)}</td>" for c in row) + "</tr>"
                       for row in _rows(self.versions))
        moves = "".join(f"<li>{escape(mv['alias'])}: {escape(str(mv['from_revision'] or '-'))} &rarr; "
                        f"{mv['to_revision']} by {escape(mv['moved_by'])} "
                        f"{escape(mv['moved_at'][:19].replace('T', ' '))}</li>"
                        for mv in self.versions["alias_history"][:10])
        return (f"<div class='mlgov-model-versions'><b>{escape(self._title())}</b>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                + (f"<div>Alias moves</div><ul>{moves}</ul>" if moves else "") + "</div>")


def _show(versions: dict) -> VersionsView:
    return VersionsView(versions)
