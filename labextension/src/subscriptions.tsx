import React, { useEffect, useState } from 'react';

import { TimeAgo } from './components';
import { MlgovAPI } from './handler';
import { ErrorSink, ISubscription } from './tokens';

interface ISubscriptionsProps {
  /** true: subscribers to my projects' assets (revoke); false: mine (cancel). */
  incoming: boolean;
  refreshKey: number;
  onChanged: () => void;
  onError: ErrorSink;
}

/** Subscriptions with their grant state, and Revoke or Cancel while approved. */
export function SubscriptionsSection({
  incoming,
  refreshKey,
  onChanged,
  onError
}: ISubscriptionsProps): JSX.Element {
  const [subs, setSubs] = useState<ISubscription[] | null>(null);
  const [busy, setBusy] = useState(false);
  const title = incoming ? 'Subscribers' : 'My subscriptions';
  const action = incoming ? 'revoke' : 'cancel';

  useEffect(() => {
    let current = true;
    MlgovAPI.listSubscriptions(incoming).then(
      s => current && setSubs(s),
      e => current && onError(e)
    );
    return () => {
      current = false;
    };
  }, [incoming, refreshKey]);

  const end = async (sub: ISubscription) => {
    onError(null);
    setBusy(true);
    try {
      await MlgovAPI.endSubscription(sub.id, action);
      onChanged();
    } catch (error) {
      onError(error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="jp-mlgov-section" aria-label={title}>
      <h4>{title}</h4>
      {subs !== null && subs.length === 0 && (
        <p className="jp-mlgov-empty">No subscriptions.</p>
      )}
      <ul className="jp-mlgov-rows">
        {subs?.map(sub => (
          <li key={sub.id} className="jp-mlgov-row">
            <span className="jp-mlgov-rowMain">
              <span className="jp-mlgov-rowTitle">
                {incoming ? `${sub.subscriber} → ${sub.asset}` : sub.asset}
              </span>
              <span className="jp-mlgov-resultMeta">
                {sub.status}
                {sub.grant_status ? ` · grant ${sub.grant_status}` : ''}
                {sub.asset_filter ? ` · asset filter ${sub.asset_filter}` : ''}
                {sub.grant_status === 'active' && sub.grant_expires_at
                  ? ` until ${new Date(sub.grant_expires_at).toLocaleDateString()}`
                  : ''}{' '}
                ·{' '}
                <TimeAgo iso={sub.ended_at ?? sub.created_at} />
              </span>
            </span>
            {sub.status === 'approved' && (
              <button
                className="jp-mod-styled jp-mod-reject jp-mlgov-button jp-mlgov-small"
                disabled={busy}
                aria-label={`${incoming ? 'Revoke' : 'Cancel'} ${sub.asset} for ${sub.subscriber}`}
                onClick={() => end(sub)}
              >
                {incoming ? 'Revoke' : 'Cancel'}
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
