/**
 * Deployments on the Dashboard: each deployment with its monitors and alert state, the open
 * deployment/monitor alerts (acknowledge with a comment), and a deployment's view: its monitors
 * (Run now / Start / Stop), the selected monitor's executions and a chart of each metric over time.
 */
import React, { useEffect, useLayoutEffect, useRef, useState } from 'react';

import { Badge, TimeAgo, Tone } from './components';
import { MlgovAPI, errorLine } from './handler';
import {
  ErrorSink,
  IDeployment,
  IDeploymentDetail,
  IMonitor,
  IMonitorAlert,
  IMonitorDetail,
  IMonitorExecution
} from './tokens';

/** What the Dashboard lists: deployments, all monitors, open alerts (null until loaded). */
export interface IDeploymentBoard {
  deployments: IDeployment[];
  monitors: IMonitor[];
  alerts: IMonitorAlert[];
}

/** Load the board; again when `refreshKey` or `changes` move. */
export function useDeploymentBoard(
  refreshKey: number,
  changes: number,
  onError: ErrorSink
): IDeploymentBoard | null {
  const [board, setBoard] = useState<IDeploymentBoard | null>(null);
  useEffect(() => {
    let current = true;
    Promise.all([
      MlgovAPI.listDeployments(),
      MlgovAPI.listMonitors(),
      MlgovAPI.listMonitorAlerts('open')
    ]).then(
      ([deployments, monitors, alerts]) =>
        current && setBoard({ deployments, monitors, alerts }),
      e => current && onError(e)
    );
    return () => {
      current = false;
    };
  }, [refreshKey, changes]);
  return board;
}

function alertsOf(
  alerts: IMonitorAlert[],
  deployment: string,
  monitors: IMonitor[]
): IMonitorAlert[] {
  const names = new Set(
    monitors.filter(m => m.deployment === deployment).map(m => m.name)
  );
  return alerts.filter(
    a =>
      a.state === 'InAlert' &&
      (a.deployment === deployment || (a.monitor !== null && names.has(a.monitor)))
  );
}

/** OK, or one badge per open alert kind; an acknowledged kind muted with a check mark. */
export function DeploymentAlertBadge({
  alerts
}: {
  alerts: IMonitorAlert[];
}): JSX.Element {
  if (alerts.length === 0) {
    return <Badge label="OK" tone="ok" title="No open alert" />;
  }
  const kinds = new Map<string, IMonitorAlert[]>();
  for (const a of alerts) {
    kinds.set(a.kind, [...(kinds.get(a.kind) ?? []), a]);
  }
  return (
    <span className="jp-mlgov-depBadges">
      {[...kinds.entries()].map(([kind, list]) => {
        const open = list.filter(a => !a.acknowledged);
        return open.length > 0 ? (
          <Badge
            key={kind}
            label={kind}
            tone="error"
            title={open.map(a => a.reason).join('\n')}
          />
        ) : (
          <Badge
            key={kind}
            label={`${kind} ✓`}
            tone="muted"
            title={list
              .map(a => `acknowledged by ${a.acknowledged!.by}: ${a.reason}`)
              .join('\n')}
          />
        );
      })}
    </span>
  );
}

const MONITOR_TONE: Record<string, Tone> = { Scheduled: 'ok', Stopped: 'muted' };

function MonitorStatus({ monitor }: { monitor: IMonitor }): JSX.Element {
  return (
    <Badge
      label={monitor.running ? 'running' : monitor.status}
      tone={monitor.running ? 'info' : MONITOR_TONE[monitor.status] ?? 'info'}
      title={`${monitor.monitor_type.replace(/_/g, ' ')} monitor, ${monitor.status}`}
    />
  );
}

export function ExecutionStatusBadge({ status }: { status: string }): JSX.Element {
  const tone: Tone =
    status === 'Completed' ? 'ok' : status === 'Failed' ? 'warn' : 'error';
  const label = status === 'CompletedWithViolations' ? 'violations' : status;
  return <Badge label={label} tone={tone} title={status} />;
}

/** The Dashboard's "Deployments" table; a name opens the deployment. */
export function DeploymentsSection({
  board,
  onOpen
}: {
  board: IDeploymentBoard | null;
  onOpen: (name: string) => void;
}): JSX.Element {
  const deployments = board?.deployments ?? null;
  return (
    <section className="jp-mlgov-section" aria-label="Deployments">
      <h4>Deployments{deployments !== null && ` (${deployments.length})`}</h4>
      {deployments !== null && deployments.length === 0 && (
        <p className="jp-mlgov-empty">
          No deployments yet. Record one from a notebook with{' '}
          <code>%mlgov deploy NAME --model MODEL</code>.
        </p>
      )}
      {board !== null && deployments !== null && deployments.length > 0 && (
        <table className="jp-mlgov-table jp-mlgov-depTable">
          <thead>
            <tr>
              <th>Deployment</th>
              <th>Monitors</th>
              <th>Alert</th>
            </tr>
          </thead>
          <tbody>
            {deployments.map(d => {
              const monitors = board.monitors.filter(m => m.deployment === d.name);
              const last = monitors
                .map(m => m.last_run_at)
                .filter((t): t is string => !!t)
                .sort()
                .pop();
              return (
                <tr key={d.name} data-deployment={d.name}>
                  <td className="jp-mlgov-wrap">
                    <button
                      className="jp-mlgov-linkButton jp-mlgov-cellLink"
                      onClick={() => onOpen(d.name)}
                      title={`Monitors of ${d.name}`}
                    >
                      {d.name}
                    </button>
                    <div className="jp-mlgov-stats">
                      {d.model}@{d.model_revision} · {d.environment}
                    </div>
                    {d.status !== 'InService' && (
                      <Badge label={d.status} tone="muted" title="Deployment status" />
                    )}
                  </td>
                  <td className="jp-mlgov-wrap">
                    {monitors.length === 0 ? (
                      <span className="jp-mlgov-stats">none</span>
                    ) : (
                      monitors.map(m => (
                        <div key={m.name} className="jp-mlgov-depMonitor">
                          <span className="jp-mlgov-depMonitorName">{m.name}</span>{' '}
                          <MonitorStatus monitor={m} />
                        </div>
                      ))
                    )}
                    <div className="jp-mlgov-stats">
                      last run {last ? <TimeAgo iso={last} /> : 'never'}
                    </div>
                  </td>
                  <td>
                    <DeploymentAlertBadge
                      alerts={alertsOf(board.alerts, d.name, board.monitors)}
                    />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The open deployment/monitor alerts (for the Dashboard's Alerts section), each acknowledgeable. */
export function DeploymentAlertRows({
  board,
  onOpen,
  onChanged,
  onError
}: {
  board: IDeploymentBoard | null;
  onOpen: (deployment: string) => void;
  onChanged: () => void;
  onError: ErrorSink;
}): JSX.Element | null {
  const alerts = (board?.alerts ?? []).filter(a => a.state === 'InAlert');
  if (alerts.length === 0) {
    return null;
  }
  const deploymentOf = (a: IMonitorAlert): string | null =>
    a.deployment ??
    board?.monitors.find(m => m.name === a.monitor)?.deployment ??
    null;
  return (
    <ul className="jp-mlgov-rows" aria-label="Deployment alerts">
      {alerts.map(a => {
        const dep = deploymentOf(a);
        return (
          <li
            key={a.id}
            className={
              'jp-mlgov-depAlert' + (a.acknowledged ? ' jp-mlgov-depAlert-acked' : '')
            }
            data-alert={a.id}
          >
            <div className="jp-mlgov-depAlertHead">
              <Badge
                label={a.kind}
                tone={a.acknowledged ? 'muted' : 'error'}
                title={a.acknowledged ? 'Acknowledged' : 'Open'}
              />
              {dep ? (
                <button
                  className="jp-mlgov-linkButton jp-mlgov-rowTitle"
                  onClick={() => onOpen(dep)}
                  title={`Open deployment ${dep}`}
                >
                  {a.monitor ?? dep}
                </button>
              ) : (
                <span className="jp-mlgov-rowTitle">{a.monitor ?? '—'}</span>
              )}
              <span className="jp-mlgov-stats">
                <TimeAgo iso={a.raised_at} />
              </span>
            </div>
            <div className="jp-mlgov-wrap jp-mlgov-depAlertReason">{a.reason}</div>
            <AcknowledgeAlert alert={a} onChanged={onChanged} onError={onError} />
          </li>
        );
      })}
    </ul>
  );
}

function AcknowledgeAlert({
  alert,
  onChanged,
  onError
}: {
  alert: IMonitorAlert;
  onChanged: () => void;
  onError: ErrorSink;
}): JSX.Element {
  const [comment, setComment] = useState('');
  const [error, setError] = useState<string | null>(null);
  if (alert.acknowledged) {
    const ack = alert.acknowledged;
    return (
      <p className="jp-mlgov-ack">
        Acknowledged by {ack.by} <TimeAgo iso={ack.at} />
        {ack.comment && `: ${ack.comment}`}
      </p>
    );
  }
  const acknowledge = () => {
    onError(null);
    setError(null);
    MlgovAPI.acknowledgeMonitorAlert(alert.id, comment).then(onChanged, e =>
      setError(errorLine(e))
    );
  };
  return (
    <>
      <div className="jp-mlgov-form jp-mlgov-ackForm">
        <input
          className="jp-mod-styled jp-mlgov-input"
          placeholder="What is being done (optional)"
          aria-label={`Comment on alert ${alert.id}`}
          value={comment}
          onChange={e => setComment(e.target.value)}
        />
        <button
          className="jp-mod-styled jp-mod-accept jp-mlgov-button jp-mlgov-small"
          onClick={acknowledge}
        >
          Acknowledge
        </button>
      </div>
      {error && <InlineError text={error} />}
    </>
  );
}

function InlineError({ text }: { text: string }): JSX.Element {
  return (
    <div className="jp-mlgov-error jp-mlgov-inlineError" role="alert" title={text}>
      <span className="jp-mlgov-errorText">{text}</span>
    </div>
  );
}

/** A deployment: what it serves, its monitors with their actions, the selected monitor's history. */
export function DeploymentView({
  name,
  refreshKey,
  onBack,
  onChanged,
  onError
}: {
  name: string;
  refreshKey: number;
  onBack: () => void;
  onChanged: () => void;
  onError: ErrorSink;
}): JSX.Element {
  const [detail, setDetail] = useState<IDeploymentDetail | null>(null);
  const [alerts, setAlerts] = useState<IMonitorAlert[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [changes, setChanges] = useState(0);

  useEffect(() => {
    let current = true;
    Promise.all([
      MlgovAPI.getDeployment(name),
      MlgovAPI.listMonitorAlerts('open')
    ]).then(
      ([d, open]) => {
        if (current) {
          setDetail(d);
          setAlerts(open);
          setSelected(s =>
            s && d.monitors.some(m => m.name === s)
              ? s
              : d.monitors.length > 0
                ? d.monitors[0].name
                : null
          );
        }
      },
      e => current && onError(e)
    );
    return () => {
      current = false;
    };
  }, [name, refreshKey, changes]);

  const changed = () => {
    setChanges(c => c + 1);
    onChanged();
  };

  return (
    <div className="jp-mlgov-asset jp-mlgov-deployment">
      <button className="jp-mlgov-linkButton jp-mlgov-back" onClick={onBack}>
        ‹ Back to the dashboard
      </button>
      <div className="jp-mlgov-assetTitle">
        <h3 className="jp-mlgov-assetName">{name}</h3>
        {detail && (
          <Badge
            label={detail.status}
            tone={detail.status === 'InService' ? 'ok' : 'muted'}
            title="Deployment status"
          />
        )}
      </div>
      {detail && (
        <dl className="jp-mlgov-meta">
          <dt>Model</dt>
          <dd>
            {detail.model}@{detail.model_revision}
          </dd>
          <dt>Environment</dt>
          <dd>{detail.environment}</dd>
          <dt>Project</dt>
          <dd>{detail.project}</dd>
          <dt>Captured</dt>
          <dd>
            {detail.capture
              ? `${detail.captured_rows} rows in ${plural(detail.capture_files, 'file')} (${detail.capture})`
              : 'no capture'}
            {detail.ground_truth_rows > 0 &&
              ` · ${detail.ground_truth_rows} labels`}
          </dd>
          <dt>Deployed</dt>
          <dd>
            by {detail.created_by} <TimeAgo iso={detail.created_at} />
          </dd>
        </dl>
      )}
      <section className="jp-mlgov-section" aria-label="Monitors">
        <h4>Monitors{detail && ` (${detail.monitors.length})`}</h4>
        {detail && detail.monitors.length === 0 && (
          <p className="jp-mlgov-empty">
            No monitor watches this deployment. Create one from a notebook with{' '}
            <code>%mlgov monitor create NAME --deployment {name} ...</code>.
          </p>
        )}
        <ul className="jp-mlgov-rows">
          {detail?.monitors.map(m => (
            <MonitorRow
              key={m.name}
              monitor={m}
              alerts={alerts.filter(a => a.monitor === m.name && a.state === 'InAlert')}
              selected={m.name === selected}
              onSelect={() => setSelected(m.name)}
              onChanged={changed}
            />
          ))}
        </ul>
      </section>
      {selected !== null && (
        <MonitorHistory
          name={selected}
          refreshKey={refreshKey + changes}
          onError={onError}
        />
      )}
    </div>
  );
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function MonitorRow({
  monitor,
  alerts,
  selected,
  onSelect,
  onChanged
}: {
  monitor: IMonitor;
  alerts: IMonitorAlert[];
  selected: boolean;
  onSelect: () => void;
  onChanged: () => void;
}): JSX.Element {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const act = (action: 'run' | 'start' | 'stop') => {
    setBusy(action);
    setError(null);
    MlgovAPI.monitorAction(monitor.name, action)
      .then(onChanged, e => setError(errorLine(e)))
      .finally(() => setBusy(null));
  };
  const last = monitor.last_execution;
  return (
    <li
      className={'jp-mlgov-monitor' + (selected ? ' jp-mod-selected' : '')}
      data-monitor={monitor.name}
      aria-label={`Monitor ${monitor.name}`}
    >
      <div className="jp-mlgov-depAlertHead">
        <button
          className="jp-mlgov-linkButton jp-mlgov-rowTitle"
          onClick={onSelect}
          aria-pressed={selected}
          title={`Executions and charts of ${monitor.name}`}
        >
          {monitor.name}
        </button>
        <MonitorStatus monitor={monitor} />
        {alerts.length > 0 && <DeploymentAlertBadge alerts={alerts} />}
      </div>
      <div className="jp-mlgov-stats">
        {monitor.monitor_type.replace(/_/g, ' ')} · {monitor.schedule}
        {monitor.next_run_at && (
          <>
            {' '}
            · next{' '}
            <time dateTime={monitor.next_run_at} title={monitor.next_run_at}>
              {shortTime(monitor.next_run_at)}
            </time>
          </>
        )}
      </div>
      <div className="jp-mlgov-stats">
        last run{' '}
        {last ? (
          <>
            #{last.id} <ExecutionStatusBadge status={last.status} />{' '}
            <TimeAgo iso={last.created_at} />
          </>
        ) : (
          'never'
        )}
      </div>
      <div className="jp-mlgov-monitorActions">
        <button
          className="jp-mod-styled jp-mod-accept jp-mlgov-button jp-mlgov-small"
          disabled={busy !== null || monitor.running}
          onClick={() => act('run')}
        >
          {busy === 'run' ? 'Running…' : 'Run now'}
        </button>
        {monitor.active ? (
          <button
            className="jp-mod-styled jp-mlgov-button jp-mlgov-small"
            disabled={busy !== null}
            onClick={() => act('stop')}
          >
            Stop
          </button>
        ) : (
          <button
            className="jp-mod-styled jp-mlgov-button jp-mlgov-small"
            disabled={busy !== null}
            onClick={() => act('start')}
          >
            Start
          </button>
        )}
      </div>
      {error && <InlineError text={error} />}
    </li>
  );
}

function MonitorHistory({
  name,
  refreshKey,
  onError
}: {
  name: string;
  refreshKey: number;
  onError: ErrorSink;
}): JSX.Element {
  const [detail, setDetail] = useState<IMonitorDetail | null>(null);
  useEffect(() => {
    let current = true;
    MlgovAPI.getMonitor(name).then(
      d => current && setDetail(d),
      e => current && onError(e)
    );
    return () => {
      current = false;
    };
  }, [name, refreshKey]);

  if (detail === null || detail.name !== name) {
    return <p className="jp-mlgov-empty">Loading {name}…</p>;
  }
  const executions = detail.executions;
  const charts = metricSeries(executions);
  const withheld = executions.length > 0 && executions.every(e => !e.metrics);
  return (
    <section className="jp-mlgov-section" aria-label={`Executions of ${name}`}>
      <h4>
        {name} · executions ({executions.length})
      </h4>
      {executions.length === 0 ? (
        <p className="jp-mlgov-empty">No runs yet: Run now, or wait for its schedule.</p>
      ) : (
        <table className="jp-mlgov-table jp-mlgov-compact jp-mlgov-execTable">
          <thead>
            <tr>
              <th>Run</th>
              <th>Status</th>
              <th className="jp-mlgov-num">Rows</th>
              <th>Drifted / reason</th>
            </tr>
          </thead>
          <tbody>
            {executions.map(e => (
              <tr key={e.id} data-execution={e.id}>
                <td>
                  #{e.id}
                  <div className="jp-mlgov-stats">
                    <TimeAgo iso={e.created_at} />
                  </div>
                </td>
                <td>
                  <ExecutionStatusBadge status={e.status} />
                </td>
                <td className="jp-mlgov-num">{e.window?.rows ?? '—'}</td>
                <td className="jp-mlgov-wrap">
                  {e.failure_reason ??
                    ((e.summary?.drifted_columns ?? []).join(', ') || '—')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {withheld && (
        <p className="jp-mlgov-empty" aria-label="Metrics withheld">
          The metrics hold values of the monitored data: they show to those who may read this
          model's data.
        </p>
      )}
      {charts.length > 0 && (
        <>
          <h4 className="jp-mlgov-subhead">Metrics over time</h4>
          <div className="jp-mlgov-charts" aria-label="Metrics over time">
            {charts.map(s => (
              <MetricChart key={s.key} series={s} />
            ))}
          </div>
        </>
      )}
    </section>
  );
}

// Metrics over time (the sidebar's version of core/monitoring/timeline.py)

export interface IPoint {
  execution: number;
  at: string;
  value: number;
  flagged: boolean;
}

export interface ISeries {
  key: string;
  section: 'drift' | 'quality' | 'bias';
  name: string;
  points: IPoint[];
  threshold: number | null;
  measure: string | null;
}

const SECTION_TITLE = { drift: 'drift', quality: 'quality', bias: 'bias' };

/** One series per drift column, quality and bias metric; points oldest first; flagged drift first. */
export function metricSeries(executions: IMonitorExecution[]): ISeries[] {
  const out = new Map<string, ISeries>();
  for (const e of [...executions].reverse()) {
    for (const section of ['drift', 'quality', 'bias'] as const) {
      const metrics = e.metrics?.[section] ?? {};
      for (const [name, m] of Object.entries(metrics)) {
        if (m === null || typeof m.value !== 'number' || !Number.isFinite(m.value)) {
          continue;
        }
        const key = `${section}:${name}`;
        let s = out.get(key);
        if (!s) {
          s = { key, section, name, points: [], threshold: null, measure: null };
          out.set(key, s);
        }
        s.points.push({
          execution: e.id,
          at: e.created_at,
          value: m.value,
          flagged: !!m.drifted
        });
        s.measure = m.measure ?? s.measure;
        if (typeof m.threshold === 'number') {
          s.threshold = m.threshold;
        }
      }
    }
  }
  const order = { drift: 0, quality: 1, bias: 2 };
  return [...out.values()].sort(
    (a, b) =>
      order[a.section] - order[b.section] ||
      Number(b.points.some(p => p.flagged)) - Number(a.points.some(p => p.flagged)) ||
      a.name.localeCompare(b.name)
  );
}

/** A number in at most `digits` significant digits (tiny p-values in exponent form). */
export function num(v: number, digits = 3): string {
  if (v !== 0 && Math.abs(v) < 1e-3) {
    return v.toExponential(0);
  }
  return String(Number(v.toPrecision(digits)));
}

function shortTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) {
    return '';
  }
  return d.toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit'
  });
}

/** The width of an element, following resizes (the sidebar is resizable). */
function useWidth(ref: React.RefObject<HTMLElement>, fallback: number): number {
  const [width, setWidth] = useState(fallback);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) {
      return;
    }
    const measure = () => {
      const w = Math.floor(el.getBoundingClientRect().width);
      if (w > 0) {
        setWidth(w);
      }
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return width;
}

const CHART_HEIGHT = 92;

/**
 * One series as an SVG line chart as wide as the panel: x the run order, y the value; the
 * threshold dashed, flagged (drifted) points red; first and last run times below.
 */
export function MetricChart({ series }: { series: ISeries }): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const width = Math.max(160, Math.min(useWidth(box, 280), 720));
  const height = CHART_HEIGHT;
  const { points, threshold } = series;
  const values = points.map(p => p.value);
  if (threshold !== null) {
    values.push(threshold);
  }
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi === lo) {
    const d = Math.abs(hi) * 0.1 || 1;
    hi += d;
    lo -= d;
  }
  const left = 42;
  const right = 8;
  const top = 8;
  const bottom = 16;
  const n = points.length;
  const x = (i: number) =>
    left + (width - left - right) * (n > 1 ? i / (n - 1) : 0.5);
  const y = (v: number) =>
    top + (height - top - bottom) * (1 - (v - lo) / (hi - lo));
  const flagged = points.some(p => p.flagged);
  const latest = points[points.length - 1];
  const measure =
    series.measure === 'p_value'
      ? 'p-value, drifts below the threshold'
      : series.measure === 'distance'
        ? 'distance, drifts above the threshold'
        : '';
  return (
    <figure
      className={'jp-mlgov-chart' + (flagged ? ' jp-mlgov-chart-flagged' : '')}
      data-series={series.key}
      ref={box}
    >
      <figcaption className="jp-mlgov-chartTitle">
        <span className="jp-mlgov-chartName" title={series.key}>
          {SECTION_TITLE[series.section]} · {series.name}
        </span>
        <span className="jp-mlgov-stats" title={measure}>
          {series.measure === 'p_value' ? 'p ' : ''}
          {num(latest.value)}
          {threshold !== null && ` / ${num(threshold)}`}
        </span>
      </figcaption>
      <svg
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${series.key} over ${plural(n, 'run')}${measure ? ` (${measure})` : ''}`}
      >
        <line className="jp-mlgov-axis" x1={left} x2={width - right} y1={height - bottom} y2={height - bottom} />
        <text className="jp-mlgov-tick" x={left - 4} y={top + 4} textAnchor="end">
          {num(hi, 2)}
        </text>
        <text className="jp-mlgov-tick" x={left - 4} y={height - bottom} textAnchor="end">
          {num(lo, 2)}
        </text>
        {threshold !== null && (
          <line
            className="jp-mlgov-threshold"
            x1={left}
            x2={width - right}
            y1={y(threshold)}
            y2={y(threshold)}
            strokeDasharray="4 3"
          >
            <title>threshold {num(threshold)}</title>
          </line>
        )}
        <polyline
          className="jp-mlgov-series"
          fill="none"
          points={points.map((p, i) => `${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ')}
        />
        {points.map((p, i) => (
          <circle
            key={p.execution}
            className={p.flagged ? 'jp-mlgov-point jp-mlgov-point-flagged' : 'jp-mlgov-point'}
            cx={x(i)}
            cy={y(p.value)}
            r={p.flagged ? 3.5 : 2.5}
          >
            <title>
              #{p.execution} {shortTime(p.at)}: {num(p.value)}
              {p.flagged ? ' (drifted)' : ''}
            </title>
          </circle>
        ))}
        <text className="jp-mlgov-tick" x={left} y={height - 3} textAnchor="start">
          {shortTime(points[0].at)}
        </text>
        {n > 1 && (
          <text className="jp-mlgov-tick" x={width - right} y={height - 3} textAnchor="end">
            {shortTime(latest.at)}
          </text>
        )}
      </svg>
    </figure>
  );
}
