"""check(): one pass over the current data (in memory or streamed), each column once, all cores.

Outcomes that do not depend on how the data is laid out: rows are read by position, never by the
DataFrame's index (duplicated, unsorted or non-default labels give the same report); duplicate
column names are refused (which column would be checked?), as ``fit_baseline`` refuses them; data
without rows is refused whatever its form (DataFrame, iterator, Parquet, Arrow table), as a
SageMaker monitoring execution fails on empty input: there is nothing to compare.

A section that cannot be computed on this data (model quality without ground truth, bias when the
current data has no row of the sensitive group, attributions without a model) keeps the rest of the
report: the section says ``computable: False`` and why (``reason``), and adds no violation.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from ..errors import Invalid
from .baseline import SHARE_KEYS, Baseline, n_workers
from .drift import adjust, column_drift, resolve_correction
from .report import Report
from .sagemaker_formats import constraint_settings, evaluates, number
from .stats import CategoricalAcc, NumericAcc, new_acc

DEFAULT_CHUNK_ROWS = 250_000
ATTRIBUTION_SAMPLE = 2000


NO_ROWS = "the current data has no rows: nothing to check"


def required_share(cfg: dict, key: str) -> float:
    """The share of a column's present values that must be of the baseline's inferred type
    (``datatype_check_threshold``) or inside its domain (``domain_content_threshold``): a violation
    when the share observed is *below* it, and the violation's ``value`` is that share.

    That is SageMaker Model Monitor's meaning. Its analyzer (``sagemaker-model-monitor-analyzer``) is
    built on Deequ 2.0.2 (AWS, "Amazon SageMaker Model Monitor prebuilt container"), whose data type
    constraint computes the ratio of non-null values of the type and reports a failure as "Value: <ratio>
    does not meet the constraint requirement!" (awslabs/deequ, ``constraints/Constraint.scala``,
    ``dataTypeConstraint`` / ``ratioTypes``; the maintainers on awslabs/deequ#523: the value is the
    share of rows meeting the constraint). SageMaker's own files agree: the constraints it suggests hold
    1.0 for both thresholds (SDK ``tests/data/pipeline/quality_check_step/data_quality/*/constraints.json``)
    and its violations report shares such as 0.973973973973974 (= 973/999 typed) for a data_type_check
    and 0.009009009009009009 (9/999 in the domain) for a categorical_values_check (SDK
    ``tests/data/monitor/constraint_violations.json``); read as "tolerate 100%", the thresholds SageMaker
    suggests would never flag anything. AWS's constraints page names the parameters without a direction
    (and an answer on AWS re:Post reads them as tolerances, which those files contradict).
    Fractional accepts every finite number (a whole number is a fractional value too); Integral whole
    numbers only; values that are not finite numbers (or dates, for datetime columns) never conform.

    ``baseline.config`` holds these shares (``baseline.DEFAULT_CONFIG``: 1.0 and 0.9; baselines saved in
    format 1, which held the tolerated shares, are converted on load), as SageMaker's files do."""
    return float(cfg[key])


def _names(columns, what: str = "the current data") -> list[str]:
    """Column names as strings; Invalid naming the duplicates (``1`` and ``"1"`` are one name)."""
    names = [str(c) for c in columns]
    if len(set(names)) != len(names):
        seen, dup = set(), []
        for n in names:
            if n in seen and n not in dup:
                dup.append(n)
            seen.add(n)
        raise Invalid(f"{what} has duplicate column names: {', '.join(dup[:5])}{' ...' if len(dup) > 5 else ''} "
                      "(rename them first)")
    return names


NO_REFERENCE_ROWS = "the reference data has no rows: nothing to fit"
BATCH_BYTES = 64 << 20  # a streamed batch holds about this much data in memory, whatever the table's width
_IO_BUFFER = 1 << 16  # Parquet: read buffer per column, instead of each column chunk in one piece
_PAGE_BYTES = 1 << 20  # Parquet writers' usual data page (pyarrow's default): decoded per column by a reader


def _field_bytes(field, var_bytes: float) -> float:
    """Bytes per row of one Arrow field once in memory as Arrow and as pandas (an over-estimate, never
    an under-estimate); ``var_bytes``: mean bytes of a variable-width value (strings, nested)."""
    import pyarrow as pa

    t = field.type
    if pa.types.is_dictionary(t):  # pandas categorical: codes only (the categories are shared)
        return 2 * t.index_type.bit_width / 8
    try:
        return 2 * max(t.bit_width, 8) / 8  # fixed width (bool takes a byte in pandas)
    except ValueError:
        return 2 * (8 + var_bytes) + 50  # offsets and data; a Python object per value in pandas


def _column_bytes(schema, names: list[str], var_bytes: Callable[[str], float]) -> dict:
    """{name: bytes per row} of the columns ``names`` of an Arrow schema (``_field_bytes``)."""
    wanted = set(names)
    return {f.name: _field_bytes(f, var_bytes(f.name)) for f in schema if f.name in wanted}


def _row_bytes(per_column: dict) -> float:
    return max(1.0, float(sum(per_column.values())))


def _batch_rows(row_bytes: float, chunk_rows: int) -> int:
    """Rows per streamed batch: about ``BATCH_BYTES`` bytes, at most ``chunk_rows`` rows."""
    return int(max(1, min(chunk_rows, BATCH_BYTES // row_bytes)))


def _parquet_chunk_bytes(meta) -> dict:
    """{top-level column: uncompressed bytes over the whole file} from a Parquet file's metadata."""
    out: dict = {}
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        for j in range(rg.num_columns):
            col = rg.column(j)
            top = col.path_in_schema.split(".")[0]
            out[top] = out.get(top, 0) + col.total_uncompressed_size
    return out


def _reader_state_bytes(rg, wanted: set) -> int:
    """What a row-by-row reader of one Parquet row group holds whatever its batch size: per column, the
    decoded dictionary page and one decoded data page (~2 MB a column with pyarrow's defaults)."""
    total = 0
    for j in range(rg.num_columns):
        col = rg.column(j)
        if col.path_in_schema.split(".")[0] not in wanted:
            continue
        dict_bytes = (col.data_page_offset - col.dictionary_page_offset) if col.has_dictionary_page else 0
        total += max(dict_bytes, 0) + min(col.total_uncompressed_size, _PAGE_BYTES)
    return total


def _column_groups(names: list[str], sizes: dict) -> list[list[str]]:
    """``names`` in order, cut into groups of about ``BATCH_BYTES`` (at least one column a group)."""
    budget = BATCH_BYTES
    groups: list[list[str]] = []
    size = 0
    for n in names:
        b = sizes.get(n, 0)
        if groups and size + b <= budget:
            groups[-1].append(n)
            size += b
        else:
            groups.append([n])
            size = b
    return groups


def _to_pandas(table) -> pd.DataFrame:
    """A table read for this alone as a DataFrame, each column's Arrow buffers freed as it is converted
    (the data is not held twice)."""
    return table.to_pandas(split_blocks=True, self_destruct=True)


def _to_series(table) -> dict:
    return dict(_to_pandas(table).items())


def _parquet_file_batches(pfile, wanted: list[str], chunk_rows: int):
    """DataFrames of about ``BATCH_BYTES`` from one Parquet file, in row order, whatever its row groups.

    A row group that fits two batches is read whole. A larger one is read the cheaper way: batch by
    batch (a reader then holds a dictionary and a data page per column: ``_reader_state_bytes``) or,
    when that is more than the row group itself (wide tables, small row groups), a few columns at a
    time into one DataFrame (the row group's size, once)."""
    meta = pfile.metadata
    sizes = _parquet_chunk_bytes(meta)
    total = max(meta.num_rows, 1)
    per_column = _column_bytes(pfile.schema_arrow, wanted, lambda n: sizes.get(n, 0) / total)
    row_bytes = _row_bytes(per_column)
    rows = _batch_rows(row_bytes, chunk_rows)
    wanted_set = set(wanted)
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        if rg.num_rows == 0:
            continue
        if rg.num_rows <= 2 * rows:
            yield _to_pandas(pfile.read_row_group(i, columns=wanted))
            continue
        whole = rg.num_rows * row_bytes / 2  # pandas alone, once the Arrow buffers of a group are freed
        if _reader_state_bytes(rg, wanted_set) + rows * row_bytes < whole:
            for batch in pfile.iter_batches(batch_size=rows, row_groups=[i], columns=wanted, use_threads=False):
                yield batch.to_pandas()
                del batch
        else:
            col_sizes = {n: rg.num_rows * b for n, b in per_column.items()}
            parts = []
            for group in _column_groups(wanted, col_sizes):
                # one block per group (split blocks would be copied into one by the concat below)
                parts.append(pfile.read_row_group(i, columns=group).to_pandas(self_destruct=True))
            frame = pd.concat(parts, axis=1) if len(parts) > 1 else parts[0]
            del parts
            yield frame
            del frame


def _source(current, columns: list[str] | None, chunk_rows: int, *, role: str = "current"):
    """(column names, iterator of DataFrames, total rows or None) for every supported input; ``role``
    (current, reference) names the data in errors.

    Parquet files, folders and Arrow tables are streamed in batches of about ``BATCH_BYTES`` bytes in
    memory (and at most ``chunk_rows`` rows), so memory does not grow with the width of the table; an
    iterator's DataFrames are taken as they come, a DataFrame whole."""
    no_rows = NO_ROWS if role == "current" else NO_REFERENCE_ROWS
    if isinstance(current, pd.DataFrame):
        names = _names(current.columns, f"the {role} data")
        if len(current) == 0:
            raise Invalid(no_rows)
        return names, iter([current]), len(current)
    if isinstance(current, (str, os.PathLike)):
        path = os.fspath(current)
        if not os.path.exists(path):
            raise Invalid(f"no such file or directory: {path}")
        import pyarrow.dataset as pads
        import pyarrow.parquet as pq

        try:
            if os.path.isfile(path):
                pfile = pq.ParquetFile(path, buffer_size=_IO_BUFFER)
                names = [n for n in pfile.schema_arrow.names if not n.startswith("__index_level_")]
                total = pfile.metadata.num_rows
            else:
                dataset = pads.dataset(path, format="parquet")
                names = list(dataset.schema.names)
                total = dataset.count_rows()
        except Exception as exc:  # pyarrow raises several types for unreadable files
            raise Invalid(f"cannot read {path} as Parquet ({exc.__class__.__name__})") from None
        wanted = [c for c in names if columns is None or c in columns]

        def batches():
            # one batch at a time: memory stays at about one batch whatever the file size
            if os.path.isfile(path):
                yield from _parquet_file_batches(pfile, wanted, chunk_rows)
                return
            rows = _batch_rows(_row_bytes(_column_bytes(dataset.schema, wanted, lambda n: 32.0)), chunk_rows)
            for batch in dataset.to_batches(columns=wanted, batch_size=rows, batch_readahead=0,
                                            fragment_readahead=1, use_threads=True):
                if batch.num_rows:
                    yield batch.to_pandas()

        return names, batches(), total
    try:
        import pyarrow as pa

        if isinstance(current, pa.Table):
            names = _names(current.column_names, f"the {role} data")
            if current.num_rows == 0:
                raise Invalid(no_rows)
            n = max(current.num_rows, 1)
            nbytes = {name: current.column(i).nbytes / n for i, name in enumerate(current.column_names)}
            rows = _batch_rows(_row_bytes(_column_bytes(current.schema, current.column_names,
                                                        lambda c: nbytes.get(c, 0.0))), chunk_rows)
            return names, (b.to_pandas() for b in current.to_batches(rows)), current.num_rows
    except ImportError:  # pragma: no cover
        pass
    if isinstance(current, Iterable):
        it = iter(current)
        try:
            first = next(it)
        except StopIteration:
            raise Invalid(no_rows + " (the iterator is empty)") from None
        if not isinstance(first, pd.DataFrame):
            raise Invalid(f"an iterator of {role} data must yield pandas DataFrames")

        def chain():
            yield first
            for chunk in it:
                if not isinstance(chunk, pd.DataFrame):
                    raise Invalid(f"an iterator of {role} data must yield pandas DataFrames")
                yield chunk

        return _names(first.columns, f"the {role} data"), chain(), None
    raise Invalid(f"{role} data must be a DataFrame, a Parquet path, a pyarrow Table or an iterator of DataFrames")


class _Columns:
    """A reference's columns, read a few at a time (``fit_baseline``): ``names`` (strings), ``n_rows``,
    ``has(column)``, ``groups(names)`` of about ``BATCH_BYTES`` in memory each, and ``read(names)``
    (``{name: Series}``). Use it as a context manager: it may hold a temporary file."""

    def __init__(self, names: list[str], n_rows: int, read: Callable[[list[str]], dict], sizes: dict | None = None,
                 has: Callable[[Any], bool] | None = None, close: Callable[[], None] | None = None):
        self.names, self.n_rows, self._read, self.sizes = names, n_rows, read, sizes
        self._has, self._close = has, close

    def has(self, column) -> bool:
        return self._has(column) if self._has is not None else column in self.names

    def groups(self, names: list[str]) -> list[list[str]]:
        if self.sizes is None:  # in memory already: one group
            return [list(names)] if names else []
        return _column_groups(list(names), self.sizes)

    def read(self, names: list[str]) -> dict:
        return self._read(list(names)) if names else {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._close is not None:
            self._close()


def _reference_columns(reference, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> _Columns:
    """The columns of every reference ``_source`` streams (a DataFrame, a Parquet file or folder, an
    Arrow table, an iterator of DataFrames), read column by column so that fitting a baseline holds
    a few columns at a time, whatever the width: a Parquet file, folder or Arrow table is read a group
    of columns at a time; an iterator's DataFrames are spooled, one at a time, to a temporary file
    (pickled columns: every dtype kept), then read back the same way. The columns of an iterator's
    DataFrames are those of ``pd.concat(frames)`` (so are the statistics)."""
    if isinstance(reference, pd.DataFrame):
        names = _names(reference.columns, "the reference data")
        if len(reference) == 0 or not names:
            raise Invalid(NO_REFERENCE_ROWS if len(reference) == 0 else "the reference data has no columns")
        labels = dict(zip(names, reference.columns))
        return _Columns(names, len(reference), lambda ns: {n: reference[labels[n]] for n in ns},
                        has=lambda c: c in reference.columns)
    if isinstance(reference, (str, os.PathLike)):
        path = os.fspath(reference)
        if not os.path.exists(path):
            raise Invalid(f"no such file or directory: {path}")
        import pyarrow.dataset as pads
        import pyarrow.parquet as pq

        try:
            if os.path.isfile(path):
                pfile = pq.ParquetFile(path, buffer_size=_IO_BUFFER)
                schema, n_rows = pfile.schema_arrow, pfile.metadata.num_rows
                stored = _parquet_chunk_bytes(pfile.metadata)
                var = {n: b / max(n_rows, 1) for n, b in stored.items()}

                def read(ns):
                    return _to_series(pfile.read(columns=ns))
            else:
                dataset = pads.dataset(path, format="parquet")
                schema, n_rows = dataset.schema, dataset.count_rows()
                var = {}

                def read(ns):
                    return _to_series(dataset.to_table(columns=ns))
        except Exception as exc:  # pyarrow raises several types for unreadable files
            raise Invalid(f"cannot read {path} as Parquet ({exc.__class__.__name__})") from None
        names = [n for n in schema.names if not n.startswith("__index_level_")]
        _names(names, "the reference data")
    else:
        import pyarrow as pa

        if isinstance(reference, pa.Table):
            names, schema, n_rows = _names(reference.column_names, "the reference data"), reference.schema, \
                reference.num_rows
            var = {n: reference.column(i).nbytes / max(n_rows, 1) for i, n in enumerate(reference.column_names)}

            def read(ns):
                return dict(reference.select(ns).to_pandas(split_blocks=True).items())
        else:
            return _spooled_columns(reference, chunk_rows)
    if n_rows == 0 or not names:
        raise Invalid(NO_REFERENCE_ROWS if n_rows == 0 else "the reference data has no columns")
    sizes = {n: n_rows * b for n, b in _column_bytes(schema, names, lambda c: var.get(c, 32.0)).items()}
    return _Columns(names, n_rows, read, sizes)


def _spooled_columns(reference, chunk_rows: int) -> _Columns:
    """An iterator of DataFrames written to a temporary file one DataFrame at a time, column by column."""
    import pickle
    import tempfile

    names, chunks, _ = _source(reference, None, chunk_rows, role="reference")
    spool = tempfile.TemporaryFile(prefix="mlgov-reference-")
    where: dict = {n: [] for n in names}
    sizes = dict.fromkeys(names, 0)
    n_rows = 0
    try:
        for chunk in chunks:
            label = dict(zip(_names(chunk.columns, "the reference data"), chunk.columns))
            lacking = [n for n in names if n not in label]
            if lacking:
                raise Invalid(f"a chunk of the reference data lacks column(s) {', '.join(lacking[:5])}")
            for n in names:
                blob = pickle.dumps(chunk[label[n]].reset_index(drop=True), protocol=5)
                where[n].append((spool.tell(), len(blob)))
                spool.write(blob)
                sizes[n] += 2 * len(blob)  # read back: the pickled bytes and the Series
            n_rows += len(chunk)
            del chunk
    except BaseException:
        spool.close()
        raise
    if n_rows == 0:
        spool.close()
        raise Invalid(NO_REFERENCE_ROWS)

    def read(ns):
        out = {}
        for n in ns:
            pieces = []
            for offset, size in where[n]:
                spool.seek(offset)
                pieces.append(pickle.loads(spool.read(size)))
            out[n] = pieces[0] if len(pieces) == 1 else pd.concat(pieces, ignore_index=True)
        return out

    return _Columns(names, n_rows, read, sizes, close=spool.close)


def check(baseline: Baseline, current, *, methods: dict | None = None, thresholds: dict | None = None,
          method: str | None = None, correction: str | None = None, drift_share: float | None = None,
          quality_constraints: dict | None = None, model=None, attributions: dict | None = None,
          bias_tolerance: float = 0.0, attribution_method: str = "auto",
          chunk_rows: int = DEFAULT_CHUNK_ROWS, workers: int | None = None,
          progress: Callable[[float, str], Any] | None = None) -> Report:
    """Run every check the baseline supports on ``current``; see ``mlgov_jupyter.monitoring.check``."""
    if isinstance(baseline, (str, os.PathLike)):
        baseline = Baseline.load(baseline)
    if not isinstance(baseline, Baseline):
        raise Invalid("check needs a Baseline (from fit_baseline or Baseline.load) as first argument")
    t0 = time.perf_counter()
    methods = dict(methods or {})
    thresholds = dict(thresholds or {})
    for col in list(methods) + list(thresholds):
        if col not in baseline.columns:
            raise Invalid(f"column {col!r} is not in the baseline")
    names, chunks, total = _source(current, None, chunk_rows)
    workers = workers or n_workers()
    part = scan_partial(baseline, names, chunks, total=total, want_sample=model is not None and attributions is None,
                        workers=workers, progress=progress)
    if progress is not None and part.n_rows:
        progress(1.0, "")
    t_scan = time.perf_counter() - t0
    return finish(baseline, part, methods=methods, thresholds=thresholds, method=method, correction=correction,
                  drift_share=drift_share, quality_constraints=quality_constraints, model=model,
                  attributions=attributions, bias_tolerance=bias_tolerance, attribution_method=attribution_method,
                  t0=t0, t_scan=t_scan, workers=workers)


@dataclass
class Partial:
    """What one pass over (part of) the current data leaves: mergeable statistics per baseline
    column (``accs``), the few columns model quality and bias need (``kept``), an attribution
    sample, the row count and the data's column names. Partials of disjoint parts of the data
    ``merge`` into the partial of their union (the Dask engine computes one per partition)."""

    names: list
    accs: dict
    kept_parts: list
    sample_parts: list
    n_rows: int

    def merge(self, other: "Partial") -> "Partial":
        if list(other.names) != list(self.names):
            raise Invalid("the parts of the current data have different columns")
        accs = {c: self.accs[c].merge(other.accs[c]) for c in self.accs}
        return Partial(self.names, accs, self.kept_parts + other.kept_parts, self.sample_parts + other.sample_parts,
                       self.n_rows + other.n_rows)


class _Done:
    """``fn(*args)`` called at once, as a finished future (its ``result()`` raises what it raised)."""

    def __init__(self, fn, *args):
        self.exc = None
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - raised by result(), as a future does
            self.exc = exc

    def result(self):
        if self.exc is not None:
            raise self.exc


def kept_names(baseline: Baseline, names: list) -> list:
    """The columns among ``names`` a pass keeps row by row (``Partial.kept_parts``): the target,
    prediction and probability, the bias facet and group."""
    keep = [c for c in (baseline.target, baseline.prediction, baseline.probability) if c]
    if baseline.bias_config:
        keep += [c for c in (baseline.bias_config["facet"], baseline.bias_config.get("group")) if c]
    return [c for c in dict.fromkeys(keep) if c in names]


def kept_columns(baseline: Baseline, names: list) -> list:
    """Those of ``kept_names`` that ``finish`` reads: none unless the baseline has a model-quality
    or a bias section."""
    if baseline.quality is None and not (baseline.bias_config and baseline.bias):
        return []
    return kept_names(baseline, names)


def scan_partial(baseline: Baseline, names: list, chunks, *, total: int | None = None, want_sample: bool = False,
                 workers: int = 1, progress: Callable[[float, str], Any] | None = None, seed: int = 0) -> Partial:
    """One pass over ``chunks`` (DataFrames with columns ``names``): each baseline column's
    statistics, on ``workers`` threads. Raises Invalid for a chunk lacking a column or holding
    values that cannot be compared with the baseline; does not refuse zero rows (``finish`` does)."""
    present = [c for c in baseline.columns if c in names]
    accs = {c: new_acc(baseline.columns[c]) for c in present}
    keep_cols = kept_names(baseline, names)
    kept_parts: list[pd.DataFrame] = []
    sample_parts: list[pd.DataFrame] = []
    want_sample = want_sample and bool(baseline.attributions)
    n_rows = 0
    done_rows = 0
    rng = np.random.default_rng(seed)
    with ThreadPoolExecutor(workers) as pool:
        submit = pool.submit if workers > 1 else _Done  # one worker: no hand-off to a thread per column
        for chunk in chunks:
            _names(chunk.columns)
            label = {str(c): c for c in chunk.columns}  # the user's labels may be ints: never rename them
            lacking = [c for c in present if c not in label]
            if lacking:
                raise Invalid(f"a chunk of the current data lacks column(s) {', '.join(lacking[:5])}")
            k = len(chunk)
            n_rows += k
            futures = [(c, submit(accs[c].add, chunk[label[c]])) for c in present]
            for i, (c, fut) in enumerate(futures):
                try:
                    fut.result()
                except Invalid:
                    raise
                except (TypeError, ValueError) as exc:
                    raise Invalid(f"column {c!r}: cannot compare with the baseline ({exc})") from None
                if progress is not None:
                    frac = ((done_rows + k * (i + 1) / max(len(futures), 1)) / total) if total else math.nan
                    progress(min(frac, 1.0), c)
            done_rows += k
            if keep_cols:
                part = chunk[[label[c] for c in keep_cols]].reset_index(drop=True)  # by position, never by label
                part.columns = keep_cols
                kept_parts.append(part)
            if want_sample:
                take = min(k, ATTRIBUTION_SAMPLE)
                part = chunk.iloc[rng.choice(k, size=take, replace=False)] if take < k else chunk.copy(deep=False)
                part = part.reset_index(drop=True)
                part.columns = [str(c) for c in part.columns]
                sample_parts.append(part)
    return Partial(list(names), accs, kept_parts, sample_parts, n_rows)


def finish(baseline: Baseline, part: Partial, *, methods: dict | None = None, thresholds: dict | None = None,
           method: str | None = None, correction: str | None = None, drift_share: float | None = None,
           quality_constraints: dict | None = None, model=None, attributions: dict | None = None,
           bias_tolerance: float = 0.0, attribution_method: str = "auto", progress=None,
           t0: float | None = None, t_scan: float = 0.0, workers: int = 1) -> Report:
    """The report of a scanned ``Partial``: drift per column, SageMaker's data-quality checks, model
    quality, bias drift and attribution drift. Invalid if the data had no rows."""
    t0 = time.perf_counter() if t0 is None else t0
    methods = dict(methods or {})
    thresholds = dict(thresholds or {})
    names, accs, kept_parts, sample_parts, n_rows = part.names, part.accs, part.kept_parts, part.sample_parts, part.n_rows
    present = [c for c in baseline.columns if c in names]
    missing = [c for c in baseline.columns if c not in names]
    # a baseline without data-quality columns (read from model-quality or Clarify files only) says
    # nothing about which columns the data has: no column is extra
    extra = [c for c in names if c not in baseline.columns] if baseline.columns else []
    if n_rows == 0:
        raise Invalid(NO_ROWS)

    # -------------------------------------------------------------- drift per column
    def method_for(c):
        if c in methods:
            return methods[c]
        if method in ("ks", "wasserstein") and isinstance(accs[c], CategoricalAcc):
            return "auto"  # a global numeric-only test leaves categorical columns to the default
        return method or "auto"

    results = [column_drift(accs[c], method_for(c), thresholds.get(c)) for c in present]
    correction = resolve_correction(correction)  # None: the default, Benjamini-Hochberg
    adjust(results, correction)
    # SageMaker's evaluate_constraints, for the file and per feature (monitoring_config_overrides):
    # a feature whose constraints are not evaluated is shown, never flagged (constraint_settings)
    settings = constraint_settings((baseline.sagemaker or {}).get("constraints"))
    evaluated = {c: evaluates(settings, c) for c in baseline.columns}
    counted = [r for r in results if evaluated[r.column]]
    share_threshold = baseline.config["drift_share"] if drift_share is None else float(drift_share)
    n_drifted = sum(r.drifted for r in counted)
    share = n_drifted / len(counted) if counted else 0.0

    # -------------------------------------------------------------- data quality (SageMaker's six checks)
    violations: list[dict] = []

    def cfg_of(c):
        """The monitoring config for column ``c``: the baseline's, with the feature's overrides."""
        ov = settings["features"].get(c) or {}
        try:
            return {**baseline.config, **{k: number(ov[k]) for k in SHARE_KEYS if ov.get(k) is not None}}
        except (TypeError, ValueError):
            raise Invalid(f"constraints.json: the monitoring_config_overrides of {c!r} hold a threshold that is "
                          "not a number") from None

    def viol(feature, check_type, description, monitor="data_quality", value=None):
        v = {"feature_name": feature, "constraint_check_type": check_type, "description": description,
             "monitor_type": monitor}
        if value is not None:  # the number compared, as SageMaker's "Value: ..." reports it
            v["value"] = float(value)
        violations.append(v)

    for c in missing:
        if evaluated[c]:
            viol(c, "missing_column_check", f"Column {c} is in the baseline but not in the current data")
    for c in extra if settings["evaluate"] else []:
        viol(c, "extra_column_check", f"Column {c} is in the current data but not in the baseline")
    for c in present:
        if not evaluated[c]:
            continue
        acc, ref, cfg = accs[c], baseline.columns[c], cfg_of(c)
        if isinstance(acc, NumericAcc):
            present_c = acc.n_present
            if present_c:
                typed = (present_c - acc.n_nonconforming) / present_c
                if typed < required_share(cfg, "datatype_check_threshold") - 1e-12:
                    viol(c, "data_type_check",
                         f"Data type match requirement is not met: {typed:.2%} of the values of {c} are "
                         f"{ref.inferred_type} ({acc.n_nonconforming:,} of {present_c:,} are not; "
                         f"required {required_share(cfg, 'datatype_check_threshold'):.2%})", value=typed)
        else:
            present_c = acc.n
        total_c = present_c + acc.n_missing
        completeness = present_c / total_c if total_c else 1.0
        if total_c and completeness < ref.completeness - cfg["completeness_tolerance"] - 1e-12:
            viol(c, "completeness_check",
                 f"Data completeness requirement is not met: completeness of {c} is {completeness:.4f}, "
                 f"baseline {ref.completeness:.4f}", value=completeness)
        if isinstance(acc, CategoricalAcc):
            ood = acc.out_of_domain()
            if ood is not None and acc.n:
                in_domain = (acc.n - ood) / acc.n
                if in_domain < required_share(cfg, "domain_content_threshold") - 1e-12:
                    viol(c, "categorical_values_check",
                         f"Categorical values requirement is not met: {in_domain:.2%} of the values of {c} are in "
                         f"the baseline domain ({ood:,} of {acc.n:,} are not; required "
                         f"{required_share(cfg, 'domain_content_threshold'):.2%})", value=in_domain)
    by_name = {r.column: r for r in results}
    for r in counted:
        if r.drifted:
            score = f"p-value {r.adjusted_p_value if r.adjusted_p_value is not None else r.p_value:.3g}" \
                if r.p_value is not None else f"distance {r.statistic:.4f}"
            viol(r.column, "baseline_drift_check",
                 f"Baseline drift distance for {r.column} exceeds threshold: {r.method} {score} "
                 f"(threshold {r.threshold:g})")

    report = Report(columns=results, violations=violations, dataset_drift=share >= share_threshold and n_drifted > 0,
                    drift_share=share, drift_share_threshold=share_threshold, n_current=n_rows,
                    n_reference=baseline.n_rows, missing_columns=missing, extra_columns=extra,
                    correction=correction, not_evaluated=[c for c in baseline.columns if not evaluated[c]])

    kept = pd.concat(kept_parts, ignore_index=True) if len(kept_parts) > 1 else (kept_parts[0] if kept_parts else None)

    # -------------------------------------------------------------- model quality
    if baseline.quality is not None:
        from .quality import normalise_constraints, quality_metrics, quality_violations

        cons = {**baseline.quality_constraints, **normalise_constraints(quality_constraints)}
        cols = kept.columns if kept is not None else []
        pred = baseline.prediction if baseline.prediction in cols else None
        prob = baseline.probability if baseline.probability in cols else None
        section = {"problem_type": baseline.problem_type, "baseline": baseline.quality, "constraints": cons}
        try:
            if baseline.target not in cols:
                raise Invalid(f"the current data has no ground truth column {baseline.target!r}")
            if pred is None and prob is None:
                raise Invalid("the current data has no prediction column "
                              + " or ".join(repr(c) for c in (baseline.prediction, baseline.probability) if c))
            q = quality_metrics(kept, baseline.target, pred, prob, baseline.problem_type, baseline.positive_label)
        except Invalid as exc:
            report.quality = {**section, "computable": False, "reason": str(exc)}
        else:
            report.quality = {**section, "computable": True, "problem_type": q["problem_type"], "n": q["n"],
                              "metrics": q["metrics"]}
            for v in quality_violations(q["metrics"], cons):
                violations.append({"feature_name": v["metric_name"], **v, "monitor_type": "model_quality"})

    # -------------------------------------------------------------- bias drift
    bc = baseline.bias_config
    if bc and baseline.bias:
        from .bias import bias_metrics, bias_violations

        cols = kept.columns if kept is not None else []
        section = {"facet": bc["facet"], "facet_values": bc["facet_values"], "baseline": baseline.bias,
                   "tolerance": bias_tolerance}
        try:
            lacking = [c for c in (baseline.target, bc["facet"]) if c not in cols]
            if lacking:
                raise Invalid(f"the current data has no column {', '.join(map(repr, lacking))}")
            pred = baseline.prediction if baseline.prediction in cols else None
            cur = bias_metrics(kept, label=baseline.target, facet=bc["facet"], facet_values=bc["facet_values"],
                               predicted=pred, group=bc.get("group") if bc.get("group") in cols else None,
                               label_values=bc.get("label_values"))
        except Invalid as exc:  # e.g. no row of the sensitive group: the other sections stand
            report.bias = {**section, "current": None, "computable": False, "reason": str(exc)}
        else:
            report.bias = {**section, "current": cur, "computable": True}
            for v in bias_violations(baseline.bias, cur, bias_tolerance):
                violations.append({"feature_name": bc["facet"], **v, "monitor_type": "bias"})

    # -------------------------------------------------------------- feature attribution drift
    if baseline.attributions:
        from .attribution import attribution_ndcg, attribution_violation, global_attributions

        thr = baseline.config["attribution_threshold"]
        section = {"threshold": thr, "baseline": baseline.attributions}
        try:
            if attributions is not None:  # given by the caller: a wrong one is their error, raised
                cur_attr, nd = attributions, attribution_ndcg(baseline.attributions, attributions)
            elif model is None:
                raise Invalid("no model (model=...) or current attributions (attributions=...) were given")
            else:
                sample = pd.concat(sample_parts, ignore_index=True) if sample_parts else None
                if sample is not None and len(sample) > ATTRIBUTION_SAMPLE:
                    sample = sample.sample(ATTRIBUTION_SAMPLE, random_state=0)
                feats = [f for f in baseline.attributions if sample is not None and f in sample.columns]
                if not feats:
                    raise Invalid("the current data has none of the baseline's attributed features")
                y = sample[baseline.target] if baseline.target in sample.columns else None
                cur_attr = global_attributions(model, sample[feats], y, method=attribution_method)
                nd = attribution_ndcg(baseline.attributions, cur_attr)
        except Invalid as exc:
            if attributions is not None:
                raise
            report.attribution = {**section, "ndcg": None, "current": None, "computable": False, "reason": str(exc)}
        else:
            report.attribution = {**section, "ndcg": nd, "computable": True,
                                  "current": {str(k): float(v) for k, v in cur_attr.items()}}
            for v in attribution_violation(nd, thr):
                violations.append({**v, "monitor_type": "attribution"})

    report.timings = {"scan_s": t_scan, "total_s": time.perf_counter() - t0, "workers": workers}
    report._by_name = by_name
    return report
