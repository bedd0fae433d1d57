from IPython.core.error import UsageError

from .base import Subcommand


class Login(Subcommand):
    name = "login"
    help = "Act as the user of another API token: %mlgov login, then type the token at the prompt"

    def add_arguments(self, parser):
        parser.add_argument("token", nargs="?", help=None)

    def run(self, args, ctx):
        import getpass

        from ..client import connect

        if args.token:
            # a token on the line lands in the IPython history database
            raise UsageError("%mlgov login: type the token at the prompt, not on the line (the line is "
                             "saved in the IPython history)")
        client = connect(token=getpass.getpass("mlgov API token: ").strip())
        me = client.whoami()
        ctx.shell.user_ns["mlgov_client"] = client
        ctx.set_client(client)
        print(f"logged in as {me['name']}")
        return None
