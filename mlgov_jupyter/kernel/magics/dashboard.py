from .base import Subcommand


class Sections(list):
    """Tables shown one after another (HTML in a notebook, text elsewhere)."""

    def __repr__(self) -> str:
        return "\n\n".join(repr(t) for t in self)

    def _repr_html_(self) -> str:
        return "".join(t._repr_html_() for t in self)

    def _repr_pretty_(self, p, cycle: bool) -> None:
        p.text(repr(self))


class Dashboard(Subcommand):
    name = "dashboard"
    help = ("Deployments (model revision, status, monitors, last run, alert state) and every model "
            "(card status, monitoring checks, latest result, alert state)")

    def run(self, args, ctx):
        from .deploy import deployments_table

        return Sections([deployments_table(ctx.client), self.models(ctx)])

    def models(self, ctx):
        from ..widgets.table import Table

        rows = []
        for r in ctx.client.dashboard():
            latest = r["latest"]
            last = (f"{latest['status']} ({latest['violations']} violations) {latest['created_at'][:19].replace('T', ' ')}"
                    if latest else "never checked")
            if r.get("acknowledged"):
                last += f" (acknowledged by {r['acknowledged']['by']}: {r['acknowledged']['comment']})"
            alert = "Not monitored" if r["alert"] == "NotMonitored" else r["alert"]
            if r["alert"] == "InAlert" and r.get("acknowledged"):
                alert = "InAlert (acknowledged)"
            rows.append({"model": r["model"], "project": r["project"], "alert": alert,
                         "card": f"{r['card']} {r['card_status']}" if r["card"] else "no card",
                         "checks": r["executions"], "last check": last,
                         "unknown": ", ".join(r.get("unknown") or []) or "—"})
        return Table(["model", "project", "alert", "card", "checks", "last check", "unknown"], rows,
                     title="models" if rows else "", empty="no models in the catalog")


class History(Subcommand):
    name = "history"
    help = "A model's monitoring checks, newest first: %mlgov history MODEL [--id N for one report]"

    def add_arguments(self, parser):
        parser.add_argument("model")
        parser.add_argument("--id", type=int, help="show one execution's full report")
        parser.add_argument("--limit", type=int, default=20)

    def run(self, args, ctx):
        client = ctx.client
        if args.id:
            return client.execution(args.model, args.id)
        from ..widgets.table import Table

        rows = [{"id": f"#{e['id']}", "time": e["created_at"][:19].replace("T", " "), "monitor": e["monitor_type"],
                 "status": e["status"], "violations": e["violations"],
                 "drifted": ", ".join(e["summary"].get("drifted_columns") or []) or "none"}
                for e in client.executions(args.model, limit=args.limit)]
        return Table(["id", "time", "monitor", "status", "violations", "drifted"], rows,
                     title=f"monitoring checks of {args.model}, newest first" if rows else "",
                     empty=f"no monitoring checks of {args.model} yet (%mlgov drift ... --model {args.model})",
                     note=f"one report: %mlgov history {args.model} --id N" if rows else "")


class Ack(Subcommand):
    name = "ack"
    help = "Acknowledge a model's alert: %mlgov ack MODEL --comment \"retraining next week\""

    def add_arguments(self, parser):
        parser.add_argument("model")
        parser.add_argument("--comment", default="")

    def run(self, args, ctx):
        a = ctx.client.acknowledge_alert(args.model, comment=args.comment)
        print(f"alert of {args.model} (check #{a['execution']}) acknowledged by {a['by']}")
        return None
