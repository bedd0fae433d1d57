"""The inline drift panel: an ipywidgets view of a monitoring Report, with a static HTML fallback.

- a progress bar while a check runs on large data;
- a summary line: dataset drift yes/no, drifted columns, violations by type;
- a sortable per-column table (click a header to sort, again to reverse; click a row to select);
- for the selected column, reference vs current distributions as an SVG bar chart;
- violations, model quality, bias and attribution sections when the report has them.

Its display bundle carries ``text/html`` (the light static report: inline SVG, no script), so
exported notebooks and front ends without widgets still show the result.
"""

from __future__ import annotations

from html import escape

import ipywidgets as widgets

from ...core.monitoring import html as H

SORT_KEYS = [("drifted", "drifted"), ("column", "column"), ("test", "method"), ("statistic", "statistic"),
             ("p-value", "p_value")]
ROW_FMT = "{mark} {col:<28.28} {kind:<11.11} {test:<13.13} {stat:>10} {p:>10} {thr:>7}"


def _row(c) -> str:
    p = c.adjusted_p_value if c.adjusted_p_value is not None else c.p_value
    return ROW_FMT.format(mark="●" if c.drifted else "○", col=c.column, kind=c.kind, test=c.method,
                          stat=H.fmt(c.statistic), p=H.fmt(p), thr=H.fmt(c.threshold))


class DriftPanel(widgets.VBox):
    """``DriftPanel(report)``; or ``DriftPanel()`` then ``progress(...)`` and ``set_report(report)``."""

    def __init__(self, report=None, title: str | None = None, **kwargs):
        self._report = None
        self._sort = "drifted"
        self._desc = True
        self.title = widgets.HTML(f"<b>{escape(title)}</b>" if title else "")
        self.bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="checking",
                                         layout=widgets.Layout(width="60%"))
        self.bar_label = widgets.Label("")
        self.progress_box = widgets.HBox([self.bar, self.bar_label])
        self.summary = widgets.HTML("")
        self.header = widgets.HBox([])
        self.table = widgets.Select(options=[], rows=12, layout=widgets.Layout(width="100%"))
        self.table.add_class("mlgov-drift-table")
        self.table.observe(self._on_select, names="value")
        self.detail = widgets.HTML("")
        self.sections = widgets.HTML("")
        self.style = widgets.HTML("<style>.mlgov-drift-table select{font-family:monospace;font-size:12px}</style>")
        super().__init__([self.title, self.progress_box, self.style, self.summary, self.header, self.table,
                          self.detail, self.sections], **kwargs)
        self._build_header()
        if report is not None:
            self.set_report(report)
        else:
            self.progress_box.layout.display = None

    # ---------------------------------------------------------------- state
    @property
    def report(self):
        return self._report

    def progress(self, fraction: float, column: str = "") -> None:
        """Progress callback for ``check(..., progress=panel.progress)``."""
        if fraction == fraction:  # not NaN (unknown total when streaming an iterator)
            self.bar.value = max(0.0, min(1.0, float(fraction)))
        self.bar_label.value = f"{column}" if column else ""

    def set_report(self, report) -> None:
        self._report = report
        self.progress_box.layout.display = "none"
        self.summary.value = H.STYLE + f'<div class="mlgov-drift">{H.summary_line(report)}</div>'
        self._fill_table()
        parts = ["<h4>Violations</h4>" + H.violations_table(report), H.quality_section(report),
                 H.bias_section(report), H.attribution_section(report)]
        self.sections.value = f'<div class="mlgov-drift">{"".join(parts)}</div>'

    # ---------------------------------------------------------------- table
    def _build_header(self):
        buttons = []
        for label, key in SORT_KEYS:
            b = widgets.Button(description=label, layout=widgets.Layout(width="auto"),
                               tooltip=f"sort by {label} (click again to reverse)")
            b.on_click(lambda _b, key=key: self.sort_by(key))
            buttons.append(b)
        self.header.children = [widgets.Label("sort:")] + buttons

    def sort_by(self, key: str, descending: bool | None = None) -> None:
        if descending is None:
            descending = (not self._desc) if key == self._sort else key not in ("column", "p_value", "method")
        self._sort, self._desc = key, descending
        self._fill_table()

    def _fill_table(self):
        if self._report is None:
            return
        selected = self.table.value
        rows = H.sorted_columns(self._report.columns, self._sort, self._desc)
        head = ROW_FMT.format(mark=" ", col="column", kind="type", test="test", stat="statistic", p="p-value",
                              thr="thresh")
        self.table.unobserve(self._on_select, names="value")
        self.table.options = [(head, None)] + [(_row(c), c.column) for c in rows]
        self.table.rows = min(max(len(rows) + 1, 3), 14)
        self.table.observe(self._on_select, names="value")
        names = [c.column for c in rows]
        if selected in names:
            self.table.value = selected
        elif names:
            self.table.value = names[0]
        self._show_detail()

    def select(self, column: str) -> None:
        self.table.value = column

    def _on_select(self, change):
        self._show_detail()

    def _show_detail(self):
        name = self.table.value
        if self._report is None or name is None:
            self.detail.value = ""
            return
        col = next((c for c in self._report.columns if c.column == name), None)
        self.detail.value = f'<div class="mlgov-drift">{H.column_detail(col)}</div>'

    # ---------------------------------------------------------------- display
    def _repr_mimebundle_(self, **kwargs):
        from .fallback import add_fallback

        data = super()._repr_mimebundle_(**kwargs)
        if self._report is None:
            return add_fallback(data, "<p>Drift check: no report yet.</p>", "Drift check: no report yet")
        return add_fallback(data, self._report._repr_html_(), _report_text(self._report))


def _report_text(report) -> str:
    try:
        return repr(report).splitlines()[0][:200]
    except Exception:  # noqa: BLE001 - a one-line label is all that is needed
        return "Drift report"


def report_mimebundle(report, include=None, exclude=None):
    """IPython mimebundle formatter for Report: the widget panel plus the static HTML."""
    return DriftPanel(report)._repr_mimebundle_(include=include, exclude=exclude)


def register_formatter(shell) -> None:
    """Show every Report in this shell as the drift panel (idempotent)."""
    from ...core.monitoring.report import Report

    if shell is None:
        return
    fmt = shell.display_formatter.mimebundle_formatter
    fmt.for_type(Report, report_mimebundle)


def run_check_with_panel(baseline, current, display_progress: bool = True, title: str | None = None, **kwargs):
    """check() showing a progress bar meanwhile (removed when done); returns (report, panel)."""
    from ...core.monitoring.check import check

    bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="checking",
                                layout=widgets.Layout(width="60%"))
    label = widgets.Label("")
    box = widgets.HBox([bar, label])

    def progress(fraction, column=""):
        if fraction == fraction:
            bar.value = max(0.0, min(1.0, float(fraction)))
        label.value = column or ""

    handle = None
    if display_progress:
        from IPython.display import display

        handle = display(box, display_id=True)
    try:
        report = check(baseline, current, progress=progress, **kwargs)
    finally:
        if handle is not None:
            # an empty plain output, not a widget: nothing left to say "model not found" later
            handle.update({"text/plain": ""}, raw=True)
        box.close()
        bar.close()
        label.close()
    panel = DriftPanel(report, title=title)
    return report, panel
