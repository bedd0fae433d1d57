from .base import Subcommand


class Requests(Subcommand):
    name = "requests"
    help = "Your access requests, or --incoming ones to decide on; --status pending|accepted|rejected"

    def add_arguments(self, parser):
        parser.add_argument("--incoming", action="store_true")
        parser.add_argument("--status", choices=("pending", "accepted", "rejected"))

    def run(self, args, ctx):
        rows = ctx.client.requests(incoming=args.incoming, status=args.status)
        if not rows:
            print("no requests")
        for r in rows:
            print(f"#{r['id']} {r['asset']} by {r['requester']}: {r['status']} - {r['reason']}"
                  + (f" (decided by {r['decided_by']}: {r['decision_comment']})" if r["decided_by"] else ""))
        return None
