"""Search results: an ipywidgets table with "Request access" per row, and plain HTML/text
for places where widgets do not render (exported notebooks, terminals)."""

from __future__ import annotations

import functools
import html


class SearchResults(list):
    """A list of asset summaries (dicts) that displays itself as a table."""

    def __init__(self, page: dict, client):
        super().__init__(page["items"])
        self.total, self.facets, self.client = page["total"], page["facets"], client
        # past the service's bound: "1,000+" (total and facets are those of the newest 1,000 matches)
        self.total_is_lower_bound = bool(page.get("total_is_lower_bound"))

    @property
    def found(self) -> str:
        """``"12 asset(s)"``, or past the bound ``"1,000+ assets (the newest 1,000 counted)"``."""
        if self.total_is_lower_bound:
            return f"{self.total:,}+ assets (the newest {self.total:,} counted; add words or filters)"
        return f"{self.total} asset(s)"

    def __repr__(self):
        lines = [self.found]
        lines += [f"  {a['name']} [{a['kind']}] {a['project']} ({a['access']}): {a['description']}"
                  for a in self]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in ("name", "kind", "project", "owner",
                                                  "classification", "tags", "access", "description"))
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                a["name"], a["kind"], a["project"], a["owner"], a["classification"],
                ", ".join(a["tags"]), a["access"], a["description"])) + "</tr>" for a in self)
        return (f"<div class='mlgov-search'><p>{html.escape(self.found)}</p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>")

    def widget(self):
        import ipywidgets as w

        header = w.HTML(f"<b>{html.escape(self.found)}</b>")
        rows = [self._row(a, w) for a in self]
        table = _table_class()([header, *rows])
        table.results = self
        return table

    def _row(self, a: dict, w):
        text = w.HTML(f"<b>{html.escape(a['name'])}</b> [{html.escape(a['kind'])}] "
                      f"{html.escape(a['project'])} · {html.escape(a['classification'])} · "
                      f"<i>{html.escape(a['access'])}</i><br>{html.escape(a['description'])}",
                      layout=w.Layout(width="60%"))
        if a["access"] != "none":
            return w.HBox([text])
        reason = w.Text(placeholder="why you need it", layout=w.Layout(width="25%"))
        button = w.Button(description="Request access", button_style="primary")
        status = w.HTML()

        def request(_):
            if not reason.value.strip():
                status.value = ("<span style='color:var(--jp-error-color1)'>give a reason: "
                                "why you need it</span>")
                return
            try:
                r = self.client.subscribe(a["name"], reason=reason.value.strip())
                status.value = f"request #{r['id']} pending"
                button.disabled = True
            except Exception as exc:  # shown as one line in the row
                status.value = f"<span style='color:var(--jp-error-color1)'>{html.escape(str(exc))}</span>"

        button.on_click(request)
        return w.HBox([text, reason, button, status])

    def _ipython_display_(self):
        from IPython.display import display

        try:
            widget = self.widget()
        except ImportError:
            display({"text/html": self._repr_html_(), "text/plain": repr(self)}, raw=True)
            return
        display({"application/vnd.jupyter.widget-view+json": {
                    "model_id": widget.model_id, "version_major": 2, "version_minor": 0},
                 "text/html": self._repr_html_(), "text/plain": repr(self)}, raw=True)


@functools.lru_cache(maxsize=None)
def _table_class():
    """The widget (ipywidgets imported only when one is shown): a VBox whose output also carries
    the results as a static HTML table, for where the widget cannot show."""
    import ipywidgets as w

    from .fallback import StaticFallback

    class SearchTable(StaticFallback, w.VBox):
        results = None

        def _static_html(self) -> str:
            return self.results._repr_html_() if self.results is not None else ""

        def _static_text(self) -> str:
            return repr(self.results)

    return SearchTable
