"""``%mlgov <subcommand> ...``: one entry point routing to small subcommand modules."""

from __future__ import annotations

import importlib

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from ...core.errors import GovernanceError
from .registry import SUBCOMMANDS
from .base import Context


def subcommand(name: str):
    if name not in SUBCOMMANDS:
        raise UsageError(f"%mlgov: unknown subcommand {name!r}; try %mlgov help")
    module_name, class_name = SUBCOMMANDS[name].rsplit(":", 1)
    return getattr(importlib.import_module(module_name), class_name)()


@magics_class
class MlgovMagics(Magics):
    def __init__(self, shell):
        super().__init__(shell)
        self._client = None

    def client(self):
        if self._client is None:
            from ..client import connect

            self._client = connect()
            self.shell.user_ns["mlgov_client"] = self._client
        return self._client

    def _set_client(self, client) -> None:
        self._client = client

    @line_magic
    def mlgov(self, line: str):
        """ML governance: %mlgov help lists the subcommands."""
        name, _, rest = line.strip().partition(" ")
        command = subcommand(name or "help")
        args = command.parse(rest)
        try:
            return command.run(args, Context(shell=self.shell, client_factory=self.client,
                                             set_client=self._set_client))
        except GovernanceError as exc:
            raise UsageError(str(exc)) from None


def load(ipython) -> None:
    magics = MlgovMagics(ipython)
    ipython.register_magics(magics)
    magics.client()  # cheap: connects lazily; gives the notebook `mlgov_client`
