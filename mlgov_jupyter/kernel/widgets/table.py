"""A small table that shows itself as HTML in a notebook and as aligned text elsewhere."""

from __future__ import annotations

import html
from typing import Any, Sequence


class Table(list):
    """Rows (dicts keyed by ``columns``) with a title; ``_repr_html_`` for notebooks, ``repr``
    for terminals and the ``text/plain`` fallback. ``empty``: what to say when there are no rows."""

    def __init__(self, columns: Sequence[str], rows: Sequence[dict], title: str = "", empty: str = "",
                 note: str = ""):
        super().__init__(rows)
        self.columns, self.title, self.empty, self.note = list(columns), title, empty, note

    def _cells(self, row: dict) -> list[str]:
        return ["" if row.get(c) is None else str(row.get(c)) for c in self.columns]

    def __repr__(self) -> str:
        if not self:
            return self.empty or "(nothing)"
        cells = [self.columns] + [self._cells(r) for r in self]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.columns))]
        lines = ([self.title] if self.title else [])
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if not self:
            return f"<p>{html.escape(self.empty or '(nothing)')}</p>"
        head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{html.escape(v)}</td>"
                                        for v in self._cells(r)) + "</tr>" for r in self)
        title = f"<p><b>{html.escape(self.title)}</b></p>" if self.title else ""
        note = f"<p>{html.escape(self.note)}</p>" if self.note else ""
        return f"<div class='mlgov-table'>{title}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}</div>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))
