/**
 * Deployments on the Dashboard: each deployment with its monitors and alert state, the open
 * deployment/monitor alerts (acknowledge with a comment), and a deployment's view: its monitors
 * (Run now / Start / Stop), the selected monitor's executions and a chart of each metric over time.
 */
import React, { useEffect, useState } from 'react';

import { Badge, TimeAgo, Tone } from './components';
import { MlgovAPI, errorLine } from './handler';
import { MetricChart, metricSeries, shortTime } from './metric_chart';
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

/** OK, or one badge per open alert kind: red while any is unacknowledged, grey with a check mark once seen. */
export function DeploymentAlertBadge({
  alerts
}: {
  alerts: IMonitorAlert[];
}): JSX.Element {
  if (alerts.length === 0) {
    return <Badge label="OK" tone="ok" title="No open alert" />;
  }
  const groups = new Map<string, IMonitorAlert[]>();
  for (const a of alerts) {
    const key = `${a.kind}${a.acknowledged ? ' ✓' : ''}`;
    groups.set(key, [...(groups.get(key) ?? []), a]);
  }
  return (
    <span className="jp-mlgov-depBadges">
      {[...groups.entries()].map(([key, list]) =>
        list[0].acknowledged ? (
          <Badge
            key={key}
            label={key}
            tone="muted"
            title={list
              .map(a => `${a.monitor ?? a.deployment}: acknowledged by ${a.acknowledged!.by}`)
              .join('\n')}
          />
        ) : (
          <Badge
            key={key}
            label={key}
            tone="error"
            title={list.map(a => a.reason).join('\n')}
          />
        )
      )}
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
      {monitor.may_manage && (
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
      )}
      {error && <InlineError text={error} />}
    </li>
  );
}

/** Drifted columns, else the kinds of violation found (a quality metric past its threshold), else a dash. */
function findings(e: IMonitorExecution): string {
  if (e.status === 'Completed') {
    return '—';
  }
  const drifted = e.summary?.drifted_columns ?? [];
  if (drifted.length > 0) {
    return drifted.join(', ');
  }
  const kinds = new Set(
    Object.entries(e.summary?.violations_by_type ?? {})
      .filter(([, n]) => n > 0)
      .map(([kind]) =>
        /Than/.test(kind)
          ? 'quality metric past its threshold'
          : kind.replace(/_check$/, '').replace(/_/g, ' ')
      )
  );
  return [...kinds].join(', ') || '—';
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
  const charts = metricSeries(executions, detail.monitor_type);
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
                  {e.failure_reason ?? findings(e)}
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
