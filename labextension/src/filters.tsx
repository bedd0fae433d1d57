import React, { useState } from 'react';

import { Badge } from './components';
import { MlgovAPI, errorLine } from './handler';
import {
  ErrorSink,
  IAssetDetail,
  IAssetFilter,
  IAssetFilterCreate,
  IColumn,
  RowTerm
} from './tokens';

/** The operators core/row_filters.py accepts, in the order the form offers them. */
const OPS = ['==', '!=', '<', '<=', '>', '>=', 'in', 'not in'] as const;

function valueText(value: unknown): string {
  if (Array.isArray(value)) {
    return `(${value.map(valueText).join(', ')})`;
  }
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** A row filter as one readable line: `region == "EU" and salary < 60 or …`. */
export function describeRows(rows: RowTerm[][] | RowTerm[] | null): string {
  if (!rows || rows.length === 0) {
    return 'all rows';
  }
  // the server normalises to a list of groups; a bare list of terms is one group
  const groups = (typeof rows[0][0] === 'string' ? [rows] : rows) as RowTerm[][];
  const parts = groups.map(group => {
    const text = group
      .map(([col, op, value]) => `${col} ${op} ${valueText(value)}`)
      .join(' and ');
    return groups.length > 1 && group.length > 1 ? `(${text})` : text;
  });
  return parts.join(' or ');
}

/** What a filter lets a grantee see: its columns and its rows (or what the rows test). */
export function FilterScope({ filter }: { filter: IAssetFilter }): JSX.Element {
  let rows: string;
  if (filter.rows) {
    rows = describeRows(filter.rows);
  } else if (filter.row_columns.length > 0) {
    rows = `rows filtered on: ${filter.row_columns.join(', ')}`;
  } else {
    rows = 'all rows';
  }
  return (
    <span className="jp-mlgov-filterScope">
      <span className="jp-mlgov-filterLine">
        <span className="jp-mlgov-filterKey">Columns</span>
        <span>{filter.columns ? filter.columns.join(', ') : 'all columns'}</span>
      </span>
      <span className="jp-mlgov-filterLine">
        <span className="jp-mlgov-filterKey">Rows</span>
        <span className={filter.rows ? 'jp-mlgov-mono' : undefined}>{rows}</span>
      </span>
    </span>
  );
}

/** A select of the asset's filters; '' stands for `wholeLabel` (no filter). */
export function FilterPicker({
  id,
  label,
  filters,
  value,
  wholeLabel,
  exclude,
  onChange
}: {
  id: string;
  label: string;
  filters: IAssetFilter[];
  value: string;
  wholeLabel: string;
  exclude?: string | null;
  onChange: (value: string) => void;
}): JSX.Element {
  const chosen = filters.find(f => f.name === value);
  return (
    <div className="jp-mlgov-filterPicker">
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        className="jp-mlgov-select"
        value={value}
        onChange={e => onChange(e.target.value)}
      >
        <option value="">{wholeLabel}</option>
        {filters
          .filter(f => f.name !== exclude)
          .map(f => (
            <option key={f.name} value={f.name}>
              asset filter {f.name}
            </option>
          ))}
      </select>
      {chosen && (
        <div className="jp-mlgov-hint">
          {chosen.description && <div>{chosen.description}</div>}
          <FilterScope filter={chosen} />
        </div>
      )}
    </div>
  );
}

interface IFiltersProps {
  asset: IAssetDetail;
  filters: IAssetFilter[] | null;
  /** Owners and stewards of the asset's project: define and delete. */
  canManage: boolean;
  onChanged: () => void;
  onError: ErrorSink;
}

/** The asset page's "Filters" section: named scopes a grant can be limited to. */
export function FiltersSection({
  asset,
  filters,
  canManage,
  onChanged,
  onError
}: IFiltersProps): JSX.Element {
  const [busy, setBusy] = useState<string | null>(null);
  const [deleteError, setDeleteError] = useState<string | null>(null);

  const remove = async (name: string) => {
    onError(null);
    setDeleteError(null);
    setBusy(name);
    try {
      await MlgovAPI.deleteFilter(asset.name, name);
      onChanged();
    } catch (error) {
      setDeleteError(errorLine(error));
    } finally {
      setBusy(null);
    }
  };

  return (
    <section className="jp-mlgov-section" aria-label="Filters">
      <h4>Filters{filters && filters.length > 0 ? ` (${filters.length})` : ''}</h4>
      {filters !== null && filters.length === 0 && (
        <p className="jp-mlgov-empty">
          No asset filters: a grant covers the whole dataset.
          {canManage && ' Define one to grant only some columns or rows.'}
        </p>
      )}
      <ul className="jp-mlgov-rows">
        {filters?.map(f => (
          <li
            key={f.name}
            className="jp-mlgov-row jp-mlgov-filter"
            aria-label={`Filter ${f.name}`}
          >
            <span className="jp-mlgov-rowMain">
              <span className="jp-mlgov-inline">
                <span className="jp-mlgov-rowTitle">{f.name}</span>
                {asset.asset_filter === f.name && (
                  <Badge
                    label="your grant"
                    tone="ok"
                    title="Your grant on this asset is scoped to this filter"
                  />
                )}
              </span>
              {f.description && (
                <span className="jp-mlgov-resultDesc">{f.description}</span>
              )}
              <FilterScope filter={f} />
            </span>
            {canManage && (
              <button
                className="jp-mlgov-iconButton"
                disabled={busy !== null}
                aria-label={`Delete filter ${f.name}`}
                title={`Delete asset filter ${f.name} (not while a grant or pending request uses it)`}
                onClick={() => remove(f.name)}
              >
                ×
              </button>
            )}
          </li>
        ))}
      </ul>
      {deleteError !== null && (
        <div className="jp-mlgov-inlineError jp-mlgov-wrap" role="status">
          {deleteError}
        </div>
      )}
      {canManage && (
        <NewFilterForm
          asset={asset}
          onCreated={() => {
            setDeleteError(null);
            onChanged();
          }}
        />
      )}
    </section>
  );
}

interface ICondition {
  column: string;
  op: string;
  value: string;
}

const NUMERIC = /^(u?int\d*|float\d*|double|halffloat|decimal)/;

/** The text of a value field as the column's type wants it (numbers, booleans, else text). */
function parseValue(text: string, column: IColumn | undefined): unknown {
  const t = text.trim();
  const type = column?.type ?? '';
  if (NUMERIC.test(type) && t !== '' && !isNaN(Number(t))) {
    return Number(t);
  }
  if (type === 'bool' && (t === 'true' || t === 'false')) {
    return t === 'true';
  }
  return t;
}

function toTerm(c: ICondition, schema: IColumn[]): RowTerm {
  const column = schema.find(col => col.name === c.column);
  const value =
    c.op === 'in' || c.op === 'not in'
      ? c.value
          .split(',')
          .filter(v => v.trim() !== '')
          .map(v => parseValue(v, column))
      : parseValue(c.value, column);
  return [c.column, c.op, value];
}

/** Define a filter: a name, a description, the columns (none ticked: all), conditions (all must hold). */
function NewFilterForm({
  asset,
  onCreated
}: {
  asset: IAssetDetail;
  onCreated: () => void;
}): JSX.Element {
  const schema = asset.schema;
  const first = schema[0]?.name ?? '';
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [columns, setColumns] = useState<string[]>([]);
  const [conditions, setConditions] = useState<ICondition[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const setCondition = (i: number, change: Partial<ICondition>) =>
    setConditions(cs => cs.map((c, j) => (j === i ? { ...c, ...change } : c)));

  const submit = async () => {
    setError(null);
    const body: IAssetFilterCreate = { name: name.trim(), description: description.trim() };
    if (columns.length > 0) {
      // in the dataset's column order
      body.columns = schema.map(c => c.name).filter(c => columns.includes(c));
    }
    const terms = conditions
      .filter(c => c.column !== '')
      .map(c => toTerm(c, schema));
    if (terms.length > 0) {
      body.rows = [terms];
    }
    setBusy(true);
    try {
      await MlgovAPI.createFilter(asset.name, body);
      setName('');
      setDescription('');
      setColumns([]);
      setConditions([]);
      setOpen(false);
      onCreated();
    } catch (e) {
      setError(errorLine(e));
    } finally {
      setBusy(false);
    }
  };

  if (!open) {
    return (
      <button
        className="jp-mlgov-linkButton jp-mlgov-addFilter"
        onClick={() => setOpen(true)}
      >
        + Define a filter
      </button>
    );
  }
  const idBase = `mlgov-filter-${asset.name}`;
  return (
    <form
      className="jp-mlgov-form jp-mlgov-fieldset jp-mlgov-filterForm"
      aria-label="New filter"
      onSubmit={e => {
        e.preventDefault();
        void submit();
      }}
    >
      <label htmlFor={`${idBase}-name`}>Filter name</label>
      <input
        id={`${idBase}-name`}
        className="jp-mod-styled jp-mlgov-input"
        placeholder="e.g. eu-no-pii"
        value={name}
        onChange={e => setName(e.target.value)}
      />
      <label htmlFor={`${idBase}-desc`}>Description</label>
      <input
        id={`${idBase}-desc`}
        className="jp-mod-styled jp-mlgov-input"
        placeholder="what a grantee gets (optional)"
        value={description}
        onChange={e => setDescription(e.target.value)}
      />
      <fieldset className="jp-mlgov-fieldset">
        <legend>Columns</legend>
        <div className="jp-mlgov-checks jp-mlgov-filterChecks">
          {schema.map(col => (
            <label key={col.name} className="jp-mlgov-check" title={col.type}>
              <input
                type="checkbox"
                checked={columns.includes(col.name)}
                onChange={e =>
                  setColumns(cs =>
                    e.target.checked
                      ? [...cs, col.name]
                      : cs.filter(c => c !== col.name)
                  )
                }
              />
              <span className="jp-mlgov-ellipsis">{col.name}</span>
            </label>
          ))}
        </div>
        <p className="jp-mlgov-hint">
          {columns.length === 0
            ? 'None ticked: all columns.'
            : `${columns.length} of ${schema.length} columns.`}
        </p>
      </fieldset>
      <fieldset className="jp-mlgov-fieldset">
        <legend>Rows</legend>
        {conditions.length === 0 && (
          <p className="jp-mlgov-hint">No condition: all rows.</p>
        )}
        {conditions.map((c, i) => (
          <React.Fragment key={i}>
            {i > 0 && <span className="jp-mlgov-hint">and</span>}
            <div
              className="jp-mlgov-condition"
              role="group"
              aria-label={`Condition ${i + 1}`}
            >
              <select
                className="jp-mlgov-select jp-mlgov-conditionColumn"
                aria-label={`Column of condition ${i + 1}`}
                value={c.column}
                onChange={e => setCondition(i, { column: e.target.value })}
              >
                {schema.map(col => (
                  <option key={col.name} value={col.name}>
                    {col.name}
                  </option>
                ))}
              </select>
              <select
                className="jp-mlgov-select jp-mlgov-conditionOp"
                aria-label={`Operator of condition ${i + 1}`}
                value={c.op}
                onChange={e => setCondition(i, { op: e.target.value })}
              >
                {OPS.map(op => (
                  <option key={op} value={op}>
                    {op}
                  </option>
                ))}
              </select>
              <input
                className="jp-mod-styled jp-mlgov-input jp-mlgov-conditionValue"
                aria-label={`Value of condition ${i + 1}`}
                placeholder={c.op.endsWith('in') ? 'a, b, c' : 'value'}
                value={c.value}
                onChange={e => setCondition(i, { value: e.target.value })}
              />
              <button
                type="button"
                className="jp-mlgov-iconButton jp-mlgov-conditionRemove"
                aria-label={`Remove condition ${i + 1}`}
                onClick={() => setConditions(cs => cs.filter((_, j) => j !== i))}
              >
                ×
              </button>
            </div>
          </React.Fragment>
        ))}
        <button
          type="button"
          className="jp-mlgov-linkButton jp-mlgov-addCondition"
          disabled={schema.length === 0}
          onClick={() =>
            setConditions(cs => [...cs, { column: first, op: '==', value: '' }])
          }
        >
          + Add a condition
        </button>
      </fieldset>
      {error !== null && (
        <div className="jp-mlgov-inlineError jp-mlgov-wrap" role="status">
          {error}
        </div>
      )}
      <div className="jp-mlgov-actions">
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept jp-mlgov-button"
          disabled={busy || name.trim() === ''}
        >
          Create filter
        </button>
        <button
          type="button"
          className="jp-mod-styled jp-mod-reject jp-mlgov-button"
          onClick={() => {
            setOpen(false);
            setError(null);
          }}
        >
          Cancel
        </button>
      </div>
    </form>
  );
}
