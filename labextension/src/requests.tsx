import React, { useEffect, useState } from 'react';

import { StatusBadge, TimeAgo } from './components';
import { FilterPicker, FilterScope } from './filters';
import { MlgovAPI, errorLine } from './handler';
import { SubscriptionsSection } from './subscriptions';
import {
  ErrorSink,
  IAccessRequest,
  IAssetFilter,
  IWhoAmI,
  RequestStatus,
  canDecide
} from './tokens';

interface IRequestsProps {
  me: IWhoAmI | null;
  refreshKey: number;
  onChanged: () => void;
  onPendingCount: (count: number) => void;
  onError: ErrorSink;
}

type StatusFilter = RequestStatus | 'all';

/** Incoming requests (for owners and stewards) and the user's own requests. */
export function RequestsView({
  me,
  refreshKey,
  onChanged,
  onPendingCount,
  onError
}: IRequestsProps): JSX.Element {
  const decider = canDecide(me);
  const [filter, setFilter] = useState<StatusFilter>('pending');
  const [incoming, setIncoming] = useState<IAccessRequest[] | null>(null);
  const [mine, setMine] = useState<IAccessRequest[] | null>(null);
  // the asset filters of the assets of pending incoming requests, to narrow a grant to
  const [filters, setFilters] = useState<{ [asset: string]: IAssetFilter[] }>({});

  useEffect(() => {
    if (me === null) {
      return;
    }
    let current = true;
    const load = async () => {
      const own = await MlgovAPI.listRequests(false);
      if (!decider) {
        return { own, inc: null, pendingCount: 0, byAsset: {} };
      }
      const inc = await MlgovAPI.listRequests(
        true,
        filter === 'all' ? undefined : filter
      );
      const pendingCount =
        filter === 'pending'
          ? inc.length
          : (await MlgovAPI.listRequests(true, 'pending')).length;
      const assets = [
        ...new Set(inc.filter(r => r.status === 'pending').map(r => r.asset))
      ];
      const lists = await Promise.all(
        assets.map(a =>
          MlgovAPI.listFilters(a).catch(e => {
            // the request can still be decided as asked; say why there is no picker
            if (current) {
              onError(e);
            }
            return [] as IAssetFilter[];
          })
        )
      );
      const byAsset: { [asset: string]: IAssetFilter[] } = {};
      assets.forEach((a, i) => (byAsset[a] = lists[i]));
      return { own, inc, pendingCount, byAsset };
    };
    load().then(
      ({ own, inc, pendingCount, byAsset }) => {
        if (current) {
          setMine(own);
          setIncoming(inc);
          setFilters(byAsset);
          onPendingCount(pendingCount);
        }
      },
      e => current && onError(e)
    );
    return () => {
      current = false;
    };
  }, [me === null, decider, filter, refreshKey]);

  return (
    <div className="jp-mlgov-requests">
      {decider && (
        <section className="jp-mlgov-section" aria-label="Incoming requests">
          <div className="jp-mlgov-sectionHeader">
            <h4>Incoming requests</h4>
            <select
              className="jp-mlgov-select"
              aria-label="Show requests"
              value={filter}
              onChange={e => setFilter(e.target.value as StatusFilter)}
            >
              <option value="pending">pending</option>
              <option value="accepted">accepted</option>
              <option value="rejected">rejected</option>
              <option value="all">all</option>
            </select>
          </div>
          {incoming !== null && incoming.length === 0 && (
            <p className="jp-mlgov-empty">No {filter === 'all' ? '' : filter} requests.</p>
          )}
          <ul className="jp-mlgov-cards">
            {incoming?.map(r => (
              <IncomingRequest
                key={r.id}
                request={r}
                filters={filters[r.asset] ?? []}
                onChanged={onChanged}
                onError={onError}
              />
            ))}
          </ul>
        </section>
      )}
      {decider && (
        <SubscriptionsSection
          incoming={true}
          refreshKey={refreshKey}
          onChanged={onChanged}
          onError={onError}
        />
      )}
      <section className="jp-mlgov-section" aria-label="My requests">
        <h4>My requests</h4>
        {mine !== null && mine.length === 0 && (
          <p className="jp-mlgov-empty">
            You have not requested access to anything yet.
          </p>
        )}
        <ul className="jp-mlgov-cards">
          {mine?.map(r => (
            <li key={r.id} className="jp-mlgov-card">
              <div className="jp-mlgov-cardTop">
                <span className="jp-mlgov-resultName">{r.asset}</span>
                <StatusBadge status={r.status} />
              </div>
              <div className="jp-mlgov-resultMeta">
                {r.project} · <TimeAgo iso={r.created_at} />
                {r.asset_filter ? ` · asks for asset filter ${r.asset_filter}` : ''}
              </div>
              <blockquote className="jp-mlgov-reason">{r.reason}</blockquote>
              <Decision request={r} />
            </li>
          ))}
        </ul>
      </section>
      <SubscriptionsSection
        incoming={false}
        refreshKey={refreshKey}
        onChanged={onChanged}
        onError={onError}
      />
    </div>
  );
}

function Decision({ request }: { request: IAccessRequest }): JSX.Element | null {
  if (request.status === 'pending') {
    return null;
  }
  return (
    <div className="jp-mlgov-decision">
      <div>
        {request.status} by {request.decided_by ?? '?'} ·{' '}
        <TimeAgo iso={request.decided_at} />
      </div>
      {request.status === 'accepted' && request.granted_filter && (
        <div className="jp-mlgov-grantScope">
          granted asset filter <b>{request.granted_filter}</b>
          {request.asset_filter && request.asset_filter !== request.granted_filter
            ? ` (narrowed from ${request.asset_filter})`
            : !request.asset_filter
              ? ' (narrowed from the whole asset)'
              : ''}
        </div>
      )}
      {request.decision_comment && (
        <div className="jp-mlgov-comment">“{request.decision_comment}”</div>
      )}
    </div>
  );
}

function IncomingRequest({
  request,
  filters,
  onChanged,
  onError
}: {
  request: IAccessRequest;
  /** The asset's filters (empty: none, or a model). */
  filters: IAssetFilter[];
  onChanged: () => void;
  onError: ErrorSink;
}): JSX.Element {
  const [comment, setComment] = useState('');
  const [grant, setGrant] = useState('');
  const [busy, setBusy] = useState(false);
  // a refused decision: the server's line, in this request's card (it names the filters)
  const [refusal, setRefusal] = useState<string | null>(null);
  const asked = request.asset_filter ?? null;
  const askedFilter = asked ? filters.find(f => f.name === asked) : undefined;
  const picked = filters.some(f => f.name === grant) ? grant : '';

  const decide = async (decision: 'approve' | 'reject') => {
    onError(null);
    setRefusal(null);
    setBusy(true);
    try {
      await MlgovAPI.decide(
        request.id,
        decision,
        comment.trim(),
        picked || undefined
      );
      onChanged();
    } catch (error) {
      setRefusal(errorLine(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <li className="jp-mlgov-card" aria-label={`Request ${request.id}`}>
      <div className="jp-mlgov-cardTop">
        <span className="jp-mlgov-resultName">
          {request.requester} → {request.asset}
        </span>
        <StatusBadge status={request.status} />
      </div>
      <div className="jp-mlgov-resultMeta">
        {request.project} · <TimeAgo iso={request.created_at} />
      </div>
      <blockquote className="jp-mlgov-reason">{request.reason}</blockquote>
      {asked ? (
        <div className="jp-mlgov-asked">
          <div>
            Asks for <b>asset filter {asked}</b>
          </div>
          {askedFilter && (
            <div className="jp-mlgov-hint">
              <FilterScope filter={askedFilter} />
            </div>
          )}
        </div>
      ) : (
        filters.length > 0 && (
          <div className="jp-mlgov-asked">Asks for the whole asset</div>
        )
      )}
      {request.status === 'pending' ? (
        <div className="jp-mlgov-form">
          {filters.length > 0 && (
            <FilterPicker
              id={`mlgov-grant-${request.id}`}
              label="Grant"
              filters={filters}
              value={picked}
              wholeLabel={
                asked ? `as asked: asset filter ${asked}` : 'the whole asset, as asked'
              }
              exclude={asked}
              onChange={value => {
                setGrant(value);
                setRefusal(null);
              }}
            />
          )}
          <input
            className="jp-mod-styled jp-mlgov-input"
            placeholder="Comment (optional)"
            aria-label={`Comment on request ${request.id}`}
            value={comment}
            onChange={e => setComment(e.target.value)}
          />
          {refusal !== null && (
            <div className="jp-mlgov-inlineError jp-mlgov-wrap" role="status">
              {refusal}
            </div>
          )}
          <div className="jp-mlgov-actions">
            <button
              className="jp-mod-styled jp-mod-accept jp-mlgov-button"
              disabled={busy}
              onClick={() => decide('approve')}
            >
              Approve
            </button>
            <button
              className="jp-mod-styled jp-mod-warn jp-mlgov-button"
              disabled={busy}
              onClick={() => decide('reject')}
            >
              Reject
            </button>
          </div>
        </div>
      ) : (
        <Decision request={request} />
      )}
    </li>
  );
}
