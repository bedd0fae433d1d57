from .base import Subcommand


class Login(Subcommand):
    name = "login"
    help = "Act as the user of an API token on a shared server: %mlgov login TOKEN"

    def add_arguments(self, parser):
        parser.add_argument("token")

    def run(self, args, ctx):
        from ..client import connect

        client = connect(token=args.token)
        me = client.whoami()
        ctx.shell.user_ns["mlgov_client"] = client
        ctx.set_client(client)
        print(f"logged in as {me['name']}")
        return None
