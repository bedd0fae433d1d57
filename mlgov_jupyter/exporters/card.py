"""nbconvert exporters: the model card(s) displayed in a notebook, as HTML or PDF.

Registered as ``nbconvert.exporters`` entry points ``mlgov-card`` and ``mlgov-card-pdf``, so
``jupyter nbconvert --to mlgov-card nb.ipynb`` works and JupyterLab lists them under
"Export Notebook As". Cards are found by their output MIME type
``application/vnd.mlgov.card+json`` (see :mod:`mlgov_jupyter.core.cards.display`).
"""

from __future__ import annotations

from typing import Any

from nbconvert.exporters import Exporter
from traitlets import default

from mlgov_jupyter.core.cards.display import cards_in_notebook
from mlgov_jupyter.core.errors import Invalid


class _CardExporter(Exporter):
    def _cards(self, nb: Any) -> list[dict]:
        cards = cards_in_notebook(nb)
        if not cards:
            message = ("no model card in this notebook: display one first (%mlgov card show NAME), "
                       "save, and export again")
            _exit_cli(message)
            raise Invalid(message)
        return cards

    def _title(self, resources: dict, cards: list[dict]) -> str:
        names = ", ".join(str(c.get("name", "model card")) for c in cards)
        return f"Model card: {names}"


class CardHTMLExporter(_CardExporter):
    """The notebook's model card(s) as one standalone HTML page with inline SVG charts."""

    export_from_notebook = "Model Card (HTML)"
    output_mimetype = "text/html"

    @default("file_extension")
    def _file_extension_default(self) -> str:
        return ".html"

    def from_notebook_node(self, nb: Any, resources: dict | None = None, **kw: Any) -> tuple[str, dict]:
        from mlgov_jupyter.core.cards.render import render_html

        nb_copy, resources = super().from_notebook_node(nb, resources, **kw)
        cards = self._cards(nb_copy)
        return render_html(cards, title=self._title(resources, cards)), resources


class CardPDFExporter(_CardExporter):
    """The notebook's model card(s) as PDF, rendered by WeasyPrint (no browser, no LaTeX)."""

    export_from_notebook = "Model Card (PDF)"
    output_mimetype = "application/pdf"

    @default("file_extension")
    def _file_extension_default(self) -> str:
        return ".pdf"

    def from_notebook_node(self, nb: Any, resources: dict | None = None, **kw: Any) -> tuple[bytes, dict]:
        from mlgov_jupyter.core.cards.render import render_pdf

        nb_copy, resources = super().from_notebook_node(nb, resources, **kw)
        return render_pdf(self._cards(nb_copy)), resources


def _exit_cli(message: str) -> None:
    """From ``jupyter nbconvert`` on the command line: the message as one line and exit status 1,
    not a traceback. (Elsewhere, e.g. JupyterLab's "Export as", the caller shows the error.)"""
    from nbconvert.nbconvertapp import NbConvertApp

    if NbConvertApp.initialized():
        app = NbConvertApp.instance()
        app.log.critical(message)
        app.exit(1)
