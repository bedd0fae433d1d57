"""%mlgov deprecate NAME --reason ... [--replacement X] [--undo]"""

from __future__ import annotations

from IPython.core.error import UsageError

from .base import Subcommand


class Deprecate(Subcommand):
    name = "deprecate"
    help = ("Deprecate an asset (owners, stewards): hidden from search, still readable, use warns: "
            "%mlgov deprecate NAME --reason WHY [--replacement OTHER] | --undo")

    def add_arguments(self, parser):
        parser.add_argument("asset")
        parser.add_argument("--reason", help="why (required, unless --undo)")
        parser.add_argument("--replacement", help="the asset to use instead")
        parser.add_argument("--undo", action="store_true", help="lift the deprecation")

    def run(self, args, ctx):
        client = ctx.client
        if args.undo:
            if args.reason or args.replacement:
                raise UsageError("%mlgov deprecate: --undo takes no --reason or --replacement")
            a = client.undeprecate(args.asset)
            print(f"{a['name']} is no longer deprecated")
            return None
        if not (args.reason or "").strip():
            raise UsageError("%mlgov deprecate: give --reason \"why\" (or --undo)")
        a = client.deprecate(args.asset, args.reason, replacement=args.replacement)
        instead = f"; use {a['deprecated']['replacement']} instead" if a["deprecated"]["replacement"] else ""
        print(f"{a['name']} is deprecated: {a['deprecated']['reason']}{instead}")
        return None
