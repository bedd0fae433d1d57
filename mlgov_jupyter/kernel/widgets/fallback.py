"""A static HTML copy alongside every widget view.

A widget output is ``application/vnd.jupyter.widget-view+json`` (a reference to a live model in
the kernel). Where that model is gone or was never there (a notebook reopened after a restart,
nbconvert, GitHub, a front end without widgets), the output shows instead what else its bundle
carries: ``text/html`` written here, and a one-line ``text/plain`` rather than the widget's repr.
"""

from __future__ import annotations

import html

NOTE = ("<p style='color:var(--jp-ui-font-color2,#666);font-size:90%'>{}</p>")


def add_fallback(data, html_text: str, plain: str):
    """A widget's ``_repr_mimebundle_`` result with ``text/html`` and ``text/plain`` set."""
    meta = None
    if isinstance(data, tuple):
        data, meta = data
    data = dict(data or {})
    data["text/html"] = html_text
    data["text/plain"] = plain
    return (data, meta) if meta else data


class StaticFallback:
    """Mixin for an ipywidgets widget: ``_static_html()`` and ``_static_text()`` go in its bundle."""

    def _static_html(self) -> str:  # pragma: no cover - overridden
        return ""

    def _static_text(self) -> str:
        return type(self).__name__

    def _repr_mimebundle_(self, **kwargs):
        return add_fallback(super()._repr_mimebundle_(**kwargs), self._static_html(), self._static_text())


def escape(text) -> str:
    return html.escape(str(text), quote=True)
