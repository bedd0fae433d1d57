import React, { useEffect, useState } from 'react';

import { AccessBadge, Chips, KIND_LABEL, TimeAgo } from './components';
import { FilterPicker, FilterScope, FiltersSection } from './filters';
import { MlgovAPI } from './handler';
import { DeprecatedBadge, LifecycleNotice, LifecycleSection } from './lifecycle';
import { PresignedUrlsSection } from './vending';
import { VersionsSection } from './versions';
import {
  ErrorSink,
  IAssetDetail,
  IAssetFilter,
  IWhoAmI,
  isOwnerOrSteward
} from './tokens';

interface IAssetProps {
  name: string;
  me: IWhoAmI | null;
  refreshKey: number;
  onBack: () => void;
  /** Called after this view changed server state (a request was filed). */
  onChanged: () => void;
  onError: ErrorSink;
}

/** One asset: metadata, access, filters, schema and revisions. */
export function AssetView({
  name,
  me,
  refreshKey,
  onBack,
  onChanged,
  onError
}: IAssetProps): JSX.Element {
  const [asset, setAsset] = useState<IAssetDetail | null>(null);
  // null while loading, and for models (asset filters scope datasets and feature groups)
  const [filters, setFilters] = useState<IAssetFilter[] | null>(null);

  useEffect(() => {
    let current = true;
    MlgovAPI.getAsset(name)
      .then(a => {
        if (!current) {
          return;
        }
        setAsset(a);
        if (a.kind === 'model') {
          setFilters(null);
          return;
        }
        return MlgovAPI.listFilters(name).then(f => current && setFilters(f));
      })
      .catch(e => current && onError(e));
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
        <AssetBody
          asset={asset}
          me={me}
          filters={filters}
          canManage={isOwnerOrSteward(me, asset.project)}
          refreshKey={refreshKey}
          onChanged={onChanged}
          onError={onError}
        />
      )}
    </div>
  );
}

function AssetBody({
  asset,
  me,
  filters,
  canManage,
  refreshKey,
  onChanged,
  onError
}: {
  asset: IAssetDetail;
  me: IWhoAmI | null;
  filters: IAssetFilter[] | null;
  canManage: boolean;
  refreshKey: number;
  onChanged: () => void;
  onError: ErrorSink;
}): JSX.Element {
  const scope = asset.asset_filter
    ? filters?.find(f => f.name === asset.asset_filter) ?? null
    : null;
  return (
    <>
      <div className="jp-mlgov-assetTitle">
        <h3 className="jp-mlgov-assetName">{asset.name}</h3>
        <AccessBadge access={asset.access} />
        {asset.deprecated && <DeprecatedBadge mark={asset.deprecated} />}
      </div>
      <LifecycleNotice asset={asset} />
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
        <dd className="jp-mlgov-mono" title={asset.content_hash ?? undefined}>
          {asset.content_hash ?? '—'}
        </dd>
      </dl>
      {!asset.unpublished && (
        <AccessSection
          asset={asset}
          filters={filters ?? []}
          scope={scope}
          onChanged={onChanged}
          onError={onError}
        />
      )}
      <PresignedUrlsSection asset={asset} me={me} onError={onError} />
      {filters !== null && !asset.unpublished && (
        <FiltersSection
          asset={asset}
          filters={filters}
          canManage={canManage}
          onChanged={onChanged}
          onError={onError}
        />
      )}
      <Schema asset={asset} scopeColumns={scope?.columns ?? null} />
      {asset.kind === 'model' ? (
        // a model's revisions with approval status and aliases (versions.tsx)
        <VersionsSection
          name={asset.name}
          refreshKey={refreshKey}
          onChanged={onChanged}
          onError={onError}
        />
      ) : (
        <Revisions asset={asset} />
      )}
      <LifecycleSection
        asset={asset}
        me={me}
        canManage={canManage}
        onChanged={onChanged}
        onError={onError}
      />
    </>
  );
}

function AccessSection({
  asset,
  filters,
  scope,
  onChanged,
  onError
}: {
  asset: IAssetDetail;
  filters: IAssetFilter[];
  /** The filter the caller's grant is scoped to, when it is listed. */
  scope: IAssetFilter | null;
  onChanged: () => void;
  onError: ErrorSink;
}): JSX.Element {
  const [reason, setReason] = useState('');
  const [filter, setFilter] = useState('');
  const [busy, setBusy] = useState(false);
  // a filter deleted since it was picked falls back to the whole asset
  const picked = filters.some(f => f.name === filter) ? filter : '';
  let body: JSX.Element;
  switch (asset.access) {
    case 'owner':
    case 'steward':
    case 'member':
      body = (
        <p>
          You can use this asset as a member of project{' '}
          <b>{asset.project}</b>.
        </p>
      );
      break;
    case 'granted':
      body = asset.asset_filter ? (
        <>
          <p className="jp-mlgov-scoped">
            Access granted, scoped to <b>asset filter {asset.asset_filter}</b>:
            you receive only its columns and rows.
          </p>
          {scope && (
            <div className="jp-mlgov-hint">
              <FilterScope filter={scope} />
            </div>
          )}
          <p>Load it in a notebook with</p>
          <pre className="jp-mlgov-snippet">df = %mlgov use {asset.name}</pre>
        </>
      ) : (
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
              await MlgovAPI.requestAccess(
                asset.name,
                reason.trim(),
                picked || undefined
              );
              setReason('');
              setFilter('');
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
          {filters.length > 0 && (
            <FilterPicker
              id={`mlgov-scope-${asset.name}`}
              label="Scope (optional)"
              filters={filters}
              value={picked}
              wholeLabel="Whole asset"
              onChange={setFilter}
            />
          )}
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

function Schema({
  asset,
  scopeColumns
}: {
  asset: IAssetDetail;
  /** A scoped grantee's columns (null: no column scope): the others show as outside it. */
  scopeColumns: string[] | null;
}): JSX.Element | null {
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
            const outside = scopeColumns !== null && !scopeColumns.includes(col.name);
            return (
              <tr
                key={col.name}
                className={outside ? 'jp-mlgov-outside' : undefined}
                title={
                  outside
                    ? `Outside your grant (asset filter ${asset.asset_filter})`
                    : undefined
                }
              >
                <td>
                  {col.name}
                  {outside && <div className="jp-mlgov-stats">not in your grant</div>}
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
