import React, { useEffect, useState } from 'react';

import { Badge, Chips, TimeAgo, Tone } from './components';
import { errorLine, requestAPI } from './handler';
import { ErrorSink } from './tokens';

/** A model's versions as `GET models/{name}/versions` returns them (service/model_versions.py). */
export interface IModelRevision {
  revision: number;
  created_by: string;
  created_at: string;
  content_hash: string | null;
  approval_status: 'PendingManualApproval' | 'Approved' | 'Rejected';
  decided_by: string | null;
  decided_at: string | null;
  comment: string | null;
  history: { status: string; comment: string; by: string; at: string }[];
  aliases: string[];
  cards: { card: string; version: number; status: string }[];
}

export interface IModelVersions {
  name: string;
  project: string;
  latest_revision: number;
  model_approval: 'off' | 'warn' | 'refuse';
  may_decide: boolean;
  revisions: IModelRevision[];
  aliases: { alias: string; revision: number; moved_by: string; moved_at: string }[];
  alias_history: {
    alias: string;
    from_revision: number | null;
    to_revision: number;
    moved_by: string;
    moved_at: string;
  }[];
}

const enc = encodeURIComponent;

function send<T>(method: string, endPoint: string, body: object): Promise<T> {
  return requestAPI<T>(endPoint, {
    method,
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' }
  });
}

/** The calls of this section, one per endpoint. */
export namespace ModelVersionsAPI {
  export function get(name: string): Promise<IModelVersions> {
    return requestAPI<IModelVersions>(`models/${enc(name)}/versions`);
  }

  export function decide(
    name: string,
    revision: number,
    approve: boolean,
    comment: string
  ): Promise<IModelVersions> {
    const verb = approve ? 'approve' : 'reject';
    return send('POST', `models/${enc(name)}/versions/${revision}/${verb}`, {
      comment
    });
  }

  export function setAlias(
    name: string,
    alias: string,
    revision: number
  ): Promise<IModelVersions> {
    return send('PUT', `models/${enc(name)}/aliases/${enc(alias)}`, {
      revision
    });
  }
}

const STATUS: Record<string, { label: string; tone: Tone }> = {
  PendingManualApproval: { label: 'pending approval', tone: 'warn' },
  Approved: { label: 'Approved', tone: 'ok' },
  Rejected: { label: 'Rejected', tone: 'error' }
};

/** A model revision's approval status (SageMaker's ModelApprovalStatus). */
export function ApprovalBadge({ status }: { status: string }): JSX.Element {
  const s = STATUS[status] ?? { label: status, tone: 'info' as Tone };
  return <Badge label={s.label} tone={s.tone} title={`ModelApprovalStatus: ${status}`} />;
}

/** The model asset page's "Versions" section: each revision with its approval status,
 * aliases and the cards describing it; owners and stewards approve or reject (with a comment)
 * and move aliases. */
export function VersionsSection({
  name,
  refreshKey,
  onChanged,
  onError
}: {
  name: string;
  refreshKey: number;
  onChanged: () => void;
  onError: ErrorSink;
}): JSX.Element {
  const [versions, setVersions] = useState<IModelVersions | null>(null);
  const [reviewing, setReviewing] = useState<number | null>(null);

  useEffect(() => {
    let current = true;
    ModelVersionsAPI.get(name)
      .then(v => current && setVersions(v))
      .catch(e => current && onError(e));
    return () => {
      current = false;
    };
  }, [name, refreshKey]);

  if (versions === null) {
    return (
      <section className="jp-mlgov-section" aria-label="Versions">
        <h4>Versions</h4>
        <p className="jp-mlgov-empty">Loading…</p>
      </section>
    );
  }
  const changed = (v: IModelVersions) => {
    setVersions(v);
    setReviewing(null);
    onChanged();
  };
  return (
    <section className="jp-mlgov-section" aria-label="Versions">
      <h4>Versions ({versions.revisions.length})</h4>
      <p className="jp-mlgov-hint jp-mlgov-wrap">
        Project {versions.project}: use of a revision that is not approved with an
        approved card is{' '}
        <b>
          {versions.model_approval === 'refuse'
            ? 'refused'
            : versions.model_approval === 'warn'
              ? 'warned about'
              : 'not checked'}
        </b>{' '}
        (model_approval={versions.model_approval}).
      </p>
      <ul className="jp-mlgov-rows">
        {versions.revisions.map(r => (
          <li
            key={r.revision}
            className="jp-mlgov-row jp-mlgov-version"
            aria-label={`Revision ${r.revision}`}
          >
            <span className="jp-mlgov-rowMain">
              <span className="jp-mlgov-inline">
                <span className="jp-mlgov-rowTitle">Revision {r.revision}</span>
                <ApprovalBadge status={r.approval_status} />
                {r.aliases.length > 0 && <Chips values={r.aliases.map(a => `@${a}`)} />}
              </span>
              <span className="jp-mlgov-hint">
                published by {r.created_by} <TimeAgo iso={r.created_at} />
              </span>
              {r.decided_by && (
                <span className="jp-mlgov-hint jp-mlgov-wrap">
                  {r.approval_status} by {r.decided_by}{' '}
                  {r.decided_at && <TimeAgo iso={r.decided_at} />}
                  {r.comment ? `: “${r.comment}”` : ''}
                </span>
              )}
              <span className="jp-mlgov-hint jp-mlgov-wrap">
                {r.cards.length === 0
                  ? 'No card describes this revision.'
                  : 'Card ' +
                    r.cards
                      .map(c => `${c.card} v${c.version} (${c.status})`)
                      .join(', ')}
              </span>
              {versions.may_decide && reviewing !== r.revision && (
                <button
                  className="jp-mlgov-linkButton"
                  aria-label={`Review revision ${r.revision}`}
                  title="Approve or reject this revision with a comment"
                  onClick={() => setReviewing(r.revision)}
                >
                  Approve or reject…
                </button>
              )}
              {reviewing === r.revision && (
                <DecideForm
                  name={versions.name}
                  revision={r}
                  onDone={changed}
                  onCancel={() => setReviewing(null)}
                />
              )}
            </span>
          </li>
        ))}
      </ul>
      {versions.may_decide && <AliasForm versions={versions} onDone={changed} />}
      {versions.alias_history.length > 0 && (
        <details className="jp-mlgov-aliasHistory">
          <summary>Alias moves ({versions.alias_history.length})</summary>
          <ul className="jp-mlgov-plainList">
            {versions.alias_history.map((m, i) => (
              <li key={i} className="jp-mlgov-hint">
                @{m.alias}: {m.from_revision ?? '—'} → {m.to_revision} by {m.moved_by}{' '}
                <TimeAgo iso={m.moved_at} />
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

function DecideForm({
  name,
  revision,
  onDone,
  onCancel
}: {
  name: string;
  revision: IModelRevision;
  onDone: (v: IModelVersions) => void;
  onCancel: () => void;
}): JSX.Element {
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const decide = async (approve: boolean) => {
    setError(null);
    setBusy(true);
    try {
      onDone(await ModelVersionsAPI.decide(name, revision.revision, approve, comment.trim()));
    } catch (e) {
      setError(errorLine(e));
    } finally {
      setBusy(false);
    }
  };
  const id = `mlgov-decide-${name}-${revision.revision}`;
  return (
    <div className="jp-mlgov-form" role="group" aria-label={`Decide revision ${revision.revision}`}>
      <label htmlFor={id}>Comment (why)</label>
      <textarea
        id={id}
        className="jp-mod-styled jp-mlgov-input"
        rows={2}
        value={comment}
        onChange={e => setComment(e.target.value)}
      />
      <div className="jp-mlgov-actions">
        <button
          className="jp-mod-styled jp-mod-accept"
          disabled={busy || comment.trim() === ''}
          onClick={() => decide(true)}
        >
          Approve
        </button>
        <button
          className="jp-mod-styled jp-mod-warn"
          disabled={busy || comment.trim() === ''}
          onClick={() => decide(false)}
        >
          Reject
        </button>
        <button className="jp-mlgov-linkButton" disabled={busy} onClick={onCancel}>
          Cancel
        </button>
      </div>
      {error !== null && (
        <div className="jp-mlgov-inlineError jp-mlgov-wrap" role="status">
          {error}
        </div>
      )}
    </div>
  );
}

function AliasForm({
  versions,
  onDone
}: {
  versions: IModelVersions;
  onDone: (v: IModelVersions) => void;
}): JSX.Element {
  const [alias, setAlias] = useState('champion');
  const [revision, setRevision] = useState(versions.latest_revision);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    setError(null);
    setBusy(true);
    try {
      onDone(await ModelVersionsAPI.setAlias(versions.name, alias.trim(), revision));
    } catch (e) {
      setError(errorLine(e));
    } finally {
      setBusy(false);
    }
  };
  const id = `mlgov-alias-${versions.name}`;
  return (
    <form
      className="jp-mlgov-form jp-mlgov-aliasForm"
      aria-label="Set alias"
      onSubmit={e => {
        e.preventDefault();
        void submit();
      }}
    >
      <label htmlFor={id}>Set alias</label>
      <div className="jp-mlgov-inline">
        <input
          id={id}
          className="jp-mod-styled jp-mlgov-input jp-mlgov-aliasName"
          placeholder="champion"
          value={alias}
          onChange={e => setAlias(e.target.value)}
        />
        <select
          className="jp-mlgov-select"
          aria-label="Revision"
          value={revision}
          onChange={e => setRevision(Number(e.target.value))}
        >
          {versions.revisions.map(r => (
            <option key={r.revision} value={r.revision}>
              revision {r.revision}
            </option>
          ))}
        </select>
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept"
          disabled={busy || alias.trim() === ''}
        >
          Set
        </button>
      </div>
      {error !== null && (
        <div className="jp-mlgov-inlineError jp-mlgov-wrap" role="status">
          {error}
        </div>
      )}
    </form>
  );
}
