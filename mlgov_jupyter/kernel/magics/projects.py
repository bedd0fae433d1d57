from .base import Subcommand


class Projects(Subcommand):
    name = "projects"
    help = ("List projects; --new NAME creates one; --add-member PROJECT USER DESIGNATION; "
            "--remove-member PROJECT USER")

    def add_arguments(self, parser):
        parser.add_argument("--new", metavar="NAME")
        parser.add_argument("--description", default="")
        parser.add_argument("--add-member", nargs=3, metavar=("PROJECT", "USER", "DESIGNATION"))
        parser.add_argument("--remove-member", nargs=2, metavar=("PROJECT", "USER"))

    def run(self, args, ctx):
        client = ctx.client
        if args.new:
            client.create_project(args.new, args.description)
        if args.add_member:
            client.add_member(*args.add_member)
        if args.remove_member:
            client.remove_member(*args.remove_member)
        projects = client.projects()
        for p in projects:
            members = ", ".join(f"{m['user']}:{m['designation']}" for m in p["members"])
            print(f"{p['name']}: {p['description']} [{members}]")
        return None
