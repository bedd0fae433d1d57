"""What every ``%mlgov`` subcommand is: a name, an argparse parser that raises UsageError, run().

A subcommand module defines one ``Subcommand`` subclass and is listed in
``mlgov_jupyter.kernel.magics.registry.SUBCOMMANDS``. ``run`` returns what the magic
returns (so ``df = %mlgov use NAME`` works) and may display things.
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print usage and sys.exit
        raise UsageError(f"%mlgov {self.prog.split()[-1]}: {message} (see %mlgov help)")

    def exit(self, status=0, message=None):
        if message:
            raise UsageError(message.strip())
        raise UsageError(self.format_help())


@dataclass
class Context:
    """What a subcommand may use: the IPython shell (for variables) and the mlgov client."""

    shell: Any
    client_factory: Any
    set_client: Any = None

    @property
    def client(self):
        return self.client_factory()

    def variable(self, name: str):
        """A variable of the user's namespace, or a UsageError naming it."""
        ns = self.shell.user_ns
        if name not in ns:
            raise UsageError(f"no variable named {name!r} in this notebook")
        return ns[name]


class Subcommand:
    name: str = ""
    help: str = ""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Declare arguments; default: none."""

    def run(self, args: argparse.Namespace, ctx: Context) -> Any:
        raise NotImplementedError

    def parser(self) -> argparse.ArgumentParser:
        parser = _Parser(prog=f"%mlgov {self.name}", description=self.help, add_help=False)
        self.add_arguments(parser)
        return parser

    def parse(self, line: str) -> argparse.Namespace:
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"%mlgov {self.name}: {exc}") from None
        return self.parser().parse_args(words)
