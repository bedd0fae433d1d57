from .base import Subcommand

EVENT_NAMES = ("alert.raised", "alert.resolved", "monitor.missing", "monitor.inactive", "access.requested",
               "access.decided", "card.review_requested", "grant.expiring")


class Channels(Subcommand):
    name = "channels"
    help = ("Where notifications reach you besides JupyterLab: %mlgov channels list | "
            "add webhook|email|in_lab [TARGET] [--events E ...] [--project P] | delete ID | log ID")

    def add_arguments(self, parser):
        parser.add_argument("action", nargs="?", default="list", choices=("list", "add", "delete", "log"))
        parser.add_argument("args", nargs="*", help="add: KIND [TARGET]; delete, log: ID")
        parser.add_argument("--events", nargs="+", choices=EVENT_NAMES, default=[],
                            help="events to carry (default: all)")
        parser.add_argument("--project", help="a project channel: every event of the project (its owners)")
        parser.add_argument("--limit", type=int, default=20)

    def run(self, args, ctx):
        from IPython.core.error import UsageError

        from ..widgets.table import Table

        client = ctx.client
        if args.action == "add":
            if not 1 <= len(args.args) <= 2 or args.args[0] not in ("webhook", "email", "in_lab"):
                raise UsageError("%mlgov channels add webhook URL | email ADDRESS | in_lab --project P "
                                 "[--events E ...]")
            target = args.args[1] if len(args.args) == 2 else None
            c = client.add_channel(args.args[0], target, events=args.events, project=args.project)
            print(f"channel #{c['id']}: {c['kind']} {c['target'] or ''} for "
                  f"{'project ' + c['project'] if c['project'] else 'you'}: "
                  f"{', '.join(c['events']) or 'every event'}")
            if c.get("secret"):
                print(f"signing secret (shown once, keep it): {c['secret']}\n"
                      "each POST carries X-Mlgov-Signature: sha256=HMAC-SHA256(secret, raw body)")
            return None
        if args.action in ("delete", "log"):
            if len(args.args) != 1 or not args.args[0].lstrip("#").isdigit():
                raise UsageError(f"%mlgov channels {args.action} ID (see %mlgov channels list)")
            channel_id = int(args.args[0].lstrip("#"))
            if args.action == "delete":
                c = client.delete_channel(channel_id)
                print(f"channel #{c['id']} ({c['kind']} {c['target'] or ''}) deleted")
                return None
            rows = [{"id": f"#{d['id']}", "event": d["event"], "subject": d["subject"], "status": d["status"],
                     "attempts": d["attempts"],
                     "last": (lambda a: f"{a['status_code'] or ''} {a['error'] or 'ok'}".strip())(d["log"][-1])
                     if d["log"] else ""}
                    for d in client.channel_deliveries(channel_id, limit=args.limit)]
            return Table(["id", "event", "subject", "status", "attempts", "last"], rows,
                         title=f"deliveries of channel #{channel_id}, newest first",
                         empty=f"channel #{channel_id} has delivered nothing yet")
        if args.args:
            raise UsageError("%mlgov channels list takes no arguments")
        rows = [{"id": f"#{c['id']}", "kind": c["kind"], "target": c["target"] or "",
                 "for": f"project {c['project']}" if c["project"] else c["user"],
                 "events": ", ".join(c["events"]) or "all"} for c in client.channels()]
        return Table(["id", "kind", "target", "for", "events"], rows,
                     empty="no channels: notifications reach you in JupyterLab only "
                           "(%mlgov channels add webhook URL | email ADDRESS)")
