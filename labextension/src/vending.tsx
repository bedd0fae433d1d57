import React, { useState } from 'react';

import { MlgovAPI } from './handler';
import { ErrorSink, IAssetDetail, IPresignedUrls, IWhoAmI } from './tokens';

/** Whether the caller may be vended URLs to the whole asset (the server decides again). */
function mayVend(asset: IAssetDetail, me: IWhoAmI | null): boolean {
  if (!me?.presigned_urls || asset.kind === 'model' || asset.unpublished) {
    return false;
  }
  return (
    ['owner', 'steward', 'member'].includes(asset.access) ||
    (asset.access === 'granted' && !asset.asset_filter)
  );
}

function size(bytes: number | null): string {
  if (bytes === null) {
    return '';
  }
  return bytes < 1 << 20
    ? `${(bytes / 1024).toFixed(1)} KiB`
    : `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

function expiresIn(seconds: number): string {
  return seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}

/**
 * Presigned URLs (credential vending): short-lived links to a dataset's files that Spark, DuckDB
 * or any HTTP client reads without a credential. Shown only where the server vends them and the
 * caller may read the whole dataset; each click is one audited vending (asset.vend).
 */
export function PresignedUrlsSection({
  asset,
  me,
  onError
}: {
  asset: IAssetDetail;
  me: IWhoAmI | null;
  onError: ErrorSink;
}): JSX.Element | null {
  const [vended, setVended] = useState<IPresignedUrls | null>(null);
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState<number | null>(null);
  if (!mayVend(asset, me)) {
    return null;
  }
  const ask = async () => {
    onError(null);
    setBusy(true);
    try {
      setVended(await MlgovAPI.presignedUrls(asset.name));
      setCopied(null);
    } catch (error) {
      onError(error);
    } finally {
      setBusy(false);
    }
  };
  const copy = async (i: number, url: string) => {
    try {
      await navigator.clipboard.writeText(url);
      setCopied(i);
    } catch (error) {
      onError(error);
    }
  };
  return (
    <section className="jp-mlgov-section" aria-label="Presigned URLs">
      <h4>Presigned URLs</h4>
      <p className="jp-mlgov-hint">
        Short-lived links to this dataset's files for Spark, DuckDB or{' '}
        <code>pd.read_parquet(url)</code>. Whoever holds a link reads the file
        until it expires; each request is audited.
      </p>
      <button
        className="jp-mod-styled jp-mlgov-button"
        disabled={busy}
        onClick={ask}
      >
        {vended ? 'New URLs' : 'Get URLs'}
      </button>
      {vended && (
        <>
          <p className="jp-mlgov-hint">
            Revision {vended.revision}, {vended.format}, expires in{' '}
            {expiresIn(vended.expires_in)}, at{' '}
            <time dateTime={vended.expires_at}>
              {new Date(vended.expires_at).toLocaleTimeString()}
            </time>
            .
          </p>
          <ul className="jp-mlgov-urls">
            {vended.files.map((f, i) => (
              <li key={f.url}>
                <span className="jp-mlgov-mono" title={f.url}>
                  {f.path ?? `${vended.name}.${vended.format}`}
                </span>{' '}
                <span className="jp-mlgov-hint">{size(f.size_bytes)}</span>{' '}
                <button
                  className="jp-mlgov-linkButton"
                  onClick={() => copy(i, f.url)}
                >
                  {copied === i ? 'Copied' : 'Copy URL'}
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
