from .base import Subcommand


class Approve(Subcommand):
    name = "approve"
    help = "Accept an access request: %mlgov approve ID [--comment TEXT]"
    accept = True

    def add_arguments(self, parser):
        parser.add_argument("request_id", type=int)
        parser.add_argument("--comment", default="")

    def run(self, args, ctx):
        client = ctx.client
        call = client.approve if self.accept else client.reject
        r = call(args.request_id, comment=args.comment)
        print(f"request #{r['id']} for {r['asset']} by {r['requester']} is {r['status']}")
        return None


class Reject(Approve):
    name = "reject"
    help = "Reject an access request: %mlgov reject ID [--comment TEXT]"
    accept = False
