"""Light static HTML for reports: inline SVG bars, no script, a few kB per column."""

from __future__ import annotations

import math
from html import escape

REF_COLOR = "#8da0cb"
CUR_COLOR = "#fc8d62"
STYLE = (
    "<style>.mlgov-drift{font-family:var(--jp-ui-font-family,sans-serif);font-size:12px}"
    ".mlgov-drift table{border-collapse:collapse;margin:4px 0}"
    ".mlgov-drift th,.mlgov-drift td{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}"
    ".mlgov-drift .bad{color:#c0392b;font-weight:bold}.mlgov-drift .ok{color:#27ae60}"
    ".mlgov-drift .warn{color:#b45309;font-weight:bold}"
    ".mlgov-drift .sum{margin:4px 0;font-size:13px}</style>"
)


def fmt(v, digits=4) -> str:
    """A number for the panel: NaN and None (not computable) as a dash; +-inf as Clarify writes them,
    "Infinity" / "-Infinity", whether a float or that string read back from a stored report."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int,)) and not isinstance(v, bool):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.{digits - 1}e}"
        return f"{v:.{digits}g}"
    return escape(str(v))


def bars_svg(chart: dict, width: int = 120, height: int = 28, labels: bool = False) -> str:
    """Reference (blue) and current (orange) shares as side-by-side bars."""
    ref, cur = chart.get("reference") or [], chart.get("current") or []
    n = len(ref)
    if not n:
        return ""
    top = max(max(ref), max(cur), 1e-12)
    pad_b = 14 if labels else 0
    h = height - pad_b
    slot = width / n
    bw = max(slot / 2 - 0.5, 0.5)

    def path(vals, off):
        parts = []
        for i, v in enumerate(vals):
            bh = h * v / top
            if bh <= 0:
                continue
            parts.append(f"M{i * slot + off:.1f} {h:.1f}h{bw:.1f}v{-bh:.1f}h{-bw:.1f}z")
        return "".join(parts)

    out = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">',
           f'<path fill="{REF_COLOR}" d="{path(ref, 0)}"><title>reference</title></path>',
           f'<path fill="{CUR_COLOR}" d="{path(cur, bw)}"><title>current</title></path>']
    if labels:
        if chart.get("type") == "numeric":
            e = chart["edges"]
            out.append(f'<text x="0" y="{height - 2}" font-size="10">{fmt(e[0], 3)}</text>')
            out.append(f'<text x="{width}" y="{height - 2}" font-size="10" text-anchor="end">{fmt(e[-1], 3)}</text>')
        else:
            step = max(1, n // 10)
            for i in range(0, n, step):
                lab = escape(str(chart["labels"][i])[:8])
                out.append(f'<text x="{i * slot + slot / 2:.1f}" y="{height - 2}" font-size="9" '
                           f'text-anchor="middle">{lab}</text>')
    out.append("</svg>")
    return "".join(out)


def legend() -> str:
    return (f'<span style="color:{REF_COLOR}">&#9632;</span> reference '
            f'<span style="color:{CUR_COLOR}">&#9632;</span> current')


def summary_line(report) -> str:
    drifted = [c.column for c in report.columns if c.drifted]
    by_type: dict = {}
    for v in report.violations:
        by_type[v["constraint_check_type"]] = by_type.get(v["constraint_check_type"], 0) + 1
    viol = ", ".join(f"{k}: {v}" for k, v in sorted(by_type.items())) or "none"
    # "no dataset drift" is only good news when nothing else was found: with violations it is amber
    cls = "bad" if report.dataset_drift else "warn" if report.violations else "ok"
    return (f'<div class="sum"><b>Dataset drift: <span class="{cls}">{"yes" if report.dataset_drift else "no"}</span></b>'
            f' &middot; drifted columns: <b>{len(drifted)}</b> of {len(report.columns)} '
            f'({report.drift_share:.0%}, threshold {report.drift_share_threshold:.0%})'
            f' &middot; violations: {escape(viol)}'
            f' &middot; {report.n_current:,} current rows vs {report.n_reference:,} reference</div>')


def column_table(report, sort_key: str = "drifted", descending: bool = True, selected: str | None = None,
                 mini_charts: bool = True) -> str:
    rows = sorted_columns(report.columns, sort_key, descending)
    head = ("<tr><th>column</th><th>type</th><th>test</th><th>statistic</th><th>p-value</th>"
            "<th>threshold</th><th>drifted</th>" + ("<th>reference vs current</th>" if mini_charts else "") + "</tr>")
    body = []
    for c in rows:
        style = ' style="background:#fff3cd"' if c.column == selected else ""
        cls = "bad" if c.drifted else "ok"
        p = c.adjusted_p_value if c.adjusted_p_value is not None else c.p_value
        body.append(
            f"<tr{style}><td>{escape(c.column)}</td><td>{c.kind}</td><td>{c.method}</td><td>{fmt(c.statistic)}</td>"
            f"<td>{fmt(p)}</td><td>{fmt(c.threshold)}</td><td class=\"{cls}\">{'yes' if c.drifted else 'no'}</td>"
            + (f"<td>{bars_svg(c.chart)}</td>" if mini_charts else "") + "</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def sorted_columns(columns, sort_key: str = "drifted", descending: bool = True):
    def key(c):
        if sort_key == "drifted":
            return (c.drifted, c.statistic if c.p_value is None else 1 - c.p_value)
        if sort_key == "column":
            return c.column
        v = getattr(c, sort_key, None)
        if sort_key == "p_value":
            v = c.adjusted_p_value if c.adjusted_p_value is not None else c.p_value
        return (v is None or (isinstance(v, float) and math.isnan(v)), v if v is not None else 0)
    return sorted(columns, key=key, reverse=descending)


def violations_table(report) -> str:
    if not report.violations:
        return "<div>No violations.</div>"
    rows = "".join(
        f"<tr><td>{escape(v.get('monitor_type', ''))}</td><td>{escape(v['constraint_check_type'])}</td>"
        f"<td>{escape(str(v.get('feature_name', '')))}</td><td>{escape(v['description'])}</td></tr>"
        for v in report.violations)
    return f"<table><tr><th>monitor</th><th>check</th><th>feature</th><th>description</th></tr>{rows}</table>"


def not_computable(title: str, section: dict) -> str:
    return (f"<h4>{title}: not computable</h4>"
            f"<div>{escape(str(section.get('reason') or 'no reason given'))}</div>")


def quality_section(report) -> str:
    q = report.quality
    if not q:
        return ""
    if q.get("computable") is False:
        kind = f" ({escape(str(q['problem_type']))})" if q.get("problem_type") else ""
        return not_computable(f"Model quality{kind}", q)
    rows = []
    for k, m in q["metrics"].items():
        v = m["value"]
        if not isinstance(v, (int, float)) or isinstance(v, bool) or k in ("positive_label", "labels"):
            continue
        b = (q.get("baseline") or {}).get(k, {}).get("value")
        c = q["constraints"].get(k)
        cons = f"{c['comparison_operator']} {fmt(c['threshold'])}" if c else ""
        rows.append(f"<tr><td>{k}</td><td>{fmt(v)}</td><td>{fmt(m.get('standard_deviation'))}</td>"
                    f"<td>{fmt(b) if isinstance(b, (int, float)) else ''}</td><td>{cons}</td></tr>")
    return (f"<h4>Model quality ({escape(q['problem_type'])}, n={q['n']:,})</h4><table><tr><th>metric</th><th>current</th>"
            f"<th>std</th><th>baseline</th><th>constraint</th></tr>{''.join(rows)}</table>")


def bias_section(report) -> str:
    b = report.bias
    if not b:
        return ""
    if b.get("computable") is False:
        return not_computable(f"Bias (facet {escape(str(b['facet']))} = {escape(str(b['facet_values']))})", b)
    rows = []
    for k, cur in b["current"].items():
        base = b["baseline"].get(k)
        bad = any(v["monitor_type"] == "bias" and v.get("metric_name") == k for v in report.violations)
        rows.append(f"<tr><td>{k}</td><td>{fmt(base)}</td><td class=\"{'bad' if bad else ''}\">{fmt(cur)}</td></tr>")
    return (f"<h4>Bias (facet {escape(str(b['facet']))} = {escape(str(b['facet_values']))})</h4>"
            f"<table><tr><th>metric</th><th>baseline</th><th>current</th></tr>{''.join(rows)}</table>")


def attribution_section(report) -> str:
    a = report.attribution
    if not a:
        return ""
    if a.get("computable") is False:
        return not_computable("Feature attribution drift", a)
    cls = "bad" if a["ndcg"] < a["threshold"] else "ok"
    feats = sorted(a["baseline"], key=lambda f: -abs(a["baseline"][f]))[:15]
    rows = "".join(f"<tr><td>{escape(f)}</td><td>{fmt(a['baseline'][f])}</td><td>{fmt(a['current'].get(f))}</td></tr>"
                   for f in feats)
    return (f"<h4>Feature attribution drift: nDCG <span class=\"{cls}\">{a['ndcg']:.4f}</span> "
            f"(threshold {a['threshold']:g})</h4><table><tr><th>feature</th><th>baseline</th><th>current</th></tr>{rows}</table>")


def column_detail(col) -> str:
    if col is None:
        return ""
    p = col.adjusted_p_value if col.adjusted_p_value is not None else col.p_value
    return (f"<div><b>{escape(col.column)}</b> ({col.kind}) &middot; {col.method} statistic {fmt(col.statistic)}"
            + (f", p-value {fmt(p)}" if p is not None else "")
            + f", threshold {fmt(col.threshold)} &middot; drifted: <b>{'yes' if col.drifted else 'no'}</b>"
            f" &middot; missing {col.missing_reference:,} / {col.missing_current:,} &middot; {legend()}</div>"
            + bars_svg(col.chart, width=560, height=160, labels=True))


def report_html(report) -> str:
    parts = [STYLE, '<div class="mlgov-drift">', summary_line(report), column_table(report)]
    skipped = getattr(report, "not_evaluated", None)
    if skipped:
        parts.append(f"<div>Constraints not evaluated (evaluate_constraints: Disabled) for: "
                     f"{escape(', '.join(map(str, skipped)))}</div>")
    parts.append("<h4>Violations</h4>" + violations_table(report))
    parts += [quality_section(report), bias_section(report), attribution_section(report), "</div>"]
    return "".join(parts)
