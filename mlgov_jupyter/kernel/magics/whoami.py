from .base import Subcommand


class WhoAmI(Subcommand):
    name = "whoami"
    help = "Who the governance service sees you as, and your projects"

    def run(self, args, ctx):
        me = ctx.client.whoami()
        roles = ", ".join(f"{p['name']} ({p['designation']})" for p in me["projects"]) or "no projects"
        print(f"{me['name']}{' [admin]' if me['is_admin'] else ''}: {roles}")
        return None
