from .base import Subcommand


class Subscribe(Subcommand):
    name = "subscribe"
    help = "Request access to an asset: %mlgov subscribe NAME --reason \"why\" [--filter F]"

    def add_arguments(self, parser):
        parser.add_argument("asset")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--filter", help="an asset filter of the dataset: ask for that scope only")

    def run(self, args, ctx):
        r = ctx.client.subscribe(args.asset, reason=args.reason, filter=args.filter)
        scope = f" (asset filter {r['asset_filter']})" if r.get("asset_filter") else ""
        print(f"request #{r['id']} for {r['asset']}{scope} is {r['status']}; owners of {r['project']} decide")
        return None
