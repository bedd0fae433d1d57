import React, { useEffect, useState } from 'react';

import { ICardFilter } from './tokens';

const STATUSES = ['Draft', 'PendingReview', 'Approved', 'Archived'];
const RISKS = ['High', 'Medium', 'Low', 'Unknown'];

export const NO_CARD_FILTER: ICardFilter = { text: '', status: '', risk: '' };

/** The Cards tab's filters: words of the card (debounced), status, risk rating. */
export function CardFilters({
  value,
  onChange
}: {
  value: ICardFilter;
  onChange: (filter: ICardFilter) => void;
}): JSX.Element {
  const [text, setText] = useState(value.text);
  useEffect(() => {
    if (text === value.text) {
      return;
    }
    const timer = window.setTimeout(() => onChange({ ...value, text }), 300);
    return () => window.clearTimeout(timer);
  }, [text]);
  return (
    <form
      className="jp-mlgov-cardFilters"
      role="search"
      onSubmit={e => {
        e.preventDefault();
        onChange({ ...value, text });
      }}
    >
      <input
        className="jp-mod-styled"
        type="search"
        placeholder="Search cards: intended uses, description…"
        aria-label="Search model cards"
        value={text}
        onChange={e => setText(e.target.value)}
      />
      <select
        className="jp-mod-styled"
        aria-label="Card status"
        value={value.status}
        onChange={e => onChange({ ...value, text, status: e.target.value })}
      >
        <option value="">Any status</option>
        {STATUSES.map(s => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
      <select
        className="jp-mod-styled"
        aria-label="Risk rating"
        value={value.risk}
        onChange={e => onChange({ ...value, text, risk: e.target.value })}
      >
        <option value="">Any risk</option>
        {RISKS.map(r => (
          <option key={r} value={r}>
            {r} risk
          </option>
        ))}
      </select>
    </form>
  );
}
