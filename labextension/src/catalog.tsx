import { searchIcon } from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';

import { AccessBadge, Chips, KIND_LABEL } from './components';
import { MlgovAPI } from './handler';
import { DeprecatedBadge } from './lifecycle';
import { ErrorSink, FACETS, Facet, ISearchQuery, ISearchResult } from './tokens';

const PAGE_SIZE = 20;
const FACET_LIMIT = 8;
const FACET_LABEL: Record<Facet, string> = {
  kind: 'Kind',
  tag: 'Tag',
  project: 'Project',
  classification: 'Classification',
  owner: 'Owner'
};

interface ICatalogProps {
  refreshKey: number;
  onOpen: (name: string) => void;
  onError: ErrorSink;
}

/** Search box, facet filters and the list of matching assets. */
export function CatalogView({
  refreshKey,
  onOpen,
  onError
}: ICatalogProps): JSX.Element {
  const [text, setText] = useState('');
  const [query, setQuery] = useState<ISearchQuery>({
    q: '',
    filters: {},
    page: 1,
    page_size: PAGE_SIZE
  });
  const [result, setResult] = useState<ISearchResult | null>(null);
  const [loading, setLoading] = useState(false);

  // Search as the user types (debounced); Enter searches at once.
  useEffect(() => {
    if (text === query.q) {
      return;
    }
    const timer = window.setTimeout(
      () => setQuery(q => ({ ...q, q: text, page: 1 })),
      300
    );
    return () => window.clearTimeout(timer);
  }, [text]);

  useEffect(() => {
    let current = true;
    setLoading(true);
    MlgovAPI.searchAssets(query)
      .then(
        r => current && setResult(r),
        e => current && onError(e)
      )
      .finally(() => current && setLoading(false));
    return () => {
      current = false;
    };
  }, [query, refreshKey]);

  const toggle = (facet: Facet, value: string) => {
    onError(null);
    setQuery(q => {
      const filters = { ...q.filters };
      if (filters[facet] === value) {
        delete filters[facet];
      } else {
        filters[facet] = value;
      }
      return { ...q, filters, page: 1 };
    });
  };

  const active = FACETS.filter(f => query.filters[f]).length;
  const pages = result ? Math.max(1, Math.ceil(result.total / PAGE_SIZE)) : 1;

  return (
    <div className="jp-mlgov-catalog">
      <form
        className="jp-mlgov-search"
        role="search"
        onSubmit={e => {
          e.preventDefault();
          onError(null);
          setQuery(q => ({ ...q, q: text, page: 1 }));
        }}
      >
        <searchIcon.react tag="span" className="jp-mlgov-searchIcon" />
        <input
          className="jp-mod-styled jp-mlgov-searchInput"
          type="search"
          placeholder="Search datasets, models, features…"
          aria-label="Search the catalog"
          value={text}
          onChange={e => setText(e.target.value)}
        />
      </form>
      <details className="jp-mlgov-facets" open>
        <summary>
          Filters
          {active > 0 && <span className="jp-mlgov-count">{active}</span>}
          {result?.total_is_lower_bound && (
            <span className="jp-mlgov-facetNote">
              {' '}
              · counts of the newest {result.total.toLocaleString('en-US')}
            </span>
          )}
        </summary>
        <label className="jp-mlgov-showDeprecated">
          <input
            type="checkbox"
            checked={!!query.include_deprecated}
            onChange={e => {
              const include_deprecated = e.target.checked;
              onError(null);
              setQuery(q => ({ ...q, include_deprecated, page: 1 }));
            }}
          />
          Show deprecated
        </label>
        <div className="jp-mlgov-facetGrid">
          {FACETS.map(facet => (
            <FacetGroup
              key={facet}
              facet={facet}
              counts={result?.facets[facet] ?? {}}
              selected={query.filters[facet]}
              onToggle={value => toggle(facet, value)}
            />
          ))}
        </div>
      </details>
      <div
        className="jp-mlgov-resultsHeader"
        aria-live="polite"
        title={
          result?.total_is_lower_bound
            ? `More than ${result.total.toLocaleString('en-US')} assets match: counts and pages cover the newest ${result.total.toLocaleString('en-US')}. Add words or filters to narrow.`
            : undefined
        }
      >
        {result === null
          ? loading
            ? 'Searching…'
            : ''
          : result.total_is_lower_bound
            ? `${result.total.toLocaleString('en-US')}+ assets`
            : `${result.total.toLocaleString('en-US')} ${result.total === 1 ? 'asset' : 'assets'}`}
        {result !== null && pages > 1 && (
          <span className="jp-mlgov-pager">
            <button
              className="jp-mlgov-linkButton"
              disabled={query.page <= 1}
              onClick={() => setQuery(q => ({ ...q, page: q.page - 1 }))}
            >
              ‹ Prev
            </button>
            {query.page} / {pages}
            <button
              className="jp-mlgov-linkButton"
              disabled={query.page >= pages}
              onClick={() => setQuery(q => ({ ...q, page: q.page + 1 }))}
            >
              Next ›
            </button>
          </span>
        )}
      </div>
      <ul className="jp-mlgov-results" aria-label="Search results">
        {result?.items.map(item => (
          <li key={item.name}>
            <button
              className="jp-mlgov-result"
              onClick={() => onOpen(item.name)}
              title={`Open ${item.name}`}
            >
              <span className="jp-mlgov-resultTop">
                <span className="jp-mlgov-resultName">{item.name}</span>
                <AccessBadge access={item.access} />
                {item.deprecated && <DeprecatedBadge mark={item.deprecated} />}
              </span>
              <span className="jp-mlgov-resultMeta">
                {KIND_LABEL[item.kind] ?? item.kind} · {item.project} ·{' '}
                {item.classification} · rev {item.revision}
              </span>
              {item.description && (
                <span className="jp-mlgov-resultDesc">{item.description}</span>
              )}
              <Chips values={item.tags} />
            </button>
          </li>
        ))}
      </ul>
      {result !== null && result.total === 0 && (
        <p className="jp-mlgov-empty">
          No assets match. Publish one from a notebook with{' '}
          <code>%mlgov publish</code>.
        </p>
      )}
    </div>
  );
}

interface IFacetProps {
  facet: Facet;
  counts: { [value: string]: number };
  selected: string | undefined;
  onToggle: (value: string) => void;
}

function FacetGroup({
  facet,
  counts,
  selected,
  onToggle
}: IFacetProps): JSX.Element | null {
  const [all, setAll] = useState(false);
  const entries = Object.entries(counts).sort(
    (a, b) => b[1] - a[1] || a[0].localeCompare(b[0])
  );
  if (selected && !(selected in counts)) {
    entries.unshift([selected, 0]);
  }
  if (entries.length === 0) {
    return null;
  }
  const shown = all ? entries : entries.slice(0, FACET_LIMIT);
  return (
    <>
      <span className="jp-mlgov-facetLabel">{FACET_LABEL[facet]}</span>
      <span
        className="jp-mlgov-facetValues"
        role="group"
        aria-label={FACET_LABEL[facet]}
      >
        {shown.map(([value, count]) => (
          <button
            key={value}
            className="jp-mlgov-facetValue"
            aria-pressed={selected === value}
            title={`${FACET_LABEL[facet]}: ${value}`}
            onClick={() => onToggle(value)}
          >
            {facet === 'kind' ? KIND_LABEL[value] ?? value : value}
            <span className="jp-mlgov-facetCount">{count}</span>
          </button>
        ))}
        {entries.length > FACET_LIMIT && (
          <button className="jp-mlgov-linkButton" onClick={() => setAll(!all)}>
            {all ? 'less' : `+${entries.length - FACET_LIMIT} more`}
          </button>
        )}
      </span>
    </>
  );
}
