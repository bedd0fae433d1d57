"""One pass over Arrow record batches (what a decode worker reads from captured Parquet): the
``Partial`` that ``check.scan_partial`` computes from the same rows as DataFrames, without
converting the number columns to pandas.

A column of a plain Arrow number type (integers without nulls, float32, float64) goes to its
accumulator as the NumPy view of its buffer (``NumericAcc.add_array``: no copy, and nothing a
DataFrame per batch costs); every other column (text, dictionaries, dates, booleans, integers
with nulls) as the pandas Series ``RecordBatch.to_pandas`` makes of it, as before. The
accumulators are the same, so is the report (tests/monitoring/test_arrow_pass.py).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from ..errors import Invalid
from .baseline import Baseline
from .check import Partial, _names, kept_names
from .stats import PLAIN_DTYPES, NumericAcc, new_acc


def plain_numbers(array) -> np.ndarray | None:
    """``array`` (a pyarrow Array) as the NumPy array pandas would make of it, when that is a plain
    number dtype (``stats.PLAIN_DTYPES``): zero-copy without nulls; floats with nulls as NaN. None
    for any other type (the caller converts it through pandas)."""
    import pyarrow as pa

    t = array.type
    if pa.types.is_integer(t):
        if array.null_count:
            return None  # pandas makes it float64 with NaN; left to pandas
    elif not (pa.types.is_float32(t) or pa.types.is_float64(t)):
        return None
    x = array.to_numpy(zero_copy_only=False)
    return x if x.dtype in PLAIN_DTYPES else None


def batch_partial(baseline: Baseline, names: list, batches: Iterable, *, metadata=None,
                  keep: bool = False) -> Partial:
    """The statistics of ``batches`` (pyarrow RecordBatches holding at least the baseline's
    columns among ``names``) against ``baseline``, one batch at a time; ``metadata``: the schema
    metadata the pandas conversion of the other columns sees; ``keep``: also the rows model
    quality and bias read (``Partial.kept_parts``). Invalid, as ``scan_partial``, for a batch
    lacking a column or holding values that cannot be compared with the baseline."""
    present = [c for c in baseline.columns if c in names]
    accs = {c: new_acc(baseline.columns[c]) for c in present}
    keep_cols = kept_names(baseline, names) if keep else []
    kept_parts: list = []
    n_rows = 0
    for batch in batches:
        have = set(_names(batch.schema.names))
        lacking = [c for c in present if c not in have]
        if lacking:
            raise Invalid(f"a chunk of the current data lacks column(s) {', '.join(lacking[:5])}")
        if not batch.num_rows:
            continue
        n_rows += batch.num_rows
        direct = {}
        for c in present:
            if isinstance(accs[c], NumericAcc):
                x = plain_numbers(batch.column(c))
                if x is not None:
                    direct[c] = x
        rest = [c for c in present if c not in direct]
        rest += [c for c in keep_cols if c not in rest]
        frame = None
        if rest:
            frame = batch.select(rest).replace_schema_metadata(metadata).to_pandas(split_blocks=True)
        for c in present:
            try:
                if c in direct:
                    accs[c].add_array(direct[c])
                else:
                    accs[c].add(frame[c])
            except Invalid:
                raise
            except (TypeError, ValueError) as exc:
                raise Invalid(f"column {c!r}: cannot compare with the baseline ({exc})") from None
        if keep_cols:
            kept_parts.append(frame[keep_cols].reset_index(drop=True))
    return Partial(list(names), accs, kept_parts, [], n_rows)
