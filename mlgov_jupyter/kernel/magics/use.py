from .base import Subcommand


class Use(Subcommand):
    name = "use"
    help = "Load an asset you own or were granted: df = %mlgov use NAME [--revision N]"

    def add_arguments(self, parser):
        parser.add_argument("asset")
        parser.add_argument("--revision", type=int)

    def run(self, args, ctx):
        return ctx.client.use(args.asset, revision=args.revision)
