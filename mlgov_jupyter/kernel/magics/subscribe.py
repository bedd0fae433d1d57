from .base import Subcommand


class Subscribe(Subcommand):
    name = "subscribe"
    help = "Request access to an asset: %mlgov subscribe NAME --reason \"why\""

    def add_arguments(self, parser):
        parser.add_argument("asset")
        parser.add_argument("--reason", required=True)

    def run(self, args, ctx):
        r = ctx.client.subscribe(args.asset, reason=args.reason)
        print(f"request #{r['id']} for {r['asset']} is {r['status']}; owners of {r['project']} decide")
        return None
