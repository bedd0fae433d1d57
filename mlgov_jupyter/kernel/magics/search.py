from .base import Subcommand


class Search(Subcommand):
    name = "search"
    help = "Search the catalog: %mlgov search [WORDS] [--kind K] [--tag T] [--project P] ..."

    def add_arguments(self, parser):
        parser.add_argument("words", nargs="*")
        for flag in ("kind", "tag", "project", "owner", "classification"):
            parser.add_argument(f"--{flag}")
        parser.add_argument("--page", type=int, default=1)
        parser.add_argument("--include-deprecated", action="store_true", help="show deprecated assets too")

    def run(self, args, ctx):
        filters = {k: getattr(args, k) for k in ("kind", "tag", "project", "owner", "classification")
                   if getattr(args, k)}
        if args.include_deprecated:
            filters["include_deprecated"] = True
        return ctx.client.search(" ".join(args.words), page=args.page, **filters)
