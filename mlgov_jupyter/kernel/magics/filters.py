from IPython.core.error import UsageError

from .base import Subcommand


class Filter(Subcommand):
    name = "filter"
    help = ("Asset filters of a dataset: %mlgov filter list NAME | %mlgov filter define NAME FILTER "
            "[--columns a,b] [--rows \"[[col, op, value], ...]\"] [--description D] | "
            "%mlgov filter delete NAME FILTER")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=("list", "define", "delete"))
        parser.add_argument("asset")
        parser.add_argument("filter", nargs="?")
        parser.add_argument("--columns", help="comma separated: the columns a grantee sees")
        parser.add_argument("--rows", help="a JSON row filter, e.g. '[[\"region\", \"==\", \"EU\"]]'")
        parser.add_argument("--description", default="")

    def run(self, args, ctx):
        import json

        client = ctx.client
        if args.action == "list":
            for f in client.filters(args.asset):
                cols = ", ".join(f["columns"]) if f["columns"] else "all columns"
                rows = json.dumps(f["rows"]) if f["rows"] else "all rows"
                print(f"{f['name']}: {cols}; {rows}" + (f" ({f['description']})" if f["description"] else ""))
            return None
        if not args.filter:
            raise UsageError(f"%mlgov filter {args.action}: name the filter (see %mlgov help)")
        if args.action == "delete":
            client.delete_filter(args.asset, args.filter)
            print(f"deleted asset filter {args.filter} of {args.asset}")
            return None
        try:
            rows = json.loads(args.rows) if args.rows else None
        except ValueError:
            raise UsageError("%mlgov filter define: --rows is not valid JSON") from None
        columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
        f = client.define_filter(args.asset, args.filter, columns=columns, rows=rows,
                                 description=args.description)
        print(f"asset filter {f['name']} of {args.asset}: {', '.join(f['columns'] or ['all columns'])}"
              f"; {json.dumps(f['rows']) if f['rows'] else 'all rows'}")
        return None
