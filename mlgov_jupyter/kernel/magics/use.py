from .base import Subcommand


class Use(Subcommand):
    name = "use"
    help = ("Load an asset you own or were granted: df = %mlgov use NAME [--revision N] "
            "[--columns a,b] [--filter '[[\"col\", \">\", 3]]']; urls = %mlgov use NAME --urls "
            "[--expires SECONDS]: short-lived presigned URLs to its Parquet files (where the server vends them)")

    def add_arguments(self, parser):
        parser.add_argument("asset")
        parser.add_argument("--revision", type=int)
        parser.add_argument("--columns", help="comma separated")
        parser.add_argument("--filter", help="a JSON row filter: [[column, op, value], ...]")
        parser.add_argument("--urls", action="store_true",
                            help="presigned URLs to the revision's Parquet files instead of the data")
        parser.add_argument("--expires", type=int, help="with --urls: seconds the URLs live (at most the "
                                                        "server's presigned_url_seconds)")

    def run(self, args, ctx):
        import json

        from IPython.core.error import UsageError

        try:
            rows = json.loads(args.filter) if args.filter else None
        except ValueError:
            raise UsageError("%mlgov use: --filter is not valid JSON") from None
        columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
        if args.expires is not None and not args.urls:
            raise UsageError("%mlgov use: --expires goes with --urls")
        if args.urls:
            if columns is not None or rows is not None:
                raise UsageError("%mlgov use: --urls gives whole files; --columns and --filter apply to a scan")
            return ctx.client.presigned_urls(args.asset, revision=args.revision, expires=args.expires)
        return ctx.client.use(args.asset, revision=args.revision, columns=columns, filter=rows)
