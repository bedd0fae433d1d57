"""A monitor as a notebook shows it (static HTML: it needs no widget state): status, alerts, the
executions, and a chart of each metric over time with its threshold."""

from __future__ import annotations

import html

from ...core.monitoring.timeline import line_svg, series

MAX_CHARTS = 12


class MonitorView:
    def __init__(self, monitor: dict):
        self.monitor = monitor

    def __repr__(self) -> str:
        m = self.monitor
        lines = [f"monitor {m['name']} ({m['monitor_type']}) {m['status']}, alert {m['alert']}"]
        for e in m.get("executions", []):
            lines.append(f"  #{e['id']} {e['created_at'][:19]} {e['status']} {e['violations']} violations "
                         f"{e.get('failure_reason') or ''}".rstrip())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        m = self.monitor
        esc = html.escape
        head = (f"<p><b>monitor {esc(m['name'])}</b> ({esc(m['monitor_type'])}) of "
                f"{esc(m['deployment'] or m['model'])}: {esc(m['status'])}, schedule <code>{esc(m['schedule'])}</code>, "
                f"alert <b>{esc(m['alert'])}</b></p>")
        alerts = "".join(f"<li>{esc(a['kind'])} ({esc(a['state'])}): {esc(a['reason'])}</li>"
                         for a in m.get("alerts", []) if a["state"] == "InAlert")
        rows = "".join(
            f"<tr><td>#{e['id']}</td><td>{esc(e['created_at'][:19].replace('T', ' '))}</td><td>{esc(e['status'])}</td>"
            f"<td>{e['violations']}</td><td>{esc((e.get('window') or {}).get('rows', '') and str(e['window']['rows']))}</td>"
            f"<td>{esc(e.get('failure_reason') or ', '.join(e['summary'].get('drifted_columns') or []))}</td></tr>"
            for e in m.get("executions", []))
        table = ("<table><thead><tr><th>run</th><th>time (UTC)</th><th>status</th><th>violations</th><th>rows</th>"
                 f"<th>drifted / reason</th></tr></thead><tbody>{rows}</tbody></table>") if rows else "<p>no runs yet</p>"
        charts = [line_svg(s["points"], s["threshold"], title=name + (" (p-value)" if s["measure"] == "p_value" else ""))
                  for name, s in sorted(series(m.get("executions", [])).items(),
                                        key=lambda kv: (not kv[0].startswith("drift"), kv[0]))[:MAX_CHARTS]]
        return (f"<div class='mlgov-monitor'>{head}{'<ul>' + alerts + '</ul>' if alerts else ''}{table}"
                f"<div style='display:flex;flex-wrap:wrap;gap:8px'>{''.join(charts)}</div></div>")
