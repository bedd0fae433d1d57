"""%mlgov unpublish NAME --reason ..."""

from __future__ import annotations

from IPython.core.error import UsageError

from .base import Subcommand


class Unpublish(Subcommand):
    name = "unpublish"
    help = ("Take an asset out of the catalog for good (owners): grants end, pending requests close: "
            "%mlgov unpublish NAME --reason WHY")

    def add_arguments(self, parser):
        parser.add_argument("asset")
        parser.add_argument("--reason", help="why (required)")

    def run(self, args, ctx):
        if not (args.reason or "").strip():
            raise UsageError("%mlgov unpublish: give --reason \"why\"")
        r = ctx.client.unpublish(args.asset, args.reason)
        kept = f", {len(r['content_kept'])} kept (shared with other assets)" if r["content_kept"] else ""
        print(f"{r['name']} is unpublished: {r['grants_ended']} grant(s) ended, {r['requests_closed']} "
              f"pending request(s) closed, {len(r['content_deleted'])} stored object(s) deleted{kept}")
        return None
