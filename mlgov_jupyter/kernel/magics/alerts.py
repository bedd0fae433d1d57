from .base import Subcommand


class Alerts(Subcommand):
    name = "alerts"
    help = ("Alerts of deployments and monitors (violation, missing, inactive): %mlgov alerts [--all] "
            "| %mlgov alerts --ack ID --comment \"what is being done\"")

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="resolved ones too")
        parser.add_argument("--ack", type=int, metavar="ID")
        parser.add_argument("--comment", default="")

    def run(self, args, ctx):
        from ..widgets.table import Table

        client = ctx.client
        if args.ack:
            a = client.acknowledge(args.ack, comment=args.comment)
            print(f"alert {a['id']} ({a['kind']}) acknowledged by {a['acknowledged']['by']}")
            return None
        rows = [{"id": a["id"], "state": a["state"] + (" (acknowledged)" if a["acknowledged"] else ""),
                 "kind": a["kind"], "deployment": a["deployment"] or "", "monitor": a["monitor"] or "",
                 "reason": a["reason"], "raised": a["raised_at"][:19].replace("T", " ")}
                for a in client.alerts("all" if args.all else "open")]
        return Table(["id", "state", "kind", "deployment", "monitor", "reason", "raised"], rows,
                     empty="no open alerts" if not args.all else "no alerts")
