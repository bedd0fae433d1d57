from .base import Subcommand


class Notifications(Subcommand):
    name = "notifications"
    help = "Your notifications, unread first: %mlgov notifications [--unread] [--page N] [--read ID ... | --read-all]"

    def add_arguments(self, parser):
        parser.add_argument("--unread", action="store_true", help="only unread ones")
        parser.add_argument("--page", type=int, default=1)
        parser.add_argument("--read", nargs="+", type=int, metavar="ID", help="mark these read")
        parser.add_argument("--read-all", action="store_true", help="mark all read")

    def run(self, args, ctx):
        from ..widgets.table import Table

        client = ctx.client
        if args.read or args.read_all:
            r = client.mark_read(ids=args.read or (), all=args.read_all)
            print(f"{r['read']} marked read, {r['unread']} unread")
            return None
        page = client.notifications(unread=args.unread, page=max(1, args.page))
        rows = [{"id": n["id"], "": "" if n["read"] else "new", "time": n["created_at"][:16].replace("T", " "),
                 "event": n["event"], "project": n["project"] or "", "subject": n["subject"]}
                for n in page["notifications"]]
        pages = max(1, -(-page["total"] // page["page_size"]))
        return Table(["id", "", "time", "event", "project", "subject"], rows,
                     title=f"{page['unread']} unread of {page['total']}" + (f" (page {page['page']} of {pages})"
                                                                              if pages > 1 else ""),
                     empty="no notifications" if not args.unread else "no unread notifications",
                     note="mark read: %mlgov notifications --read ID ... or --read-all" if page["unread"] else "")
