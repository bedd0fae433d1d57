"""Metrics over time: a monitor's executions as series (one per drift column, model-quality or
bias metric) and an SVG line chart of one series with its threshold drawn."""

from __future__ import annotations

import html


def series(executions: list[dict]) -> dict:
    """``{"drift:<col>" | "quality:<metric>" | "bias:<metric>": {"points": [(time, value, flagged)],
    "threshold": float | None, "measure": "p_value" | "distance" | None}}`` from executions (newest
    first, as the service lists them) that carry ``metrics``; points oldest first."""
    out: dict = {}
    for e in reversed(executions):
        metrics = e.get("metrics") or {}
        for section in ("drift", "quality", "bias"):
            for name, m in (metrics.get(section) or {}).items():
                if m.get("value") is None:
                    continue
                s = out.setdefault(f"{section}:{name}", {"points": [], "threshold": None, "measure": None})
                s["points"].append((e.get("created_at"), float(m["value"]), bool(m.get("drifted"))))
                s["measure"] = m.get("measure")
                if m.get("threshold") is not None:
                    s["threshold"] = float(m["threshold"])
    return out


def line_svg(points: list, threshold: float | None = None, width: int = 320, height: int = 90,
             title: str = "") -> str:
    """One series as an SVG polyline (x: run order, y: value), the threshold dashed in red, the
    points flagged (drifted) in red."""
    values = [v for _, v, _ in points] + ([threshold] if threshold is not None else [])
    if not points:
        return ""
    lo, hi = min(values), max(values)
    if hi == lo:
        hi, lo = hi + (abs(hi) or 1) * 0.1, lo - (abs(lo) or 1) * 0.1
    pad = 6
    n = len(points)

    def xy(i, v):
        x = pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)
        y = height - pad - (height - 2 * pad) * (v - lo) / (hi - lo)
        return f"{x:.1f},{y:.1f}"

    line = " ".join(xy(i, v) for i, (_, v, _) in enumerate(points))
    dots = "".join(f'<circle cx="{xy(i, v).split(",")[0]}" cy="{xy(i, v).split(",")[1]}" r="2.5" '
                   f'fill="{"#c62828" if flagged else "#1565c0"}">'
                   f"<title>{html.escape(str(t))[:19]}: {v:.4g}</title></circle>" for i, (t, v, flagged) in enumerate(points))
    thr = ""
    if threshold is not None:
        y = xy(0, threshold).split(",")[1]
        thr = (f'<line x1="{pad}" x2="{width - pad}" y1="{y}" y2="{y}" stroke="#c62828" stroke-dasharray="4 3"/>'
               f'<text x="{width - pad}" y="{float(y) - 3:.1f}" font-size="9" text-anchor="end" fill="#c62828">'
               f"threshold {threshold:g}</text>")
    label = f'<text x="{pad}" y="10" font-size="10" fill="#333">{html.escape(title)}</text>' if title else ""
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'class="mlgov-timeline">{label}{thr}<polyline points="{line}" fill="none" stroke="#1565c0" '
            f'stroke-width="1.5"/>{dots}</svg>')
