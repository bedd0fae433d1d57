from .base import Subcommand


class Said(dict):
    """A result already printed as one line: kept for ``r = %mlgov ...``, not displayed again."""

    def _ipython_display_(self):
        pass


class Audit(Subcommand):
    name = "audit"
    help = ("Audit trail: %mlgov audit verify | %mlgov audit log [--project P] [--limit N] "
            "[--actor U] [--action A] [--resource TYPE[:ID]] [--since T] [--until T] [--before ID] "
            "[--export FILE.jsonl] | %mlgov audit checkpoint (admins: sign the chain's head now)")

    def add_arguments(self, parser):
        parser.add_argument("command", choices=("verify", "log", "checkpoint"))
        parser.add_argument("--limit", type=int, default=20)
        parser.add_argument("--project", help="one project's events (its owners and stewards)")
        parser.add_argument("--actor", help="events of one user")
        parser.add_argument("--action", help="e.g. asset.publish, access.denied")
        parser.add_argument("--resource", help="TYPE or TYPE:ID, e.g. asset:churn")
        parser.add_argument("--since", help="ISO 8601 time (UTC if no zone)")
        parser.add_argument("--until", help="ISO 8601 time (UTC if no zone)")
        parser.add_argument("--before", type=int, help="older than this event id (the next page)")
        parser.add_argument("--export", metavar="FILE", help="write every matching event as JSON Lines")

    def run(self, args, ctx):
        if args.command == "verify":
            result = ctx.client.audit_verify()
            print(("OK: " if result["ok"] else "BROKEN: ") + result["message"])
            return Said(result)
        if args.command == "checkpoint":
            result = ctx.client.audit_checkpoint()
            print(result["message"])
            return Said(result)
        rtype, _, rid = (args.resource or "").partition(":")
        filters = {"project": args.project, "actor": args.actor, "action": args.action,
                   "resource_type": rtype or None, "resource_id": rid or None,
                   "since": args.since, "until": args.until}
        if args.export:
            count = ctx.client.audit_export(args.export, **filters)
            print(f"wrote {count} events to {args.export}")
            return count
        events = ctx.client.audit(limit=args.limit, before=args.before, **filters)
        for e in events:
            print(f"{e['id']:>5} {e['ts'][:19]} {e['actor']:<12} {e['action']:<22} "
                  f"{e['resource_type']}:{e['resource_id']}")
        if len(events) == args.limit and events and events[-1]["id"] > 1:
            print(f"older events: %mlgov audit log --before {events[-1]['id']} ...")
        return None
