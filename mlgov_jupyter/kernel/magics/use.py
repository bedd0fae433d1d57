from .base import Subcommand


class Use(Subcommand):
    name = "use"
    help = ("Load an asset you own or were granted: df = %mlgov use NAME [--revision N] "
            "[--columns a,b] [--filter '[[\"col\", \">\", 3]]']")

    def add_arguments(self, parser):
        parser.add_argument("asset")
        parser.add_argument("--revision", type=int)
        parser.add_argument("--columns", help="comma separated")
        parser.add_argument("--filter", help="a JSON row filter: [[column, op, value], ...]")

    def run(self, args, ctx):
        import json

        from IPython.core.error import UsageError

        try:
            rows = json.loads(args.filter) if args.filter else None
        except ValueError:
            raise UsageError("%mlgov use: --filter is not valid JSON") from None
        columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
        return ctx.client.use(args.asset, revision=args.revision, columns=columns, filter=rows)
