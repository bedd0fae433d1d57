import React, { useState } from 'react';

import { MlgovAPI } from './handler';
import { ErrorSink, IAssetDetail, ILifecycleMark, IWhoAmI } from './tokens';

/** "Deprecated" as a small label; the reason and replacement on hover. */
export function DeprecatedBadge({
  mark
}: {
  mark: ILifecycleMark;
}): JSX.Element {
  const instead = mark.replacement ? ` Use ${mark.replacement} instead.` : '';
  return (
    <span
      className="jp-mlgov-badge jp-mlgov-deprecated"
      title={`Deprecated by ${mark.by}: ${mark.reason}.${instead}`}
    >
      Deprecated
    </span>
  );
}

function day(iso: string): string {
  return iso.slice(0, 10);
}

/** What the asset page says about a deprecation or an unpublishing. */
export function LifecycleNotice({
  asset
}: {
  asset: IAssetDetail;
}): JSX.Element | null {
  if (asset.unpublished) {
    const u = asset.unpublished;
    return (
      <p className="jp-mlgov-lifecycleNotice jp-mlgov-unpublishedNotice" role="note">
        Unpublished by <b>{u.by}</b> on {day(u.at)}: {u.reason}. Kept for its
        audit trail; nobody can use it.
      </p>
    );
  }
  if (asset.deprecated) {
    const d = asset.deprecated;
    return (
      <p className="jp-mlgov-lifecycleNotice" role="note">
        Deprecated by <b>{d.by}</b> on {day(d.at)}: {d.reason}.
        {d.replacement && (
          <>
            {' '}
            Use <b>{d.replacement}</b> instead.
          </>
        )}
      </p>
    );
  }
  return null;
}

function isOwner(me: IWhoAmI | null, project: string): boolean {
  return (
    !!me &&
    (me.is_admin ||
      me.projects.some(p => p.name === project && p.designation === 'owner'))
  );
}

type Step = 'idle' | 'deprecate' | 'unpublish';

/** Deprecate (owners, stewards) and unpublish (owners), each after a confirmation. */
export function LifecycleSection({
  asset,
  me,
  canManage,
  onChanged,
  onError
}: {
  asset: IAssetDetail;
  me: IWhoAmI | null;
  canManage: boolean;
  onChanged: () => void;
  onError: ErrorSink;
}): JSX.Element | null {
  const [step, setStep] = useState<Step>('idle');
  const [reason, setReason] = useState('');
  const [replacement, setReplacement] = useState('');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState('');
  if (!canManage || asset.unpublished) {
    return null;
  }
  const owner = isOwner(me, asset.project);
  const run = async (call: () => Promise<unknown>, said: string) => {
    onError(null);
    setBusy(true);
    try {
      await call();
      setStep('idle');
      setReason('');
      setReplacement('');
      setDone(said);
      onChanged();
    } catch (error) {
      onError(error);
    } finally {
      setBusy(false);
    }
  };
  const cancel = (
    <button
      type="button"
      className="jp-mod-styled jp-mlgov-button"
      onClick={() => setStep('idle')}
    >
      Cancel
    </button>
  );
  return (
    <section className="jp-mlgov-section" aria-label="Lifecycle">
      <h4>Lifecycle</h4>
      {step === 'idle' && (
        <div className="jp-mlgov-lifecycleActions">
          {asset.deprecated ? (
            <button
              className="jp-mod-styled jp-mlgov-button"
              disabled={busy}
              onClick={() =>
                run(
                  () => MlgovAPI.undeprecateAsset(asset.name),
                  'Deprecation lifted.'
                )
              }
            >
              Lift deprecation
            </button>
          ) : (
            <button
              className="jp-mod-styled jp-mlgov-button"
              onClick={() => {
                setDone('');
                setStep('deprecate');
              }}
            >
              Deprecate…
            </button>
          )}
          {owner && (
            <button
              className="jp-mod-styled jp-mod-warn jp-mlgov-button"
              onClick={() => {
                setDone('');
                setStep('unpublish');
              }}
            >
              Unpublish…
            </button>
          )}
        </div>
      )}
      {step !== 'idle' && (
        <form
          className="jp-mlgov-form"
          aria-label={step === 'deprecate' ? 'Deprecate' : 'Unpublish'}
          onSubmit={e => {
            e.preventDefault();
            if (step === 'deprecate') {
              run(
                () =>
                  MlgovAPI.deprecateAsset(
                    asset.name,
                    reason.trim(),
                    replacement.trim() || undefined
                  ),
                `${asset.name} is deprecated.`
              );
            } else {
              run(
                () => MlgovAPI.unpublishAsset(asset.name, reason.trim()),
                `${asset.name} is unpublished.`
              );
            }
          }}
        >
          {step === 'unpublish' && (
            <p className="jp-mlgov-lifecycleWarn">
              Unpublishing ends every grant on {asset.name}, closes its pending
              requests and deletes its stored content (unless another asset
              shares it). Its name and audit trail stay. This cannot be undone.
            </p>
          )}
          <label htmlFor={`mlgov-lifecycle-reason-${asset.name}`}>Reason</label>
          <input
            id={`mlgov-lifecycle-reason-${asset.name}`}
            className="jp-mod-styled jp-mlgov-input"
            value={reason}
            placeholder={
              step === 'deprecate' ? 'e.g. labels fixed in churn-v2' : 'why'
            }
            onChange={e => setReason(e.target.value)}
          />
          {step === 'deprecate' && (
            <>
              <label htmlFor={`mlgov-lifecycle-repl-${asset.name}`}>
                Replacement (optional)
              </label>
              <input
                id={`mlgov-lifecycle-repl-${asset.name}`}
                className="jp-mod-styled jp-mlgov-input"
                value={replacement}
                placeholder="asset name"
                onChange={e => setReplacement(e.target.value)}
              />
            </>
          )}
          <div className="jp-mlgov-lifecycleActions">
            <button
              type="submit"
              className={`jp-mod-styled ${
                step === 'unpublish' ? 'jp-mod-warn' : 'jp-mod-accept'
              } jp-mlgov-button`}
              disabled={busy || reason.trim().length === 0}
            >
              {step === 'deprecate' ? 'Deprecate' : 'Unpublish for good'}
            </button>
            {cancel}
          </div>
        </form>
      )}
      {done && <p className="jp-mlgov-hint">{done}</p>}
    </section>
  );
}
