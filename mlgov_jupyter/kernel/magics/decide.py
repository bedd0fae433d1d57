from .base import Subcommand


class Approve(Subcommand):
    name = "approve"
    help = "Accept an access request: %mlgov approve ID [--comment TEXT] [--filter F]"
    accept = True

    def add_arguments(self, parser):
        parser.add_argument("request_id", type=int)
        parser.add_argument("--comment", default="")
        if self.accept:
            parser.add_argument("--filter", help="scope the grant to this asset filter (narrow the request)")

    def run(self, args, ctx):
        client = ctx.client
        if self.accept:
            r = client.approve(args.request_id, comment=args.comment, filter=args.filter)
        else:
            r = client.reject(args.request_id, comment=args.comment)
        scope = f" (asset filter {r['granted_filter']})" if r.get("granted_filter") else ""
        print(f"request #{r['id']} for {r['asset']} by {r['requester']} is {r['status']}{scope}")
        return None


class Reject(Approve):
    name = "reject"
    help = "Reject an access request: %mlgov reject ID [--comment TEXT]"
    accept = False
