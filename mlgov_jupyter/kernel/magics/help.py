from .base import Subcommand


class Help(Subcommand):
    name = "help"
    help = "List the subcommands, or show one's usage: %mlgov help [SUBCOMMAND]"

    def add_arguments(self, parser):
        parser.add_argument("subcommand", nargs="?")

    def run(self, args, ctx):
        from .entry import subcommand
        from .registry import SUBCOMMANDS

        if args.subcommand:
            print(subcommand(args.subcommand).parser().format_help())
            return None
        width = max(map(len, SUBCOMMANDS))
        lines = ["%mlgov SUBCOMMAND [options]   (%mlgov help SUBCOMMAND for its options)", ""]
        lines += [f"  {n.ljust(width)}  {subcommand(n).help}" for n in SUBCOMMANDS]
        print("\n".join(lines))
        return None
