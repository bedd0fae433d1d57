import { Time } from '@jupyterlab/coreutils';
import React from 'react';

import { Access, RequestStatus } from './tokens';

const ACCESS_LABEL: Record<Access, string> = {
  owner: 'owner',
  steward: 'steward',
  member: 'member',
  granted: 'granted',
  pending: 'pending',
  none: 'no access'
};

/** The caller's access to an asset, as a small coloured label. */
export function AccessBadge({ access }: { access: Access }): JSX.Element {
  return (
    <span
      className={`jp-mlgov-badge jp-mlgov-access-${access}`}
      title={`Your access: ${ACCESS_LABEL[access]}`}
    >
      {ACCESS_LABEL[access]}
    </span>
  );
}

/** A request's state as a small coloured label. */
export function StatusBadge({
  status
}: {
  status: RequestStatus;
}): JSX.Element {
  return (
    <span className={`jp-mlgov-badge jp-mlgov-status-${status}`}>
      {status}
    </span>
  );
}

/** "3 minutes ago", with the full date on hover. */
export function TimeAgo({ iso }: { iso: string | null }): JSX.Element {
  if (!iso) {
    return <span>—</span>;
  }
  return (
    <time dateTime={iso} title={Time.format(iso)}>
      {Time.formatHuman(iso)}
    </time>
  );
}

/** A list of tags or terms as chips; nothing when empty. */
export function Chips({
  values,
  className = ''
}: {
  values: string[];
  className?: string;
}): JSX.Element | null {
  if (values.length === 0) {
    return null;
  }
  return (
    <span className={`jp-mlgov-chips ${className}`}>
      {values.map(v => (
        <span key={v} className="jp-mlgov-chip">
          {v}
        </span>
      ))}
    </span>
  );
}

export const KIND_LABEL: Record<string, string> = {
  dataset: 'dataset',
  model: 'model',
  feature_group: 'feature group'
};

export type Tone = 'ok' | 'warn' | 'error' | 'info' | 'muted';

/** A small coloured label (theme colours only). */
export function Badge({
  label,
  tone,
  title
}: {
  label: string;
  tone: Tone;
  title?: string;
}): JSX.Element {
  return (
    <span className={`jp-mlgov-badge jp-mlgov-tone-${tone}`} title={title}>
      {label}
    </span>
  );
}

const CARD_TONE: Record<string, Tone> = {
  Draft: 'muted',
  PendingReview: 'warn',
  Approved: 'ok',
  Archived: 'muted'
};

/** A model card's status: Draft, PendingReview, Approved or Archived. */
export function CardStatusBadge({
  status
}: {
  status: string | null;
}): JSX.Element {
  if (!status) {
    return <Badge label="no card" tone="muted" />;
  }
  return (
    <Badge
      label={status === 'PendingReview' ? 'pending review' : status}
      tone={CARD_TONE[status] ?? 'info'}
      title={`Card status: ${status}`}
    />
  );
}
