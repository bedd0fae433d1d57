import React, { useEffect, useState } from 'react';

import { CardFilters, NO_CARD_FILTER } from './card_filters';
import { Badge, CardStatusBadge, Chips, TimeAgo } from './components';
import { MlgovAPI, saveDownload } from './handler';
import {
  CardAction,
  ErrorSink,
  ExportFormat,
  ICard,
  ICardChange,
  ICardSummary,
  IWhoAmI,
  cardActions
} from './tokens';

interface ICardsProps {
  me: IWhoAmI | null;
  refreshKey: number;
  onChanged: () => void;
  onError: ErrorSink;
}

/** The model cards: a list, and one card rendered with its charts. */
export function CardsView({
  me,
  refreshKey,
  onChanged,
  onError
}: ICardsProps): JSX.Element {
  const [cards, setCards] = useState<ICardSummary[] | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [filter, setFilter] = useState(NO_CARD_FILTER);
  const filtered = !!(filter.text.trim() || filter.status || filter.risk);

  useEffect(() => {
    let current = true;
    MlgovAPI.listCards(filter).then(
      c => current && setCards(c),
      e => current && onError(e)
    );
    return () => {
      current = false;
    };
  }, [refreshKey, filter]);

  return (
    <div className="jp-mlgov-cardsView">
      <div hidden={open !== null}>
        <CardFilters value={filter} onChange={setFilter} />
        <div className="jp-mlgov-resultsHeader" aria-live="polite">
          {cards === null
            ? 'Loading…'
            : `${cards.length} ${cards.length === 1 ? 'model card' : 'model cards'}`}
        </div>
        <ul className="jp-mlgov-results" aria-label="Model cards">
          {cards?.map(card => (
            <li key={card.name}>
              <button
                className="jp-mlgov-result"
                title={`Open the card ${card.name}`}
                onClick={() => {
                  onError(null);
                  setOpen(card.name);
                }}
              >
                <span className="jp-mlgov-resultTop">
                  <span className="jp-mlgov-resultName">{card.name}</span>
                  <CardStatusBadge status={card.status} />
                </span>
                <span className="jp-mlgov-resultMeta">
                  model {card.model} · {card.project} · risk {card.risk_rating}
                </span>
                <span className="jp-mlgov-resultMeta">
                  v{card.version}
                  {card.approved_version !== null &&
                    card.approved_version !== card.version &&
                    ` (approved v${card.approved_version})`}{' '}
                  · {card.author} · <TimeAgo iso={card.updated_at} />
                </span>
              </button>
            </li>
          ))}
        </ul>
        {cards !== null && cards.length === 0 && filtered && (
          <p className="jp-mlgov-empty">No model cards match these filters.</p>
        )}
        {cards !== null && cards.length === 0 && !filtered && (
          <p className="jp-mlgov-empty">
            No model cards yet. Create one from a notebook with{' '}
            <code>%mlgov card new model --name NAME</code>.
          </p>
        )}
      </div>
      {open !== null && (
        <CardDetail
          name={open}
          me={me}
          refreshKey={refreshKey}
          onBack={() => setOpen(null)}
          onChanged={onChanged}
          onError={onError}
        />
      )}
    </div>
  );
}

interface ICardDetailProps {
  name: string;
  me: IWhoAmI | null;
  refreshKey: number;
  onBack: () => void;
  onChanged: () => void;
  onError: ErrorSink;
}

function CardDetail({
  name,
  me,
  refreshKey,
  onBack,
  onChanged,
  onError
}: ICardDetailProps): JSX.Element {
  const [card, setCard] = useState<ICard | null>(null);
  const [version, setVersion] = useState<number | null>(null);

  useEffect(() => {
    let current = true;
    MlgovAPI.getCard(name).then(
      c => {
        if (current) {
          setCard(c);
          setVersion(v => (v !== null && v <= c.latest_version ? v : c.version));
        }
      },
      e => current && onError(e)
    );
    return () => {
      current = false;
    };
  }, [name, refreshKey]);

  return (
    <div className="jp-mlgov-asset">
      <button className="jp-mlgov-linkButton jp-mlgov-back" onClick={onBack}>
        ‹ Back to cards
      </button>
      {card === null || version === null ? (
        <p className="jp-mlgov-empty">Loading {name}…</p>
      ) : (
        <>
          <div className="jp-mlgov-assetTitle">
            <h3 className="jp-mlgov-assetName">{card.name}</h3>
            <CardStatusBadge status={card.status} />
          </div>
          <CardMeta card={card} />
          <Review
            card={card}
            me={me}
            onChanged={onChanged}
            onError={onError}
          />
          <section className="jp-mlgov-section" aria-label="Rendered card">
            <div className="jp-mlgov-sectionHeader">
              <h4>Card</h4>
              <select
                className="jp-mlgov-select"
                aria-label="Version"
                value={version}
                onChange={e => setVersion(Number(e.target.value))}
              >
                {[...card.versions].reverse().map(v => (
                  <option key={v.version} value={v.version}>
                    v{v.version} · {v.status} · {v.created_by}
                  </option>
                ))}
              </select>
            </div>
            <Exports name={card.name} version={version} onError={onError} />
            <RenderedCard
              name={card.name}
              version={version}
              stamp={`${card.latest_version}:${card.status}:${refreshKey}`}
              onError={onError}
            />
          </section>
          {card.versions.length > 1 && (
            <Diff card={card} onError={onError} />
          )}
        </>
      )}
    </div>
  );
}

function CardMeta({ card }: { card: ICard }): JSX.Element {
  const lineage = [...card.lineage.training, ...card.lineage.evaluation];
  const reviewer = card.versions.find(v => v.version === card.version)
    ?.reviewed_by;
  return (
    <dl className="jp-mlgov-meta">
      <dt>Model</dt>
      <dd>{card.model}</dd>
      <dt>Project</dt>
      <dd>{card.project}</dd>
      <dt>Risk rating</dt>
      <dd>{card.risk_rating}</dd>
      <dt>Version</dt>
      <dd>
        v{card.version}
        {card.approved_version !== null &&
          card.approved_version !== card.version &&
          ` · approved v${card.approved_version}`}
      </dd>
      <dt>Written by</dt>
      <dd>
        {card.created_by} · <TimeAgo iso={card.created_at} />
      </dd>
      {card.submitted_by && (
        <>
          <dt>Submitted by</dt>
          <dd>{card.submitted_by}</dd>
        </>
      )}
      {card.approved_by && (
        <>
          <dt>Approved by</dt>
          <dd>
            {card.approved_by} · <TimeAgo iso={card.approved_at} />
          </dd>
        </>
      )}
      {card.review_comment && (
        <>
          <dt>Review</dt>
          <dd className="jp-mlgov-wrap">
            “{card.review_comment}”
            {reviewer && ` · ${reviewer}`}
          </dd>
        </>
      )}
      {lineage.length > 0 && (
        <>
          <dt>Lineage</dt>
          <dd>
            <Chips values={lineage} />
          </dd>
        </>
      )}
    </dl>
  );
}

const ACTION_LABEL: Record<CardAction, string> = {
  submit: 'Submit for review',
  approve: 'Approve',
  send_back: 'Send back',
  archive: 'Archive'
};

/** The workflow buttons the rules allow this user; the server decides (403 one-liners). */
function Review({
  card,
  me,
  onChanged,
  onError
}: {
  card: ICard;
  me: IWhoAmI | null;
  onChanged: () => void;
  onError: ErrorSink;
}): JSX.Element | null {
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const actions = cardActions(me, card);
  if (actions.length === 0) {
    return null;
  }
  const reviewing = actions.includes('approve');

  const run = async (action: CardAction) => {
    onError(null);
    setBusy(true);
    try {
      await MlgovAPI.transitionCard(card.name, action, comment.trim());
      setComment('');
      onChanged();
    } catch (error) {
      onError(error);
      onChanged(); // the card may have moved on: show where it is now
    } finally {
      setBusy(false);
    }
  };

  const button = (action: CardAction, tone: string, disabled = false) => (
    <button
      key={action}
      className={`jp-mod-styled ${tone} jp-mlgov-button`}
      disabled={busy || disabled}
      onClick={() => run(action)}
    >
      {ACTION_LABEL[action]}
    </button>
  );

  return (
    <section className="jp-mlgov-section" aria-label="Review">
      <h4>{reviewing ? 'Review' : 'Workflow'}</h4>
      {reviewing && (
        <p>
          Version {card.version} by {card.created_by} waits for your review.
        </p>
      )}
      <div className="jp-mlgov-form">
        {(reviewing || actions.includes('archive')) && (
          <input
            className="jp-mod-styled jp-mlgov-input"
            placeholder={
              reviewing ? 'Comment (needed to send back)' : 'Comment (optional)'
            }
            aria-label="Review comment"
            value={comment}
            onChange={e => setComment(e.target.value)}
          />
        )}
        <div className="jp-mlgov-actions">
          {actions.includes('submit') && button('submit', 'jp-mod-accept')}
          {reviewing && button('approve', 'jp-mod-accept')}
          {reviewing &&
            button('send_back', 'jp-mod-warn', comment.trim().length === 0)}
          {actions.includes('archive') && button('archive', 'jp-mod-reject')}
        </div>
      </div>
    </section>
  );
}

const EXPORTS: [ExportFormat, string][] = [
  ['pdf', 'PDF'],
  ['html', 'HTML'],
  ['json', 'SageMaker JSON'],
  ['markdown', 'Markdown']
];

function Exports({
  name,
  version,
  onError
}: {
  name: string;
  version: number;
  onError: ErrorSink;
}): JSX.Element {
  const [busy, setBusy] = useState<ExportFormat | null>(null);
  const download = async (format: ExportFormat) => {
    onError(null);
    setBusy(format);
    try {
      saveDownload(await MlgovAPI.exportCard(name, format, version));
    } catch (error) {
      onError(error);
    } finally {
      setBusy(null);
    }
  };
  return (
    <div className="jp-mlgov-exports" aria-label="Export">
      <span className="jp-mlgov-resultMeta">Export v{version}:</span>
      {EXPORTS.map(([format, label]) => (
        <button
          key={format}
          className="jp-mlgov-linkButton"
          disabled={busy !== null}
          title={`Download version ${version} as ${label}`}
          onClick={() => download(format)}
        >
          {busy === format ? `${label}…` : label}
        </button>
      ))}
    </div>
  );
}

/**
 * The server's standalone HTML of one version (inline SVG charts, escaped text, strict CSP),
 * in an iframe sandboxed with no permissions at all: no scripts, no same origin.
 */
function RenderedCard({
  name,
  version,
  stamp,
  onError
}: {
  name: string;
  version: number;
  stamp: string;
  onError: ErrorSink;
}): JSX.Element {
  const [html, setHtml] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    MlgovAPI.exportCard(name, 'html', version)
      .then(d => d.blob.text())
      .then(
        text => current && setHtml(text),
        e => current && onError(e)
      );
    return () => {
      current = false;
    };
  }, [name, version, stamp]);

  if (html === null) {
    return <p className="jp-mlgov-empty">Rendering v{version}…</p>;
  }
  return (
    <iframe
      className="jp-mlgov-cardFrame"
      title={`Model card ${name} version ${version}`}
      sandbox=""
      referrerPolicy="no-referrer"
      srcDoc={html}
    />
  );
}

/** A field path that may break after each "." and before each "[" (not inside a name). */
function BreakablePath({ path }: { path: string }): JSX.Element {
  const parts = path.split(/(?<=\.)|(?=\[)/);
  return (
    <>
      {parts.map((part, i) => (
        <React.Fragment key={i}>
          {i > 0 && <wbr />}
          {part}
        </React.Fragment>
      ))}
    </>
  );
}

/** One change's text: a chart's data summarised ("changed, 87 points"), else old → new as the
 * server wrote them (numbers with 4 significant digits). */
function ChangeText({ ch }: { ch: ICardChange }): JSX.Element {
  if (ch.summary) {
    // the badge already says "changed"
    return <span>{ch.summary.replace(/^changed, /, '')}</span>;
  }
  return (
    <>
      {ch.op !== 'added' && (
        <span className="jp-mlgov-old">{ch.old_text ?? '—'}</span>
      )}
      {ch.op === 'changed' && ' → '}
      {ch.op !== 'removed' && <span>{ch.new_text ?? '—'}</span>}
    </>
  );
}

const OP_TONE: Record<string, 'ok' | 'error' | 'warn'> = {
  added: 'ok',
  removed: 'error',
  changed: 'warn'
};

function Diff({
  card,
  onError
}: {
  card: ICard;
  onError: ErrorSink;
}): JSX.Element {
  const latest = card.latest_version;
  const [a, setA] = useState(latest - 1);
  const [b, setB] = useState(latest);
  const [changes, setChanges] = useState<ICardChange[] | null>(null);

  useEffect(() => {
    setChanges(null);
  }, [a, b, card.name]);

  const compare = async () => {
    onError(null);
    try {
      setChanges(await MlgovAPI.cardDiff(card.name, a, b));
    } catch (error) {
      onError(error);
    }
  };

  const picker = (label: string, value: number, set: (v: number) => void) => (
    <select
      className="jp-mlgov-select"
      aria-label={label}
      value={value}
      onChange={e => set(Number(e.target.value))}
    >
      {card.versions.map(v => (
        <option key={v.version} value={v.version}>
          v{v.version}
        </option>
      ))}
    </select>
  );

  return (
    <section className="jp-mlgov-section" aria-label="Changes">
      <div className="jp-mlgov-sectionHeader jp-mlgov-diffHeader">
        <h4>Changes</h4>
        <span className="jp-mlgov-inline">
          {picker('Compare from version', a, setA)}→
          {picker('Compare to version', b, setB)}
          <button
            className="jp-mod-styled jp-mlgov-button jp-mlgov-small"
            onClick={compare}
          >
            Compare
          </button>
        </span>
      </div>
      {changes !== null && changes.length === 0 && (
        <p className="jp-mlgov-empty">
          v{a} and v{b} have the same content.
        </p>
      )}
      {changes !== null && changes.length > 0 && (
        <ul className="jp-mlgov-diff" aria-label="Differences">
          {changes.map((ch, i) => (
            <li key={i} className="jp-mlgov-diffItem">
              <div className="jp-mlgov-mono jp-mlgov-diffPath">
                <BreakablePath path={ch.path} />
              </div>
              <div className="jp-mlgov-diffChange">
                <Badge label={ch.op} tone={OP_TONE[ch.op] ?? 'info'} />{' '}
                <ChangeText ch={ch} />
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
