from .base import Subcommand


class Audit(Subcommand):
    name = "audit"
    help = ("Audit trail: %mlgov audit verify | %mlgov audit log [--project P] [--limit N] | "
            "%mlgov audit checkpoint (admins: sign the chain's head now)")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=("verify", "log", "checkpoint"))
        parser.add_argument("--limit", type=int, default=20)
        parser.add_argument("--project", help="one project's events (its owners and stewards)")

    def run(self, args, ctx):
        if args.action == "verify":
            result = ctx.client.audit_verify()
            print(("OK: " if result["ok"] else "BROKEN: ") + result["message"])
            return result
        if args.action == "checkpoint":
            result = ctx.client.audit_checkpoint()
            print(result["message"])
            return result
        for e in ctx.client.audit(limit=args.limit, project=args.project):
            print(f"{e['id']:>5} {e['ts'][:19]} {e['actor']:<12} {e['action']:<22} "
                  f"{e['resource_type']}:{e['resource_id']}")
        return None
