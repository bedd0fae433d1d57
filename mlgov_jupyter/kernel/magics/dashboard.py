from .base import Subcommand


class Dashboard(Subcommand):
    name = "dashboard"
    help = "Every model: card status, monitoring checks, latest result, alert state"

    def run(self, args, ctx):
        rows = ctx.client.dashboard()
        if not rows:
            print("no models in the catalog")
        for r in rows:
            latest = r["latest"]
            last = (f"{latest['status']} ({latest['violations']} violations) {latest['created_at'][:19]}"
                    if latest else "never checked")
            card = f"{r['card']} {r['card_status']}" if r["card"] else "no card"
            if r.get("acknowledged"):
                last += f" (acknowledged by {r['acknowledged']['by']}: {r['acknowledged']['comment']})"
            print(f"{r['model']:<24} {r['project']:<14} {r['alert']:<8} {card:<32} "
                  f"{r['executions']} checks, last: {last}")
        return None


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
        rows = client.executions(args.model, limit=args.limit)
        if not rows:
            print(f"no monitoring checks of {args.model} yet (%mlgov drift ... --model {args.model})")
        for e in rows:
            drifted = ", ".join(e["summary"].get("drifted_columns") or []) or "none"
            print(f"#{e['id']:<5} {e['created_at'][:19]} {e['monitor_type']:<13} {e['status']:<24} "
                  f"violations {e['violations']:<3} drifted: {drifted}")
        return None


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
