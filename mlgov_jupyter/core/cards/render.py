"""Render cards as standalone HTML (inline SVG charts) and PDF (WeasyPrint).

A *card* here is a dict: ``name``, ``status``, ``version``, ``content`` (SageMaker content) and
optionally ``model`` (str or dict with ``name``), ``lineage`` (``{"training": [...],
"evaluation": [...]}``), ``created_by``, ``created_at``, ``updated_at``, ``approved_by``,
``approved_at``, ``review_comment``. Every piece of user text is HTML-escaped; nothing from
the card is ever emitted as markup, script, style or URL.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any, Iterable, Mapping, Sequence

__all__ = ["render_html", "render_fragment", "render_pdf", "render_size", "svg_chart", "CARD_CSS"]


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}"
    return str(value)


def _clip(text: Any, n: int) -> str:
    s = str(text)
    return s if len(s) <= n else s[: n - 1] + "…"


# ------------------------------------------------------------------------------------ charts

_FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 1e-9:
        if t >= lo - step * 1e-9:
            ticks.append(round(t, 12))
        t += step
    return ticks


def _range(values: Sequence[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if 0.0 <= lo and hi <= 1.0:
        return 0.0, 1.0
    if lo == hi:
        return lo - 1.0, hi + 1.0
    pad = (hi - lo) * 0.05
    return lo - pad, hi + pad


def line_chart_svg(points: Sequence[Sequence[float]], x_name: str = "", y_name: str = "", title: str = "") -> str:
    W, H, L, R, T, B = 336, 250, 52, 14, 12, 44
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    x0, x1 = _range(xs)
    y0, y1 = _range(ys)

    def sx(v: float) -> float:
        return L + (v - x0) / (x1 - x0) * (W - L - R)

    def sy(v: float) -> float:
        return H - B - (v - y0) / (y1 - y0) * (H - T - B)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="mlgov-chart" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{esc(title)}">']
    out.append(f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="#ffffff" stroke="#9ca3af"/>')
    for t in _nice_ticks(x0, x1):
        x = sx(t)
        out.append(f'<line x1="{x:.1f}" y1="{T}" x2="{x:.1f}" y2="{H - B}" stroke="#e5e7eb"/>')
        out.append(f'<text x="{x:.1f}" y="{H - B + 14}" font-size="10" text-anchor="middle" fill="#374151" {_FONT}>{esc(fmt(t))}</text>')
    for t in _nice_ticks(y0, y1):
        y = sy(t)
        out.append(f'<line x1="{L}" y1="{y:.1f}" x2="{W - R}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        out.append(f'<text x="{L - 6}" y="{y + 3:.1f}" font-size="10" text-anchor="end" fill="#374151" {_FONT}>{esc(fmt(t))}</text>')
    path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys))
    out.append(f'<polyline points="{path}" fill="none" stroke="#2563eb" stroke-width="2"/>')
    for x, y in zip(xs, ys):
        out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="#2563eb"/>')
    out.append(f'<text x="{(L + W - R) / 2:.1f}" y="{H - 8}" font-size="11" text-anchor="middle" fill="#111827" {_FONT}>{esc(_clip(x_name, 63))}</text>')
    out.append(f'<text x="14" y="{(T + H - B) / 2:.1f}" font-size="11" text-anchor="middle" fill="#111827" transform="rotate(-90 14 {(T + H - B) / 2:.1f})" {_FONT}>{esc(_clip(y_name, 63))}</text>')
    out.append("</svg>")
    return "".join(out)


def _blue(t: float) -> str:
    t = min(max(t, 0.0), 1.0)
    lo, hi = (239, 246, 255), (30, 64, 175)
    return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(lo, hi))


def heatmap_svg(matrix: Sequence[Sequence[float]], x_labels: Sequence[str] = (), y_labels: Sequence[str] = (),
                title: str = "", x_title: str = "", y_title: str = "") -> str:
    rows, cols = len(matrix), max(len(r) for r in matrix)
    cell = max(18, min(64, 360 // max(rows, cols)))
    L, T, R, B = 110, 10, 12, 44
    W, H = L + cols * cell + R, T + rows * cell + B
    flat = [float(v) for r in matrix for v in r]
    vmin, vmax = min(min(flat), 0.0), max(flat)
    span = (vmax - vmin) or 1.0
    font = 11 if cell >= 30 else 8
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="mlgov-chart" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{esc(title)}">']
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            t = (float(v) - vmin) / span
            x, y = L + j * cell, T + i * cell
            out.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{_blue(t)}" stroke="#ffffff"/>')
            color = "#ffffff" if t > 0.55 else "#111827"
            out.append(f'<text x="{x + cell / 2:.1f}" y="{y + cell / 2 + font / 3:.1f}" font-size="{font}" text-anchor="middle" fill="{color}" {_FONT}>{esc(fmt(float(v)))}</text>')
    for j in range(cols):
        label = x_labels[j] if j < len(x_labels) else str(j)
        out.append(f'<text x="{L + j * cell + cell / 2:.1f}" y="{T + rows * cell + 14}" font-size="10" text-anchor="middle" fill="#374151" {_FONT}>{esc(_clip(label, max(3, cell // 6)))}</text>')
    for i in range(rows):
        label = y_labels[i] if i < len(y_labels) else str(i)
        out.append(f'<text x="{L - 6}" y="{T + i * cell + cell / 2 + 3:.1f}" font-size="10" text-anchor="end" fill="#374151" {_FONT}>{esc(_clip(label, 14))}</text>')
    if x_title:
        out.append(f'<text x="{L + cols * cell / 2:.1f}" y="{H - 8}" font-size="11" text-anchor="middle" fill="#111827" {_FONT}>{esc(x_title)}</text>')
    if y_title:
        cy = T + rows * cell / 2
        out.append(f'<text x="14" y="{cy:.1f}" font-size="11" text-anchor="middle" fill="#111827" transform="rotate(-90 14 {cy:.1f})" {_FONT}>{esc(y_title)}</text>')
    out.append("</svg>")
    return "".join(out)


def bar_chart_svg(values: Sequence[float], labels: Sequence[str] = (), y_name: str = "", title: str = "") -> str:
    n = len(values)
    L, R, T, B, row = 160, 56, 8, 26, 18
    W, H = 460, T + n * row + B
    vals = [float(v) for v in values]
    lo, hi = min(0.0, min(vals)), max(0.0, max(vals))
    if hi == lo:
        hi = lo + 1.0

    def sx(v: float) -> float:
        return L + (v - lo) / (hi - lo) * (W - L - R)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="mlgov-chart" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{esc(title)}">']
    zero = sx(0.0)
    for i, v in enumerate(vals):
        y = T + i * row
        x_a, x_b = sorted((zero, sx(v)))
        label = labels[i] if i < len(labels) else str(i)
        out.append(f'<text x="{L - 6}" y="{y + row / 2 + 3:.1f}" font-size="10" text-anchor="end" fill="#374151" {_FONT}>{esc(_clip(label, 26))}</text>')
        out.append(f'<rect x="{x_a:.1f}" y="{y + 3}" width="{max(x_b - x_a, 0.5):.1f}" height="{row - 6}" fill="#0d9488"/>')
        out.append(f'<text x="{x_b + 4:.1f}" y="{y + row / 2 + 3:.1f}" font-size="9" fill="#111827" {_FONT}>{esc(fmt(v))}</text>')
    out.append(f'<line x1="{zero:.1f}" y1="{T}" x2="{zero:.1f}" y2="{T + n * row}" stroke="#6b7280"/>')
    out.append(f'<text x="{(L + W - R) / 2:.1f}" y="{H - 8}" font-size="11" text-anchor="middle" fill="#111827" {_FONT}>{esc(_clip(y_name, 63))}</text>')
    out.append("</svg>")
    return "".join(out)


def svg_chart(metric: Mapping) -> str | None:
    """Inline SVG for a chart metric (matrix, linear_graph, bar_chart); None for scalar metrics."""
    t, v = metric.get("type"), metric.get("value")
    name = metric.get("name", "")
    if t == "matrix" and v:
        confusion = "confusion" in str(name).lower()
        return heatmap_svg(v, metric.get("x_axis_name") or [], metric.get("y_axis_name") or [], name,
                           "predicted" if confusion else "", "actual" if confusion else "")
    if t == "linear_graph" and v:
        return line_chart_svg(v, metric.get("x_axis_name") or "", metric.get("y_axis_name") or "", name)
    if t == "bar_chart" and v:
        return bar_chart_svg(v, metric.get("x_axis_name") or [], metric.get("y_axis_name") or "", name)
    return None


# ------------------------------------------------------------------------------------ page

# Under ~420 px (the JupyterLab sidebar's widths): a label above its value instead of a column of
# labels squeezing the values to a character a line; table rows stacked, each cell under its column
# name (data-label); charts scaled to the width. Printed pages are wider: the PDF does not change.
_NARROW_CSS = """
@media (max-width: 420px) {
  body { padding: 8px; }
  .mlgov-card h1 { font-size: 19px; }
  .mlgov-card h2 { font-size: 15px; margin-top: 16px; }
  .mlgov-card table { width: 100%; }
  .mlgov-card table.kv, .mlgov-card table.kv tbody, .mlgov-card table.kv tr,
  .mlgov-card table.kv th, .mlgov-card table.kv td { display: block; width: auto; }
  .mlgov-card table.kv tr { border: 1px solid #e5e7eb; border-bottom: none; }
  .mlgov-card table.kv tr:last-child { border-bottom: 1px solid #e5e7eb; }
  .mlgov-card table.kv th, .mlgov-card table.kv td { border: none; }
  .mlgov-card table.kv th { padding: 3px 8px 0; background: none; color: #4b5563; font-size: 11px; }
  .mlgov-card table.kv td { padding: 0 8px 4px; }
  .mlgov-card table.rows thead { display: none; }
  .mlgov-card table.rows, .mlgov-card table.rows tbody, .mlgov-card table.rows tr,
  .mlgov-card table.rows td { display: block; width: auto; }
  .mlgov-card table.rows tr { border: 1px solid #e5e7eb; margin-bottom: 4px; }
  .mlgov-card table.rows td, .mlgov-card table.rows td:first-child:not(:last-child) { border: none;
    padding: 1px 8px; overflow-wrap: anywhere; }
  .mlgov-card table.rows td::before { content: attr(data-label); display: block; color: #4b5563;
    font-size: 11px; font-weight: 600; }
  .mlgov-card table.rows td:empty { display: none; }
  .mlgov-card table.charts, .mlgov-card table.charts tbody, .mlgov-card table.charts tr,
  .mlgov-card table.charts td { display: block; padding: 0; }
  .mlgov-card svg.mlgov-chart { max-width: 100%; height: auto; }
  .mlgov-card figcaption { max-width: 100%; }
}
"""

CARD_CSS = """
.mlgov-card { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #111827; font-size: 13px;
  line-height: 1.45; max-width: 980px; margin: 0 auto; }
.mlgov-card h1 { font-size: 24px; margin: 0 0 4px 0; }
.mlgov-card h2 { font-size: 17px; border-bottom: 2px solid #e5e7eb; padding-bottom: 3px; margin: 22px 0 8px; }
.mlgov-card h3 { font-size: 14px; margin: 14px 0 6px; }
.mlgov-card h4 { font-size: 13px; margin: 12px 0 4px; color: #374151; }
.mlgov-card .badges span { display: inline-block; border-radius: 10px; padding: 1px 9px; margin-right: 6px;
  font-size: 11px; background: #e5e7eb; }
.mlgov-card .badge-Approved { background: #dcfce7 !important; }
.mlgov-card .badge-PendingReview { background: #fef9c3 !important; }
.mlgov-card .badge-Archived { background: #e5e7eb !important; color: #4b5563; }
.mlgov-card .risk-High { background: #fee2e2 !important; }
.mlgov-card .risk-Medium { background: #ffedd5 !important; }
.mlgov-card .risk-Low { background: #dcfce7 !important; }
.mlgov-card table { border-collapse: collapse; margin: 4px 0 10px; }
.mlgov-card th, .mlgov-card td { border: 1px solid #e5e7eb; padding: 3px 8px; text-align: left; vertical-align: top; }
.mlgov-card th { background: #f9fafb; font-weight: 600; }
.mlgov-card table.kv th { width: 210px; }
.mlgov-card td:last-child { overflow-wrap: anywhere; }
.mlgov-card table.wrap { table-layout: fixed; width: 100%; }
.mlgov-card table.wrap td { overflow-wrap: anywhere; }
.mlgov-card td { white-space: pre-wrap; word-break: break-word; overflow-wrap: break-word; }
.mlgov-card .text { white-space: pre-wrap; word-break: break-word; overflow-wrap: break-word; margin: 0 0 8px; }
.mlgov-card table.charts, .mlgov-card table.charts td { border: none; padding: 0 14px 0 0; }
.mlgov-card figure { margin: 4px 0 10px; break-inside: avoid; page-break-inside: avoid; }
.mlgov-card figcaption { font-size: 11px; color: #4b5563; max-width: 460px; }
.mlgov-card .muted { color: #6b7280; font-size: 11px; }
.mlgov-card section { break-inside: auto; }
.mlgov-card + .mlgov-card { break-before: page; page-break-before: always; }
.mlgov-card h1 { overflow-wrap: break-word; }
.mlgov-card table.rows td:first-child:not(:last-child) { word-break: normal; overflow-wrap: normal; }
""" + _NARROW_CSS

_MASTHEAD_CSS = """
.mlgov-masthead { display: flex; align-items: center; gap: 10px; margin: 0 0 10px; padding-bottom: 6px;
  border-bottom: 2px solid #1f2937; font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; }
.mlgov-masthead .logo { max-height: 36px; max-width: 160px; }
.mlgov-masthead .org { font-size: 16px; font-weight: bold; color: #1f2937; }
.mlgov-card + .mlgov-masthead { break-before: page; page-break-before: always; }
"""

_PAGE_CSS = """
@page { size: A4; margin: 14mm 12mm 16mm;
  @bottom-center { content: "mlgov-jupyter model card  ·  page " counter(page) " of " counter(pages);
                   font-size: 9px; color: #6b7280; font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; } }
body { margin: 0; padding: 16px; background: #ffffff; }
@media print {
  body { padding: 0; }
  .mlgov-card figcaption { max-width: 330px; }
  .mlgov-card tr, .mlgov-card h2, .mlgov-card h3, .mlgov-card h4 { break-inside: avoid; page-break-inside: avoid; }
  .mlgov-card h2, .mlgov-card h3, .mlgov-card h4 { break-after: avoid; page-break-after: avoid; }
}
"""


def _kv(rows: Iterable[tuple[str, Any]]) -> str:
    cells = [f"<tr><th>{esc(k)}</th><td>{esc(fmt(v))}</td></tr>" for k, v in rows if v not in (None, "", [], {})]
    return f'<table class="kv">{"".join(cells)}</table>' if cells else ""


def _text_block(title: str, value: Any) -> str:
    if value in (None, ""):
        return ""
    return f'<h3>{esc(title)}</h3><div class="text">{esc(value)}</div>'


def _list(values: Iterable[Any]) -> str:
    items = "".join(f"<li>{esc(v)}</li>" for v in values)
    return f"<ul>{items}</ul>" if items else ""


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    labels = [esc(h) for h in header]
    body = "".join("<tr>" + "".join(f'<td data-label="{labels[i] if i < len(labels) else ""}">{esc(fmt(c))}</td>'
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    attr = f' class="{" ".join(["rows", cls]).strip()}"'
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>" if body else ""


_ROW_WIDTH = 680  # px that fit across an A4 page between the margins


def _chart_rows(charts: list[tuple[int, str]]) -> str:
    """A layout table of charts, as many a row as fit the printed page width: lays out the same
    in browsers and WeasyPrint."""
    rows: list[list[str]] = []
    used = _ROW_WIDTH + 1
    for width, figure in charts:
        if used + width + 14 > _ROW_WIDTH:
            rows.append([])
            used = 0
        rows[-1].append(figure)
        used += width + 14
    body = "".join("<tr>" + "".join(f"<td>{f}</td>" for f in row) + "</tr>" for row in rows)
    return f'<table class="charts">{body}</table>'


def _model_label(model: Any) -> Any:
    if isinstance(model, Mapping):
        return model.get("name") or model.get("id")
    return model


def revision_label(rev: Any) -> Any:
    """The model revision a card version describes, one line: ``3 · Approved · champion ·
    sha256:1a2b3c4d5e6f`` and ``(latest is 4)`` when a newer revision exists; None when unknown."""
    if not isinstance(rev, Mapping) or rev.get("revision") is None:
        return None
    parts = [f"{rev['revision']}", str(rev.get("approval_status") or "")]
    parts += [f"@{a}" for a in rev.get("aliases") or []]
    if rev.get("content_hash"):
        parts.append(str(rev["content_hash"])[:19])
    label = " · ".join(p for p in parts if p)
    if rev.get("latest_revision") and not rev.get("is_latest"):
        label += f" (latest is {rev['latest_revision']})"
    return label


def _lineage(lineage: Any) -> list[tuple[str, str]]:
    out = []
    if isinstance(lineage, Mapping):
        for role, names in lineage.items():
            for n in ([names] if isinstance(names, str) else names or []):
                out.append((str(role), str(_model_label(n))))
    elif isinstance(lineage, (list, tuple)):
        for item in lineage:
            if isinstance(item, Mapping):
                out.append((str(item.get("role", "")), str(item.get("dataset") or item.get("name") or "")))
            else:
                out.append(("", str(item)))
    return out


_PACKAGE_FIELDS = (
    ("Model package", "model_package_arn"), ("Name", "model_package_name"), ("Group", "model_package_group_name"),
    ("Version", "model_package_version"), ("Description", "model_package_description"),
    ("Status", "model_package_status"), ("Approval", "model_approval_status"),
    ("Approval description", "approval_description"), ("Domain", "domain"), ("Task", "task"),
)


def _model_package(pkg: Any) -> str:
    """The model package version the card documents (``model_package_details``, as the SageMaker SDK
    writes it for model-package cards): its fields, inference containers and source algorithms."""
    if not isinstance(pkg, Mapping) or not pkg:
        return ""
    rows = [(label, pkg.get(key)) for label, key in _PACKAGE_FIELDS]
    rows.append(("Created by", (pkg.get("created_by") or {}).get("user_profile_name")))
    out = ["<section><h2>Model package</h2>", _kv(rows)]
    containers = (pkg.get("inference_specification") or {}).get("containers") or []
    if containers:
        out.append("<h3>Inference containers</h3>" + _table(
            ["image", "model data", "nearest model"],
            [(c.get("image", ""), c.get("model_data_url", ""), c.get("nearest_model_name", "")) for c in containers],
            "wrap"))
    algorithms = pkg.get("source_algorithms") or []
    if algorithms:
        out.append("<h3>Source algorithms</h3>" + _table(
            ["algorithm", "model data"], [(a.get("algorithm_name", ""), a.get("model_data_url", "")) for a in algorithms],
            "wrap"))
    out.append("</section>")
    return "".join(out)


def when(value: Any) -> Any:
    """An ISO time to the second, ``2026-05-01 12:34:56 UTC`` (None and other values unchanged)."""
    import datetime as _dt

    if isinstance(value, _dt.datetime):
        value = value.isoformat()
    if not isinstance(value, str):
        return value
    try:
        t = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if t.tzinfo is not None:
        t = t.astimezone(_dt.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if t.tzinfo is not None else "")


def _approvals(card: Mapping) -> str:
    """Who reviewed which version when, from the card's history (``versions``), newest first."""
    versions = [v for v in card.get("versions") or [] if isinstance(v, Mapping) and v.get("reviewed_by")]
    if not versions and card.get("approved_by"):
        versions = [{"version": card.get("version"), "status": "Approved", "reviewed_by": card["approved_by"],
                     "reviewed_at": card.get("approved_at")}]
    if not versions:
        return ('<section class="approvals"><h2>Approvals</h2>'
                '<p class="text">No version of this card has been approved yet.</p></section>')
    label = {"Approved": "approved", "Draft": "sent back", "Archived": "reviewed (now archived)",
             "PendingReview": "pending review"}
    rows = []
    for v in sorted(versions, key=lambda v: v.get("version") or 0, reverse=True):
        mark = " (this version)" if v.get("version") == card.get("version") else ""
        rows.append((f"v{v.get('version')}{mark}", label.get(v.get("status"), v.get("status")),
                     v.get("reviewed_by"), when(v.get("reviewed_at")) or ""))
    return ('<section class="approvals"><h2>Approvals</h2>'
            + _table(["version", "decision", "by", "when"], rows) + "</section>")


_LOGO_TYPES = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif"}
LOGO_MAX_BYTES = 512 * 1024


def _logo_uri(logo: Any) -> str | None:
    """A logo file (PNG, JPEG, GIF or SVG, at most 512 kB) as a data: URI; None if absent."""
    import base64
    import os

    if not logo:
        return None
    path = os.path.expanduser(str(logo))
    if os.path.getsize(path) > LOGO_MAX_BYTES:
        raise ValueError(f"card logo {path} is larger than {LOGO_MAX_BYTES // 1024} kB")
    with open(path, "rb") as f:
        data = f.read()
    kind = next((t for magic, t in _LOGO_TYPES.items() if data.startswith(magic)), None)
    if kind is None and b"<svg" in data[:2048]:
        kind = "image/svg+xml"
    if kind is None:
        raise ValueError(f"card logo {path}: not a PNG, JPEG, GIF or SVG image")
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def branding(organisation: str | None = None, logo: str | None = None) -> dict:
    """The organisation name and logo path a render uses: those given, else the environment's
    ``MLGOV_CARD_ORGANISATION`` / ``MLGOV_CARD_LOGO`` (set by the server from
    ``c.MlgovApp.card_organisation`` / ``card_logo``)."""
    import os

    return {"organisation": organisation if organisation is not None else os.environ.get("MLGOV_CARD_ORGANISATION", ""),
            "logo": logo if logo is not None else os.environ.get("MLGOV_CARD_LOGO", "")}


def _masthead(brand: Mapping) -> str:
    org, uri = brand.get("organisation") or "", _logo_uri(brand.get("logo"))
    if not org and not uri:
        return ""
    img = f'<img src="{uri}" alt="" class="logo">' if uri else ""
    return f'<div class="mlgov-masthead">{img}<span class="org">{esc(org)}</span></div>'


def _card_body(card: Mapping) -> str:
    content = card.get("content") or {}
    ov = content.get("model_overview", {})
    uses = content.get("intended_uses", {})
    biz = content.get("business_details", {})
    train = content.get("training_details", {})
    job = train.get("training_job_details", {})
    info = content.get("additional_information", {})
    name = card.get("name") or ov.get("model_name") or "model card"
    status = card.get("status")
    risk = uses.get("risk_rating")

    parts = ['<article class="mlgov-card">', f"<header><h1>{esc(name)}</h1><div class=\"badges\">"]
    if status:
        parts.append(f'<span class="badge-{esc(status) if status in ("Draft", "PendingReview", "Approved", "Archived") else "x"}">{esc(status)}</span>')
    if card.get("version") is not None:
        parts.append(f"<span>version {esc(card['version'])}</span>")
    if risk:
        parts.append(f'<span class="risk-{esc(risk) if risk in ("High", "Medium", "Low") else "x"}">risk: {esc(risk)}</span>')
    parts.append("</div></header>")
    if ov.get("model_description"):
        parts.append(f'<div class="text">{esc(ov["model_description"])}</div>')

    parts.append("<section><h2>Model overview</h2>")
    parts.append(_kv([
        ("Model", _model_label(card.get("model"))),
        ("Model revision", revision_label(card.get("model_revision"))),
        ("Model name", ov.get("model_name")), ("Model id", ov.get("model_id")),
        ("Model version", ov.get("model_version")), ("Problem type", ov.get("problem_type")),
        ("Algorithm", ov.get("algorithm_type")), ("Owner", ov.get("model_owner")),
        ("Creator", ov.get("model_creator")),
        ("Artifacts", ", ".join(ov.get("model_artifact", []))),
        ("Inference images", ", ".join(ov.get("inference_environment", {}).get("container_image", []))),
        ("Created by", card.get("created_by")), ("Created", when(card.get("created_at"))),
        ("Updated", when(card.get("updated_at"))), ("Approved by", card.get("approved_by")),
        ("Approved", when(card.get("approved_at"))), ("Review comment", card.get("review_comment")),
    ]))
    parts.append("</section>")
    parts.append(_approvals(card))

    parts.append(_model_package(content.get("model_package_details")))

    lineage = _lineage(card.get("lineage"))
    if lineage:
        parts.append("<section><h2>Lineage</h2>" + _table(["role", "dataset"], lineage) + "</section>")

    parts.append("<section><h2>Intended uses</h2>")
    parts.append(_kv([("Risk rating", risk or "Unknown")]))
    parts.append(_text_block("Explanation of the risk rating", uses.get("explanations_for_risk_rating")))
    parts.append(_text_block("Purpose of the model", uses.get("purpose_of_model")))
    parts.append(_text_block("Intended uses", uses.get("intended_uses")))
    parts.append(_text_block("Factors affecting model efficiency", uses.get("factors_affecting_model_efficiency")))
    parts.append("</section>")

    if biz:
        parts.append("<section><h2>Business details</h2>")
        parts.append(_text_block("Business problem", biz.get("business_problem")))
        parts.append(_text_block("Business stakeholders", biz.get("business_stakeholders")))
        parts.append(_text_block("Line of business", biz.get("line_of_business")))
        parts.append("</section>")

    if train:
        parts.append("<section><h2>Training details</h2>")
        obj = train.get("objective_function", {})
        fn = obj.get("function", {})
        objective = " ".join(str(fn[k]) for k in ("function", "facet", "condition") if fn.get(k))
        parts.append(_kv([
            ("Objective function", objective), ("Objective notes", obj.get("notes")),
            ("Training job", job.get("training_arn")),
            ("Training images", ", ".join(job.get("training_environment", {}).get("container_image", []))),
        ]))
        if job.get("training_datasets"):
            parts.append("<h3>Training datasets</h3>" + _list(job["training_datasets"]))
        parts.append(_text_block("Training observations", train.get("training_observations")))
        for key, title in (("training_metrics", "Training metrics"), ("user_provided_training_metrics", "User-provided training metrics")):
            if job.get(key):
                parts.append(f"<h3>{esc(title)}</h3>" + _table(["metric", "value", "notes"], [(m["name"], m["value"], m.get("notes", "")) for m in job[key]]))
        for key, title in (("hyper_parameters", "Hyperparameters"), ("user_provided_hyper_parameters", "User-provided hyperparameters")):
            if job.get(key):
                parts.append(f"<h3>{esc(title)}</h3>" + _table(["name", "value"], [(h["name"], h["value"]) for h in job[key]]))
        parts.append("</section>")

    evals = content.get("evaluation_details", [])
    if evals:
        parts.append("<section><h2>Evaluation</h2>")
        for ev in evals:
            parts.append(f"<h3>{esc(ev.get('name', ''))}</h3>")
            if ev.get("evaluation_observation"):
                parts.append(f'<div class="text">{esc(ev["evaluation_observation"])}</div>')
            parts.append(_kv([("Evaluation job", ev.get("evaluation_job_arn")), ("Datasets", ", ".join(ev.get("datasets", [])))]))
            if ev.get("metadata"):
                parts.append(_table(["metadata", "value"], list(ev["metadata"].items())))
            for group in ev.get("metric_groups", []):
                parts.append(f"<h4>{esc(group.get('name', ''))}</h4>")
                data = group.get("metric_data", [])
                simple = [m for m in data if m.get("type") in ("number", "string", "boolean")]
                if simple:
                    parts.append(_table(["metric", "value", "notes"], [(m["name"], m["value"], m.get("notes", "")) for m in simple]))
                charts = []
                for m in data:
                    svg = svg_chart(m)
                    if svg:
                        caption = esc(m.get("name", "")) + (f" — {esc(m['notes'])}" if m.get("notes") else "")
                        width = int(re.search(r'width="(\d+)"', svg).group(1))
                        charts.append((width, f'<figure class="chart-{esc(m["type"])}">{svg}'
                                              f'<figcaption>{caption}</figcaption></figure>'))
                if charts:
                    parts.append(_chart_rows(charts))
        parts.append("</section>")

    if info:
        parts.append("<section><h2>Additional information</h2>")
        parts.append(_text_block("Ethical considerations", info.get("ethical_considerations")))
        parts.append(_text_block("Caveats and recommendations", info.get("caveats_and_recommendations")))
        if info.get("custom_details"):
            parts.append("<h3>Details</h3>" + _table(["detail", "value"], list(info["custom_details"].items())))
        parts.append("</section>")
    parts.append("</article>")
    return "".join(parts)


def _as_list(cards: Mapping | Sequence[Mapping]) -> list[Mapping]:
    if isinstance(cards, Mapping):
        return [cards]
    return list(cards)


def render_fragment(card: Mapping | Sequence[Mapping]) -> str:
    """HTML for embedding (notebook output, sidebar): scoped CSS + the card article(s)."""
    body = "".join(_card_body(c) for c in _as_list(card))
    return f'<div class="mlgov-card-root"><style>{CARD_CSS}</style>{body}</div>'


def render_html(card: Mapping | Sequence[Mapping], title: str | None = None, *,
                organisation: str | None = None, logo: str | None = None) -> str:
    """A standalone HTML page for one card or a list of cards (one per printed page), under the
    organisation's name and logo (see :func:`branding`)."""
    cards = _as_list(card)
    masthead = _masthead(branding(organisation, logo))
    if title is None:
        names = [str(c.get("name") or (c.get("content") or {}).get("model_overview", {}).get("model_name") or "model card") for c in cards]
        title = "Model card: " + ", ".join(names) if names else "Model cards"
    body = "".join(masthead + _card_body(c) for c in cards)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{esc(title)}</title><style>{_PAGE_CSS}{CARD_CSS}{_MASTHEAD_CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict:
    raise ValueError(f"card rendering does not fetch resources ({_clip(url, 80)})")


def render_pdf(card: Mapping | Sequence[Mapping], *, organisation: str | None = None,
               logo: str | None = None) -> bytes:
    """PDF bytes of the card(s), rendered by WeasyPrint from :func:`render_html` (no browser)."""
    import logging

    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    fetcher_cls = getattr(weasyprint, "URLFetcher", None)  # WeasyPrint >= 66; older ones take a function
    fetcher = fetcher_cls(allowed_protocols=("data",)) if fetcher_cls else _no_fetch
    doc = weasyprint.HTML(string=render_html(card, organisation=organisation, logo=logo),
                          url_fetcher=fetcher, base_url=None)
    return doc.write_pdf()


def render_size(card: Mapping) -> dict:
    """What rendering ``card`` lays out: content characters, table rows and charts (the work of a
    PDF grows with these; :mod:`mlgov_jupyter.service.cards` bounds them)."""
    import json

    content = card.get("content") or {}
    job = content.get("training_details", {}).get("training_job_details", {})
    rows = len(_lineage(card.get("lineage"))) + len(job.get("training_datasets", []))
    rows += sum(len(job.get(k, [])) for k in ("training_metrics", "user_provided_training_metrics",
                                              "hyper_parameters", "user_provided_hyper_parameters"))
    rows += len(content.get("additional_information", {}).get("custom_details", {}) or {})
    pkg = content.get("model_package_details") or {}
    rows += len((pkg.get("inference_specification") or {}).get("containers") or [])
    rows += len(pkg.get("source_algorithms") or [])
    charts = 0
    for ev in content.get("evaluation_details", []):
        rows += len(ev.get("metadata") or {})
        for group in ev.get("metric_groups", []):
            for metric in group.get("metric_data", []):
                if metric.get("type") in ("matrix", "linear_graph", "bar_chart"):
                    charts += 1
                else:
                    rows += 1
    return {"chars": len(json.dumps(content, ensure_ascii=False)), "rows": rows, "charts": charts}
