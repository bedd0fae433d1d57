import React, { useEffect, useState } from 'react';

import { Badge, CardStatusBadge, TimeAgo, Tone } from './components';
import {
  DeploymentAlertRows,
  DeploymentsSection,
  DeploymentView,
  useDeploymentBoard
} from './deployments';
import { MlgovAPI } from './handler';
import {
  AlertState,
  ErrorSink,
  IDashboardModel,
  IExecution,
  IExecutionDetail
} from './tokens';

interface IDashboardProps {
  refreshKey: number;
  onError: ErrorSink;
}

/** Deployments and every model with their alert state; a deployment's monitors, a model's history. */
export function DashboardView({
  refreshKey,
  onError
}: IDashboardProps): JSX.Element {
  const [models, setModels] = useState<IDashboardModel[] | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [changes, setChanges] = useState(0);
  const [deployment, setDeployment] = useState<string | null>(null);
  const board = useDeploymentBoard(refreshKey, changes, onError);

  useEffect(() => {
    let current = true;
    MlgovAPI.dashboard().then(
      m => current && setModels(m),
      e => current && onError(e)
    );
    return () => {
      current = false;
    };
  }, [refreshKey, changes]);

  const show = (model: string) => {
    onError(null);
    setOpen(model);
  };
  const showDeployment = (name: string) => {
    onError(null);
    setDeployment(name);
  };
  // in the Alerts list: models the alert rule or the age rule flags (a model never checked is
  // "not monitored" in the table, not an alert)
  const alerts =
    models?.filter(m => m.alert === 'InAlert' || m.alert === 'Unmonitored') ?? [];
  const openAlerts = alerts.filter(m => !m.acknowledged).length;
  const deploymentAlerts =
    board?.alerts.filter(a => a.state === 'InAlert' && !a.acknowledged).length ?? 0;
  const entry = models?.find(m => m.model === open) ?? null;

  return (
    <div className="jp-mlgov-dashboard">
      <div hidden={open !== null || deployment !== null}>
        <section className="jp-mlgov-section jp-mlgov-first" aria-label="Alerts">
          <h4>
            Alerts
            {openAlerts + deploymentAlerts > 0 && (
              <span
                className="jp-mlgov-count jp-mlgov-count-alert"
                title="Open (not acknowledged) alerts"
              >
                {openAlerts + deploymentAlerts}
              </span>
            )}
          </h4>
          {models !== null && alerts.length === 0 && !board?.alerts.length && (
            <p className="jp-mlgov-empty">No model is in alert.</p>
          )}
          <DeploymentAlertRows
            board={board}
            onOpen={showDeployment}
            onChanged={() => setChanges(c => c + 1)}
            onError={onError}
          />
          <ul className="jp-mlgov-rows">
            {alerts.map(m => (
              <li
                key={m.model}
                className={
                  'jp-mlgov-row jp-mlgov-alertRow' +
                  (m.acknowledged ? ' jp-mlgov-alertRow-acked' : '')
                }
              >
                <button
                  className="jp-mlgov-rowMain jp-mlgov-plain"
                  onClick={() => show(m.model)}
                  title={`History of ${m.model}`}
                >
                  <span className="jp-mlgov-rowTitle">{m.model}</span>
                  <span className="jp-mlgov-resultMeta">
                    {latestLine(m.latest)}
                    {m.acknowledged && ` · acknowledged by ${m.acknowledged.by}`}
                  </span>
                </button>
                <AlertBadge entry={m} />
              </li>
            ))}
          </ul>
        </section>
        <DeploymentsSection board={board} onOpen={showDeployment} />
        <section className="jp-mlgov-section" aria-label="Models">
          <h4>Models{models !== null && ` (${models.length})`}</h4>
          {models !== null && models.length === 0 && (
            <p className="jp-mlgov-empty">
              No models yet. Publish one from a notebook with{' '}
              <code>%mlgov publish model --name NAME</code>.
            </p>
          )}
          {models !== null && models.length > 0 && (
            <table className="jp-mlgov-table jp-mlgov-dashTable">
              <thead>
                <tr>
                  <th>Model</th>
                  <th>Alert</th>
                  <th>Card</th>
                  <th>Last check</th>
                </tr>
              </thead>
              <tbody>
                {models.map(m => (
                  <tr key={m.model}>
                    <td>
                      <button
                        className="jp-mlgov-linkButton jp-mlgov-cellLink"
                        onClick={() => show(m.model)}
                        title={`History of ${m.model}`}
                      >
                        {m.model}
                      </button>
                      <div className="jp-mlgov-stats">{m.project}</div>
                    </td>
                    <td>
                      <AlertBadge entry={m} />
                    </td>
                    <td>
                      <CardStatusBadge status={m.card_status} />
                    </td>
                    <td>
                      {m.latest ? (
                        <>
                          <span className="jp-mlgov-narrowOnly">checked </span>
                          <TimeAgo iso={m.latest.created_at} />
                          <div className="jp-mlgov-stats">
                            {plural(m.latest.violations, 'violation')}
                          </div>
                        </>
                      ) : (
                        <span className="jp-mlgov-stats" title="Health unknown">
                          never checked
                        </span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
      {deployment !== null && (
        <DeploymentView
          name={deployment}
          refreshKey={refreshKey}
          onBack={() => setDeployment(null)}
          onChanged={() => setChanges(c => c + 1)}
          onError={onError}
        />
      )}
      {open !== null && deployment === null && (
        <ModelHistory
          model={open}
          entry={entry}
          refreshKey={refreshKey}
          onBack={() => setOpen(null)}
          onChanged={() => setChanges(c => c + 1)}
          onError={onError}
        />
      )}
    </div>
  );
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function drifted(e: IExecution): string[] {
  return e.summary?.drifted_columns ?? [];
}

function latestLine(e: IExecution | null): string {
  if (!e) {
    return 'never checked';
  }
  const cols = drifted(e);
  return [
    plural(e.violations, 'violation'),
    cols.length > 0 ? `drift in ${cols.join(', ')}` : null
  ]
    .filter(Boolean)
    .join(' · ');
}

/** The model's alert state; an acknowledged alert muted (grey, ✓), a model never checked
 * "Not monitored" (its health is unknown: not a green OK); the title says what is unknown. */
function AlertBadge({
  entry
}: {
  entry: Pick<IDashboardModel, 'alert' | 'acknowledged' | 'unknown'>;
}): JSX.Element {
  const alert: AlertState = entry.alert;
  const unknown = entry.unknown?.length
    ? `\nUnknown: ${entry.unknown.join(', ')}`
    : '';
  if (alert === 'InAlert' && entry.acknowledged) {
    return (
      <Badge
        label="InAlert ✓"
        tone="muted"
        title={`Acknowledged by ${entry.acknowledged.by}: ${entry.acknowledged.comment}`}
      />
    );
  }
  if (alert === 'InAlert') {
    return (
      <Badge
        label="InAlert"
        tone="error"
        title="Recent checks found violations or drift (open)"
      />
    );
  }
  if (alert === 'Unmonitored') {
    return (
      <Badge
        label="Unmonitored"
        tone="warn"
        title={'An approved model with no recent check' + unknown}
      />
    );
  }
  if (alert === 'NotMonitored') {
    return (
      <Badge
        label="Not monitored"
        tone="info"
        title={'Never checked: its health is unknown' + unknown}
      />
    );
  }
  return <Badge label="OK" tone="ok" title={'Recent checks passed' + unknown} />;
}

function ExecutionStatus({ status }: { status: string }): JSX.Element {
  const tone: Tone =
    status === 'Completed'
      ? 'ok'
      : status === 'CompletedWithViolations'
        ? 'error'
        : 'warn';
  const label = status === 'CompletedWithViolations' ? 'violations' : status;
  return <Badge label={label} tone={tone} title={status} />;
}

/** Acknowledge a model's alert with a comment, or say who did. */
function Acknowledge({
  entry,
  onChanged,
  onError
}: {
  entry: IDashboardModel;
  onChanged: () => void;
  onError: ErrorSink;
}): JSX.Element | null {
  const [comment, setComment] = useState('');
  if (entry.alert !== 'InAlert') {
    return null;
  }
  if (entry.acknowledged) {
    const ack = entry.acknowledged;
    return (
      <p className="jp-mlgov-ack">
        Acknowledged by {ack.by} <TimeAgo iso={ack.at} />
        {ack.comment && `: ${ack.comment}`}
      </p>
    );
  }
  const acknowledge = () => {
    onError(null);
    MlgovAPI.acknowledgeAlert(entry.model, comment).then(onChanged, onError);
  };
  return (
    <div className="jp-mlgov-form jp-mlgov-ackForm">
      <input
        className="jp-mod-styled jp-mlgov-input"
        placeholder="What is being done (optional)"
        aria-label="Acknowledgement comment"
        value={comment}
        onChange={e => setComment(e.target.value)}
      />
      <button className="jp-mod-styled jp-mod-accept jp-mlgov-button" onClick={acknowledge}>
        Acknowledge
      </button>
    </div>
  );
}

function ModelHistory({
  model,
  entry,
  refreshKey,
  onBack,
  onChanged,
  onError
}: {
  model: string;
  entry: IDashboardModel | null;
  refreshKey: number;
  onBack: () => void;
  onChanged: () => void;
  onError: ErrorSink;
}): JSX.Element {
  const [executions, setExecutions] = useState<IExecution[] | null>(null);
  const [selected, setSelected] = useState<number | null>(null);

  useEffect(() => {
    let current = true;
    MlgovAPI.listExecutions(model).then(
      x => {
        if (current) {
          setExecutions(x);
          setSelected(s => s ?? (x.length > 0 ? x[0].id : null));
        }
      },
      e => current && onError(e)
    );
    return () => {
      current = false;
    };
  }, [model, refreshKey]);

  return (
    <div className="jp-mlgov-asset">
      <button className="jp-mlgov-linkButton jp-mlgov-back" onClick={onBack}>
        ‹ Back to the dashboard
      </button>
      <div className="jp-mlgov-assetTitle">
        <h3 className="jp-mlgov-assetName">{model}</h3>
        {entry && <AlertBadge entry={entry} />}
      </div>
      {entry && (
        <dl className="jp-mlgov-meta">
          <dt>Project</dt>
          <dd>{entry.project}</dd>
          <dt>Owner</dt>
          <dd>{entry.owner}</dd>
          <dt>Card</dt>
          <dd>
            {entry.card ?? '—'}{' '}
            {entry.card && <CardStatusBadge status={entry.card_status} />}
          </dd>
          <dt>Checks</dt>
          <dd>{entry.executions}</dd>
        </dl>
      )}
      {entry && <Acknowledge entry={entry} onChanged={onChanged} onError={onError} />}
      <section className="jp-mlgov-section" aria-label="History">
        <h4>History</h4>
        {executions !== null && executions.length === 0 && (
          <p className="jp-mlgov-empty">
            No checks yet. Record one from a notebook with{' '}
            <code>client.record_execution(model, report)</code>.
          </p>
        )}
        {executions !== null && executions.length > 0 && (
          <table className="jp-mlgov-table">
            <thead>
              <tr>
                <th>Check</th>
                <th>Status</th>
                <th>Viol.</th>
                <th>Drifted</th>
              </tr>
            </thead>
            <tbody>
              {executions.map(x => (
                <tr
                  key={x.id}
                  className={x.id === selected ? 'jp-mod-selected' : ''}
                  aria-selected={x.id === selected}
                >
                  <td>
                    <button
                      className="jp-mlgov-linkButton jp-mlgov-cellLink"
                      onClick={() => setSelected(x.id)}
                      title={`Show check #${x.id}`}
                    >
                      #{x.id}
                    </button>
                    <div className="jp-mlgov-stats">
                      <TimeAgo iso={x.created_at} />
                    </div>
                  </td>
                  <td>
                    <ExecutionStatus status={x.status} />
                  </td>
                  <td>{x.violations}</td>
                  <td className="jp-mlgov-wrap">
                    {drifted(x).join(', ') || '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {selected !== null && (
        <ExecutionReport
          model={model}
          id={selected}
          refreshKey={refreshKey}
          onError={onError}
        />
      )}
    </div>
  );
}

function num(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) {
    return '—';
  }
  if (v !== 0 && Math.abs(v) < 1e-3) {
    return v.toExponential(1);
  }
  return String(Number(v.toPrecision(3)));
}

function ExecutionReport({
  model,
  id,
  refreshKey,
  onError
}: {
  model: string;
  id: number;
  refreshKey: number;
  onError: ErrorSink;
}): JSX.Element {
  const [detail, setDetail] = useState<IExecutionDetail | null>(null);

  useEffect(() => {
    let current = true;
    MlgovAPI.getExecution(model, id).then(
      d => current && setDetail(d),
      e => current && onError(e)
    );
    return () => {
      current = false;
    };
  }, [model, id, refreshKey]);

  if (detail === null || detail.id !== id) {
    return <p className="jp-mlgov-empty">Loading check #{id}…</p>;
  }
  const report = detail.report ?? {};
  const columns = report.columns ?? [];
  const violations = report.violations ?? [];
  return (
    <section className="jp-mlgov-section" aria-label={`Check ${id}`}>
      <h4>
        Check #{id} · {detail.monitor_type.replace(/_/g, ' ')}
      </h4>
      <div className="jp-mlgov-resultMeta">
        by {detail.created_by} · <TimeAgo iso={detail.created_at} />
        {typeof report.drift_share === 'number' &&
          ` · drift share ${num(report.drift_share)}` +
            (typeof report.drift_share_threshold === 'number'
              ? ` (alert at ${num(report.drift_share_threshold)})`
              : '')}
        {typeof report.n_current === 'number' && ` · ${report.n_current} rows`}
      </div>
      {detail.report === null && (
        <p className="jp-mlgov-empty" aria-label="Report withheld">
          The full report holds values of the monitored data: it shows to those who may read
          this model's data (request access in the Catalog).
        </p>
      )}
      {columns.length > 0 && (
        <table className="jp-mlgov-table jp-mlgov-compact" aria-label="Drift by column">
          <thead>
            <tr>
              <th>Column</th>
              <th>Test</th>
              <th>Stat.</th>
              <th title="p-value (or distance) and its threshold">p / thr.</th>
              <th>Drift</th>
            </tr>
          </thead>
          <tbody>
            {columns.map(c => (
              <tr key={c.column} className={c.drifted ? 'jp-mlgov-drifted' : ''}>
                <td className="jp-mlgov-wrap">{c.column}</td>
                <td>{c.test ?? '—'}</td>
                <td>{num(c.statistic)}</td>
                <td>
                  {num(c.adjusted_p_value ?? c.p_value)} / {num(c.threshold)}
                </td>
                <td>
                  {c.drifted ? (
                    <Badge label="yes" tone="error" />
                  ) : (
                    <span className="jp-mlgov-stats">no</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {detail.report !== null && (
        <h4 className="jp-mlgov-subhead">
          Violations ({violations.length})
        </h4>
      )}
      {detail.report === null ? null : violations.length === 0 ? (
        <p className="jp-mlgov-empty">None.</p>
      ) : (
        <ul className="jp-mlgov-rows" aria-label="Violations">
          {violations.map((v, i) => (
            <li key={i} className="jp-mlgov-violation">
              <span className="jp-mlgov-rowTitle">
                {v.feature_name ?? '—'}{' '}
                <span className="jp-mlgov-mono jp-mlgov-stats">
                  {v.constraint_check_type}
                </span>
              </span>
              <span className="jp-mlgov-wrap">{v.description}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
