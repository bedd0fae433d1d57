import React, { useEffect, useState } from 'react';

import { StatusBadge, TimeAgo } from './components';
import { MlgovAPI } from './handler';
import { SubscriptionsSection } from './subscriptions';
import { ErrorSink, IAccessRequest, IWhoAmI, RequestStatus, canDecide } from './tokens';

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

  useEffect(() => {
    if (me === null) {
      return;
    }
    let current = true;
    const load = async () => {
      const own = await MlgovAPI.listRequests(false);
      if (!decider) {
        return { own, inc: null, pendingCount: 0 };
      }
      const inc = await MlgovAPI.listRequests(
        true,
        filter === 'all' ? undefined : filter
      );
      const pendingCount =
        filter === 'pending'
          ? inc.length
          : (await MlgovAPI.listRequests(true, 'pending')).length;
      return { own, inc, pendingCount };
    };
    load().then(
      ({ own, inc, pendingCount }) => {
        if (current) {
          setMine(own);
          setIncoming(inc);
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
      {request.decision_comment && (
        <div className="jp-mlgov-comment">“{request.decision_comment}”</div>
      )}
    </div>
  );
}

function IncomingRequest({
  request,
  onChanged,
  onError
}: {
  request: IAccessRequest;
  onChanged: () => void;
  onError: ErrorSink;
}): JSX.Element {
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);

  const decide = async (decision: 'approve' | 'reject') => {
    onError(null);
    setBusy(true);
    try {
      await MlgovAPI.decide(request.id, decision, comment.trim());
      onChanged();
    } catch (error) {
      onError(error);
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
      {request.status === 'pending' ? (
        <div className="jp-mlgov-form">
          <input
            className="jp-mod-styled jp-mlgov-input"
            placeholder="Comment (optional)"
            aria-label={`Comment on request ${request.id}`}
            value={comment}
            onChange={e => setComment(e.target.value)}
          />
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
