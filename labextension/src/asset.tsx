import React, { useEffect, useState } from 'react';

import { AccessBadge, Chips, KIND_LABEL, TimeAgo } from './components';
import { MlgovAPI } from './handler';
import { ErrorSink, IAssetDetail } from './tokens';

interface IAssetProps {
  name: string;
  refreshKey: number;
  onBack: () => void;
  /** Called after this view changed server state (a request was filed). */
  onChanged: () => void;
  onError: ErrorSink;
}

/** One asset: metadata, access, schema and revisions. */
export function AssetView({
  name,
  refreshKey,
  onBack,
  onChanged,
  onError
}: IAssetProps): JSX.Element {
  const [asset, setAsset] = useState<IAssetDetail | null>(null);

  useEffect(() => {
    let current = true;
    MlgovAPI.getAsset(name).then(
      a => current && setAsset(a),
      e => current && onError(e)
    );
    return () => {
      current = false;
    };
  }, [name, refreshKey]);

  return (
    <div className="jp-mlgov-asset">
      <button className="jp-mlgov-linkButton jp-mlgov-back" onClick={onBack}>
        ‹ Back to results
      </button>
      {asset === null ? (
        <p className="jp-mlgov-empty">Loading {name}…</p>
      ) : (
        <AssetBody asset={asset} onChanged={onChanged} onError={onError} />
      )}
    </div>
  );
}

function AssetBody({
  asset,
  onChanged,
  onError
}: {
  asset: IAssetDetail;
  onChanged: () => void;
  onError: ErrorSink;
}): JSX.Element {
  return (
    <>
      <div className="jp-mlgov-assetTitle">
        <h3 className="jp-mlgov-assetName">{asset.name}</h3>
        <AccessBadge access={asset.access} />
      </div>
      {asset.description && (
        <p className="jp-mlgov-assetDesc">{asset.description}</p>
      )}
      <dl className="jp-mlgov-meta">
        <dt>Kind</dt>
        <dd>{KIND_LABEL[asset.kind] ?? asset.kind}</dd>
        <dt>Project</dt>
        <dd>{asset.project}</dd>
        <dt>Owner</dt>
        <dd>{asset.owner}</dd>
        <dt>Classification</dt>
        <dd>{asset.classification}</dd>
        <dt>Revision</dt>
        <dd>{asset.revision}</dd>
        <dt>Rows</dt>
        <dd>{asset.row_count ?? '—'}</dd>
        <dt>Updated</dt>
        <dd>
          <TimeAgo iso={asset.updated_at} />
        </dd>
        {asset.tags.length > 0 && (
          <>
            <dt>Tags</dt>
            <dd>
              <Chips values={asset.tags} />
            </dd>
          </>
        )}
        {asset.glossary_terms.length > 0 && (
          <>
            <dt>Glossary</dt>
            <dd>
              <Chips values={asset.glossary_terms} />
            </dd>
          </>
        )}
        {asset.location && (
          <>
            <dt>Location</dt>
            <dd className="jp-mlgov-mono" title={asset.location}>
              {asset.location}
            </dd>
          </>
        )}
        <dt>Content hash</dt>
        <dd className="jp-mlgov-mono" title={asset.content_hash}>
          {asset.content_hash}
        </dd>
      </dl>
      <AccessSection asset={asset} onChanged={onChanged} onError={onError} />
      <Schema asset={asset} />
      <Revisions asset={asset} />
    </>
  );
}

function AccessSection({
  asset,
  onChanged,
  onError
}: {
  asset: IAssetDetail;
  onChanged: () => void;
  onError: ErrorSink;
}): JSX.Element {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  let body: JSX.Element;
  switch (asset.access) {
    case 'owner':
      body = (
        <p>
          You can use this asset as a member of project{' '}
          <b>{asset.project}</b>.
        </p>
      );
      break;
    case 'granted':
      body = (
        <>
          <p>Access granted. Load it in a notebook with</p>
          <pre className="jp-mlgov-snippet">df = %mlgov use {asset.name}</pre>
        </>
      );
      break;
    case 'pending':
      body = (
        <p>
          Access requested; waiting for an owner or steward of project{' '}
          <b>{asset.project}</b> to decide.
        </p>
      );
      break;
    default:
      body = (
        <form
          className="jp-mlgov-form"
          onSubmit={async e => {
            e.preventDefault();
            onError(null);
            setBusy(true);
            try {
              await MlgovAPI.requestAccess(asset.name, reason.trim());
              setReason('');
              onChanged();
            } catch (error) {
              onError(error);
            } finally {
              setBusy(false);
            }
          }}
        >
          <label htmlFor={`mlgov-reason-${asset.name}`}>
            Why do you need access?
          </label>
          <textarea
            id={`mlgov-reason-${asset.name}`}
            className="jp-mlgov-textarea"
            rows={3}
            placeholder="e.g. retraining the churn model for Q3"
            value={reason}
            onChange={e => setReason(e.target.value)}
          />
          <button
            type="submit"
            className="jp-mod-styled jp-mod-accept jp-mlgov-button"
            disabled={busy || reason.trim().length === 0}
          >
            Request access
          </button>
        </form>
      );
  }
  return (
    <section className="jp-mlgov-section" aria-label="Access">
      <h4>Access</h4>
      {body}
    </section>
  );
}

function statsLine(stats: { [stat: string]: unknown } | undefined): string {
  if (!stats) {
    return '';
  }
  return Object.entries(stats)
    .filter(([, v]) => typeof v === 'number' || typeof v === 'string')
    .slice(0, 4)
    .map(([k, v]) =>
      typeof v === 'number' && !Number.isInteger(v)
        ? `${k} ${v.toPrecision(3)}`
        : `${k} ${v}`
    )
    .join(' · ');
}

function Schema({ asset }: { asset: IAssetDetail }): JSX.Element | null {
  if (asset.schema.length === 0) {
    return null;
  }
  return (
    <section className="jp-mlgov-section" aria-label="Schema">
      <h4>Schema ({asset.schema.length} columns)</h4>
      <table className="jp-mlgov-table">
        <thead>
          <tr>
            <th>Column</th>
            <th>Type</th>
          </tr>
        </thead>
        <tbody>
          {asset.schema.map(col => {
            const stats = statsLine(asset.summary?.[col.name]);
            return (
              <tr key={col.name}>
                <td>
                  {col.name}
                  {stats && <div className="jp-mlgov-stats">{stats}</div>}
                </td>
                <td className="jp-mlgov-mono">{col.type}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function Revisions({ asset }: { asset: IAssetDetail }): JSX.Element | null {
  if (asset.revisions.length === 0) {
    return null;
  }
  return (
    <section className="jp-mlgov-section" aria-label="Revisions">
      <h4>Revisions</h4>
      <table className="jp-mlgov-table">
        <thead>
          <tr>
            <th>Rev</th>
            <th>Rows</th>
            <th>By</th>
            <th>When</th>
          </tr>
        </thead>
        <tbody>
          {asset.revisions.map(r => (
            <tr key={r.revision}>
              <td>{r.revision}</td>
              <td>{r.row_count ?? '—'}</td>
              <td>{r.created_by}</td>
              <td>
                <TimeAgo iso={r.created_at} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
