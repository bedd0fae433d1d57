"""Column statistics: reference summaries (fitted once) and mergeable current accumulators.

Numeric columns are summarised by exact counts over *fine bins* whose edges are chosen from the
reference (plus the moments, min, max). Counts over fixed edges are exact and add up across
chunks, so a check can stream data larger than memory and merge partial results from several
workers; the KS statistic is then exact at every edge (unlike a quantile sketch whose rank error
exceeds KS's critical value at a million rows). Small samples also keep their raw sorted values so
KS and Wasserstein are exact.

The bins treat a column and its mirror image alike (reflecting every value reflects the bins), so
a shift and the same shift the other way give the same statistic:

- values are grouped into *levels*: values equal to 12 significant digits are one level (float
  noise such as ``0.1 + 0.2`` versus ``0.3`` does not make a new value); a level is matched with a
  margin of ``RTOL`` (1e-9) of its magnitude on either side;
- with at most ``FINE_BINS + 1`` levels every level is its own bin (exact counts per value, and
  values between two levels, never seen in the reference, fall in the gap between them);
- otherwise the edges split the sorted reference at ~``FINE_BINS`` ranks chosen symmetrically
  (rank ``k`` from the bottom and rank ``k`` from the top), halfway between the two values either
  side of each split, so no reference value sits on an edge; a split inside a level (ties) and the
  smallest and largest levels become bins of their own.

A numeric column is *discrete* (categorical tests: chi-square, Jensen-Shannon) when it has at most
``DISCRETE_MAX_UNIQUE`` levels, so the choice does not hinge on float equality either.

What counts as missing: only what pandas calls missing (``None``, ``NaN``, ``NA``, ``NaT``).
Present values that are not finite numbers (``+-inf``, text that does not parse as a number, or
as a date against a datetime column, a number against a datetime column, a date against a numeric
one) are *invalid*: they are present (they count for completeness), are left out of the
statistics and are type violations (``data_type_check``). Datetime columns are compared in
seconds since the epoch (UTC; naive times are read as UTC); ISO 8601 strings and Timestamp or
datetime objects are parsed.

Categorical columns are summarised by value counts; high-cardinality columns keep the
``max_categories`` most frequent values and an ``other`` bucket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import Invalid

NUMERIC = "numeric"
CATEGORICAL = "categorical"
DATETIME = "datetime"
IGNORE = "ignore"
KINDS = (NUMERIC, CATEGORICAL, DATETIME, IGNORE)

FINE_BINS = 1000  # quantile bins of the reference for numeric columns
RTOL = 1e-9  # a level of a numeric column matches values within RTOL x its magnitude
LEVEL_DIGITS = 12  # values equal to this many significant digits are one level
EXACT_LIMIT = 10_000  # keep raw sorted values up to this many per column (exact KS/Wasserstein)
DISCRETE_MAX_UNIQUE = 5  # numeric columns with <= 5 levels (distinct values) are treated as discrete
MAX_CATEGORIES = 50  # top-k categories kept per categorical column; the rest is "other"
DOMAIN_MAX = 1000  # categorical domains (string_constraints.domains) kept up to this many values
DISPLAY_BINS = 20


def py_value(v: Any) -> Any:
    """A JSON-friendly Python scalar for a category value."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, (pd.Timestamp,)):
        return v.isoformat()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def infer_kind(series: pd.Series) -> str:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return CATEGORICAL
    if pd.api.types.is_bool_dtype(dtype):
        return CATEGORICAL
    if pd.api.types.is_numeric_dtype(dtype):
        return NUMERIC
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DATETIME
    return CATEGORICAL


def inferred_type(series: pd.Series, kind: str) -> str:
    """SageMaker's inferred_type: Integral | Fractional | String | Unknown."""
    if kind == CATEGORICAL:
        return "String"
    if kind == DATETIME:
        return "Integral"
    if kind != NUMERIC:
        return "Unknown"
    dtype = series.dtype
    if pd.api.types.is_integer_dtype(dtype):
        return "Integral"
    if pd.api.types.is_float_dtype(dtype):
        x = numeric_values(series)
        x = x[np.isfinite(x)]
        if x.size and np.all(np.mod(x, 1.0) == 0):
            return "Integral"
        return "Fractional"
    return "Fractional"


def numeric_values(series: pd.Series) -> np.ndarray:
    """A float64 array (NaN for missing), without copying plain float64 columns."""
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _datetime64_seconds(series)
    if dtype == np.float64:
        return series.to_numpy()
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        try:
            return series.to_numpy(dtype="float64", na_value=np.nan)
        except (TypeError, ValueError):
            pass
    return _to_numeric(series)


PLAIN_DTYPES = frozenset(np.dtype(t) for t in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                                                "uint64", "float32", "float64"))
_SECONDS = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}


def _to_numeric(series: pd.Series) -> np.ndarray:
    try:
        out = pd.to_numeric(series, errors="coerce")
    except (TypeError, ValueError):
        out = pd.to_numeric(series.astype(object), errors="coerce")
    return out.to_numpy(dtype="float64", na_value=np.nan)


def _datetime64_seconds(series: pd.Series) -> np.ndarray:
    """Seconds since the epoch (UTC for aware times) of a datetime64 column, NaN for NaT."""
    arr = series.array
    unit = getattr(arr, "unit", None)
    if unit in _SECONDS and hasattr(arr, "asi8"):
        out = arr.asi8.astype("float64") / _SECONDS[unit]
    else:  # Arrow timestamps (UTC inside)
        import pyarrow as pa

        a = pa.array(series.array)
        if isinstance(a, pa.ChunkedArray):
            a = a.combine_chunks()
        out = a.cast(pa.int64()).to_numpy(zero_copy_only=False).astype("float64") / _SECONDS[a.type.unit]
    mask = series.isna().to_numpy()
    if mask.any():
        out[mask] = np.nan
    return out


def _parse_datetimes(series: pd.Series) -> np.ndarray:
    """Seconds since the epoch of ISO 8601 strings and date/time objects (UTC; naive read as UTC), NaN
    for what is missing or is not a date (numbers are not dates here)."""
    import datetime as _dt

    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind in ("string", "datetime", "datetime64", "date"):
        candidates = series
    else:  # mixed: only strings and date/time objects may be dates
        ok = np.fromiter((isinstance(v, (str, _dt.date, np.datetime64)) for v in series), dtype=bool, count=len(series))
        candidates = series.where(ok, None)
    parsed = pd.to_datetime(candidates, errors="coerce", utc=True, format="ISO8601")
    return _datetime64_seconds(parsed)


def read_values(series: pd.Series, kind: str = NUMERIC) -> tuple[np.ndarray, int | None, int | None]:
    """``(values, n_missing, n_invalid)`` of a column read as numbers (``kind`` numeric) or as
    datetimes in seconds (``kind`` datetime).

    For plain NumPy number columns ``values`` is the column itself (no copy) and both counts are
    None: NaN are its missing values, +-inf its invalid ones. Otherwise ``values`` is float64 with NaN
    for every missing or invalid value and the counts are exact: missing is what pandas calls missing,
    invalid is every other value that is not a finite number (or date)."""
    dtype = series.dtype
    is_dt = pd.api.types.is_datetime64_any_dtype(dtype)
    if kind == DATETIME:
        if is_dt:
            x = _datetime64_seconds(series)
            return x, int(np.count_nonzero(np.isnan(x))), 0
        if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            x = np.full(len(series), np.nan)  # a number is not a date: invalid, never guessed as epochs
        else:
            x = _parse_datetimes(series)
    else:
        if dtype in PLAIN_DTYPES:
            return series.to_numpy(), None, None
        if is_dt:
            x = np.full(len(series), np.nan)  # dates against a numeric column: invalid
        else:
            x = numeric_values(series)
            if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
                # nullable numbers (Int64, Float64, boolean...): NA and NaN missing, +-inf invalid
                n_nan = int(np.count_nonzero(np.isnan(x)))
                n_inf = int(np.count_nonzero(np.isinf(x)))
                if n_inf:
                    x = np.where(np.isinf(x), np.nan, x)
                return x, n_nan, n_inf
    missing = series.isna().to_numpy()
    n_missing = int(np.count_nonzero(missing))
    bad = ~np.isfinite(x)
    n_invalid = int(np.count_nonzero(bad)) - n_missing
    if bad.any():
        x = np.where(bad, np.nan, x)
    return x, n_missing, n_invalid


def finite_values(series: pd.Series, kind: str = NUMERIC) -> tuple[np.ndarray, int, int]:
    """``(finite float64 values, n_missing, n_invalid)`` of a whole column."""
    x, n_missing, n_invalid = read_values(series, kind)
    x = np.asarray(x, dtype="float64")
    finite = np.isfinite(x)
    if n_missing is None:
        n_missing = int(np.count_nonzero(np.isnan(x)))
        n_invalid = int(x.size - np.count_nonzero(finite)) - n_missing
    return (x if finite.all() else x[finite]), n_missing, n_invalid


def _round_sig(u: np.ndarray, digits: int = LEVEL_DIGITS) -> np.ndarray:
    """``u`` rounded to ``digits`` significant digits (a grouping key: odd under negation)."""
    a = np.abs(u)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        e = np.floor(np.log10(np.where(a > 0, a, 1.0)))
        e = np.clip(e, -290, 290)
        f = 10.0 ** (digits - 1 - e)
        return np.round(u * f) / f


def levels_of(u: np.ndarray) -> np.ndarray:
    """Index in ``u`` (sorted distinct finite values) of the first value of each level: the values
    equal to ``LEVEL_DIGITS`` significant digits (no chaining: a level is never wider than that)."""
    if u.size < 2:
        return np.zeros(u.size, dtype=np.int64)
    # only neighbours closer than 1e-10 of their magnitude can round alike: key those alone
    with np.errstate(invalid="ignore"):
        near = np.flatnonzero(np.diff(u) <= 1e-10 * np.maximum(np.abs(u[:-1]), np.abs(u[1:])))
    same = np.zeros(u.size - 1, dtype=bool)
    if near.size:
        same[near] = _round_sig(u[near]) == _round_sig(u[near + 1])
    return np.concatenate([[0], np.flatnonzero(~same) + 1])


def level_bounds(lo: np.ndarray, hi: np.ndarray, scale: float, idx: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The bin ``(lower, upper]`` of each level (of those at ``idx``): RTOL of its magnitude either side
    (RTOL x ``scale`` for the level 0), never past halfway to the neighbouring level, and always
    strictly below its smallest value."""
    if idx is None:
        idx = np.arange(lo.size)
    l, h = lo[idx], hi[idx]
    pad = RTOL * np.maximum(np.abs(l), np.abs(h))
    pad = np.where(pad > 0, pad, RTOL * scale)
    lower, upper = l - pad, h + pad
    has_prev, has_next = idx > 0, idx < lo.size - 1
    lower[has_prev] = np.maximum(lower[has_prev], (hi[idx[has_prev] - 1] + l[has_prev]) / 2)
    upper[has_next] = np.minimum(upper[has_next], (h[has_next] + lo[idx[has_next] + 1]) / 2)
    lower = np.where(lower < l, lower, np.nextafter(l, -np.inf))
    upper = np.maximum(upper, h)
    return lower, upper


def split_ranks(n: int, bins: int = FINE_BINS) -> np.ndarray:
    """Ranks k (1..n-1; a split between sorted positions k-1 and k) at about ``bins`` quantiles, chosen
    from the bottom for the lower half and from the top for the upper half (mirror-symmetric)."""
    j = np.arange(1, bins, dtype=np.int64)
    left = (j * n) // bins
    right = n - ((bins - j) * n) // bins
    k = np.where(2 * j < bins, left, right)
    mid = j[2 * j == bins]
    if mid.size:
        k = np.concatenate([k, left[mid - 1], right[mid - 1]])
    k = np.unique(k)
    return k[(k >= 1) & (k <= n - 1)]


def numeric_layout(u: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, list | None, int]:
    """The bins of a numeric column from its sorted distinct finite values ``u`` and their counts ``w``
    (or weights, e.g. a sketch's): ``(edges, counts per bin, levels, number of levels)``, as the
    module's docstring describes; ``levels`` (one value per level, its most frequent) for discrete
    columns, else None. Counts are ``w``'s type."""
    start = levels_of(u)
    n_levels = int(start.size)
    end = np.concatenate([start[1:] - 1, [u.size - 1]])
    lo, hi = u[start], u[end]
    scale = float(max(abs(u[0]), abs(u[-1])))
    cum = np.cumsum(w)
    total = cum[-1]
    if n_levels <= FINE_BINS + 1:  # few levels: each is a bin of its own, counts are exact per value
        lower, upper = level_bounds(lo, hi, scale)
        edges = np.unique(np.concatenate([lower, upper]))
    else:
        if np.issubdtype(np.asarray(w).dtype, np.integer):
            pos = split_ranks(int(total), FINE_BINS)
        else:
            j = np.arange(1, FINE_BINS)
            pos = np.unique(np.concatenate([j[2 * j <= FINE_BINS] * total / FINE_BINS,
                                            total - j[2 * j <= FINE_BINS] * total / FINE_BINS]))
        a = np.minimum(np.searchsorted(cum, pos, side="left"), u.size - 1)  # the value holding position pos
        after = (cum[a] == pos) & (a + 1 < u.size)  # the split falls between value a and the next
        level_a = np.searchsorted(start, a, side="right") - 1
        between = after.copy()
        between[after] = level_a[after] != np.searchsorted(start, a[after] + 1, side="right") - 1
        mids = (u[a[between]] + u[a[between] + 1]) / 2
        # a split inside a level (ties) makes that level a bin of its own; the outer edges are the
        # bounds of the smallest and largest levels
        own = np.unique(level_a[~between])
        lower, upper = level_bounds(lo, hi, scale, own)
        ends = level_bounds(lo, hi, scale, np.array([0, n_levels - 1]))
        edges = np.unique(np.concatenate([mids, lower, upper, ends[0][:1], ends[1][1:]]))
    # u is sorted: counts per bin from the cumulative counts at each edge (no pass over the data)
    upto = np.concatenate([[0], cum])[np.searchsorted(u, edges, side="right")]
    counts = np.diff(np.concatenate([[0], upto, [total]]))
    levels = None
    if n_levels <= DISCRETE_MAX_UNIQUE:  # label each level by its most frequent value
        levels = [float(u[i + int(np.argmax(w[i: e + 1]))]) for i, e in zip(start, end)]
    return edges, counts, levels, n_levels


# --------------------------------------------------------------------------- reference


@dataclass
class NumericRef:
    name: str
    kind: str
    inferred_type: str
    n: int  # finite values (the statistics are of these)
    n_missing: int  # missing values (None, NaN, NA, NaT)
    mean: float
    std: float
    sum: float
    min: float
    max: float
    edges: np.ndarray  # sorted fine-bin edges (see the module's docstring)
    counts: np.ndarray  # len(edges) + 1: counts[j] = #{edges[j-1] < x <= edges[j]}
    discrete: bool
    raw: np.ndarray | None = None  # sorted values when n <= EXACT_LIMIT
    hist: dict | None = None  # 10 equal-width buckets (SageMaker statistics)
    n_distinct: int | None = None  # levels (distinct values up to float noise)
    n_invalid: int = 0  # present values that are not finite numbers (+-inf, unparseable)
    levels: list | None = None  # discrete columns: one value per level, in order

    @property
    def n_present(self) -> int:
        """Values present (not missing), valid or not: SageMaker's num_present."""
        return self.n + self.n_invalid

    @property
    def completeness(self) -> float:
        total = self.n_present + self.n_missing
        return self.n_present / total if total else 1.0

    def to_json(self) -> dict:
        return {
            "name": self.name, "kind": self.kind, "inferred_type": self.inferred_type,
            "n": self.n, "n_missing": self.n_missing, "mean": self.mean, "std": self.std,
            "sum": self.sum, "min": self.min, "max": self.max,
            "edges": self.edges.tolist(), "counts": self.counts.tolist(),
            "discrete": self.discrete,
            "raw": None if self.raw is None else self.raw.tolist(),
            "hist": self.hist, "n_distinct": self.n_distinct, "n_invalid": self.n_invalid,
            "levels": self.levels,
        }

    @classmethod
    def from_json(cls, d: dict) -> "NumericRef":
        d = dict(d)
        d["edges"] = np.asarray(d["edges"], dtype="float64")
        d["counts"] = np.asarray(d["counts"], dtype="int64")
        d["raw"] = None if d.get("raw") is None else np.asarray(d["raw"], dtype="float64")
        if d.get("discrete") and "levels" not in d and d["edges"].size:
            # written before levels: one edge per distinct value, each value's count in its bin
            levels = d["edges"]
            scale = float(np.max(np.abs(levels)))
            lower, upper = level_bounds(levels, levels.copy(), scale)
            edges = np.unique(np.concatenate([lower, upper]))
            counts = np.zeros(edges.size + 1, dtype="int64")
            counts[np.searchsorted(edges, levels, side="left")] = d["counts"][: levels.size]
            counts[-1] += d["counts"][levels.size:].sum()
            d["edges"], d["counts"], d["levels"] = edges, counts, levels.tolist()
        return cls(**d)

    def level_bins(self) -> np.ndarray:
        """The bin of each of ``levels`` (discrete columns)."""
        return np.searchsorted(self.edges, np.asarray(self.levels or [], dtype="float64"), side="left")


@dataclass
class CategoricalRef:
    name: str
    kind: str
    inferred_type: str
    n: int
    n_missing: int
    values: list  # the kept categories (top-k by count), in order
    counts: np.ndarray  # counts of `values`
    other: int  # reference rows outside `values`
    distinct: int
    domain: list | None  # all distinct values when distinct <= DOMAIN_MAX
    # high cardinality: counts of the values outside `values`, spread over HASH_BUCKETS stable hash
    # buckets, so that traffic moving between rare values still shows
    other_buckets: list | None = None

    @property
    def n_slots(self) -> int:
        return len(self.values) + (len(self.other_buckets) if self.other_buckets else 1)

    @property
    def completeness(self) -> float:
        total = self.n + self.n_missing
        return self.n / total if total else 1.0

    def to_json(self) -> dict:
        return {
            "name": self.name, "kind": self.kind, "inferred_type": self.inferred_type,
            "n": self.n, "n_missing": self.n_missing, "values": self.values,
            "counts": self.counts.tolist(), "other": self.other, "distinct": self.distinct,
            "domain": self.domain, "other_buckets": self.other_buckets,
        }

    @classmethod
    def from_json(cls, d: dict) -> "CategoricalRef":
        d = dict(d)
        d["counts"] = np.asarray(d["counts"], dtype="int64")
        return cls(**d)


def ref_from_json(d: dict):
    return CategoricalRef.from_json(d) if d["kind"] == CATEGORICAL else NumericRef.from_json(d)


def fit_numeric(name: str, series: pd.Series, kind: str = NUMERIC) -> NumericRef:
    x, n_missing, n_invalid = finite_values(series, DATETIME if kind == DATETIME else NUMERIC)
    n = int(x.size)
    itype = inferred_type(series, kind) if kind == NUMERIC else "Integral"
    if n == 0:
        empty = np.zeros(0)
        return NumericRef(name=name, kind=kind, inferred_type=itype, n=0, n_missing=n_missing, mean=math.nan,
                          std=math.nan, sum=0.0, min=math.nan, max=math.nan, edges=empty,
                          counts=np.zeros(1, dtype="int64"), discrete=False, raw=empty, hist=None,
                          n_distinct=0, n_invalid=n_invalid)
    xs = np.sort(x)
    del x
    first = np.concatenate([[0], np.flatnonzero(xs[1:] != xs[:-1]) + 1])
    edges, counts, levels, n_levels = numeric_layout(xs[first], np.diff(np.append(first, n)))
    counts = counts.astype("int64")
    discrete = levels is not None
    hist_counts, hist_edges = np.histogram(xs, bins=10)
    mean = float(xs.mean())
    return NumericRef(
        name=name, kind=kind, inferred_type=itype, n=n, n_missing=n_missing,
        mean=mean, std=float(xs.std(ddof=1)) if n > 1 else 0.0, sum=float(xs.sum()),
        min=float(xs[0]), max=float(xs[-1]), edges=edges, counts=counts, discrete=bool(discrete),
        raw=xs.copy() if n <= EXACT_LIMIT else None,
        hist={"edges": hist_edges.tolist(), "counts": hist_counts.tolist()}, n_distinct=n_levels,
        n_invalid=n_invalid, levels=levels,
    )


LUT_CELLS = 65536
SLICE = 1 << 16  # rows per slice inside one column
LUT_MAX_PASSES = 4


class BinLookup:
    """Fast ``searchsorted(edges, x, 'left')`` for many x: an equal-width grid over the edges gives a
    lower bound of the answer for each cell, then a few vectorised corrections make it exact. Falls
    back to ``searchsorted`` when the edges are too unevenly spread (heavy tails)."""

    def __init__(self, edges: np.ndarray, cells: int = LUT_CELLS):
        self.edges = edges
        self.ok = False
        if edges.size < 2 or not np.all(np.isfinite(edges[[0, -1]])):
            return
        lo, hi = float(edges[0]), float(edges[-1])
        width = (hi - lo) / cells
        if not width > 0:
            return
        c = np.arange(cells, dtype="float64")
        start = np.searchsorted(edges, lo + (c - 1) * width, side="left")
        end = np.searchsorted(edges, lo + (c + 2) * width, side="left")
        passes = int((end - start).max())
        if passes > LUT_MAX_PASSES:
            return
        self.lo, self.inv, self.passes = lo, 1.0 / width, passes
        self.start = start.astype(np.int32)
        self.ext = np.append(edges, np.inf)
        self.ok = True

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if not self.ok:
            return np.searchsorted(self.edges, x, side="left")
        c = x - self.lo
        c *= self.inv
        np.clip(c, 0, self.start.size - 1, out=c)
        idx = self.start[c.astype(np.int32)]
        del c
        ext = self.ext
        for _ in range(self.passes):
            idx += ext[idx] < x
        return idx


def bin_counts(edges: np.ndarray, x: np.ndarray, lookup: BinLookup | None = None) -> np.ndarray:
    """counts[j] = #{edges[j-1] < x <= edges[j]}; len(edges)+1 bins (last: above the top edge)."""
    idx = lookup(x) if lookup is not None else np.searchsorted(edges, x, side="left")
    return np.bincount(idx, minlength=edges.size + 1).astype("int64")


def category_counts(series: pd.Series) -> np.ndarray:
    """[missing, count of category 0, 1, ...] from the codes, slice by slice (codes may be int8)."""
    codes = series.cat.codes.to_numpy()
    size = len(series.dtype.categories) + 1
    out = np.zeros(size, dtype="int64")
    for start in range(0, codes.size, 1 << 16):
        out += np.bincount(codes[start:start + (1 << 16)].astype(np.intp) + 1, minlength=size)
    return out


def value_counts(series: pd.Series) -> tuple[dict, int]:
    """({value: count} over non-missing values, number missing), fast for categorical/str."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cnt = category_counts(series)
        cats = dtype.categories
        out = {py_value(cats[i]): int(c) for i, c in enumerate(cnt[1:]) if c}
        return out, int(cnt[0])
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        try:
            import pyarrow as pa
            import pyarrow.compute as pc

            arr = pa.array(series, from_pandas=True)
            if isinstance(arr, pa.ChunkedArray):
                arr = arr.combine_chunks()
            n_missing = arr.null_count
            vc = pc.value_counts(arr)
            vals = vc.field("values").to_pylist()
            cnts = vc.field("counts").to_pylist()
            return {v: int(c) for v, c in zip(vals, cnts) if v is not None}, int(n_missing)
        except Exception:  # pragma: no cover - fall back to pandas
            pass
    vc = series.value_counts(dropna=True, sort=False)
    n_missing = int(series.isna().sum())
    return {py_value(k): int(v) for k, v in vc.items()}, n_missing


HASH_BUCKETS = 50


def text_key(v) -> str:
    """A category as text, as a CSV cell reads: ``"1"``, ``1`` and ``1.0`` are ``"1"``; ``2.5`` is ``"2.5"``.
    Categories typed differently in the current data (numbers read where the reference had text, or
    the reverse) are matched by it."""
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return str(int(f)) if f.is_integer() and abs(f) < 2 ** 53 else repr(f)
    return str(py_value(v))


def hash_bucket(values) -> np.ndarray:
    """Stable (unsalted) hash bucket of each value's string form."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.intp)
    h = pd.util.hash_array(np.asarray([str(v) for v in values], dtype=object))
    return (h % np.uint64(HASH_BUCKETS)).astype(np.intp)


def fit_categorical(name: str, series: pd.Series, max_categories: int = MAX_CATEGORIES) -> CategoricalRef:
    counts, n_missing = value_counts(series)
    n = int(sum(counts.values()))
    items = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    kept = items[:max_categories]
    other = n - sum(c for _, c in kept)
    buckets = None
    if len(items) > max_categories:
        rest = items[max_categories:]
        slot = hash_bucket([v for v, _ in rest])
        buckets = np.bincount(slot, weights=[c for _, c in rest], minlength=HASH_BUCKETS).astype("int64").tolist()
    return CategoricalRef(
        other_buckets=buckets,
        name=name, kind=CATEGORICAL, inferred_type="String", n=n, n_missing=n_missing,
        values=[v for v, _ in kept], counts=np.asarray([c for _, c in kept], dtype="int64"),
        other=int(other), distinct=len(counts),
        domain=[v for v, _ in items] if len(items) <= DOMAIN_MAX else None,
    )


# --------------------------------------------------------------------------- current data


@dataclass
class NumericAcc:
    """Mergeable statistics of a numeric (or datetime) column of the current data against a reference."""

    ref: NumericRef
    n: int = 0  # finite values
    n_missing: int = 0
    mean: float = 0.0
    m2: float = 0.0
    min: float = math.inf
    max: float = -math.inf
    counts: np.ndarray | None = None
    raw: list = field(default_factory=list)
    raw_n: int = 0
    keep_raw: bool = True
    n_nonconforming: int = 0  # present values not of the reference's inferred type (incl. every invalid one)
    n_invalid: int = 0  # present values that are not finite numbers (or not dates, for datetime columns)
    below_gap: float = 0.0  # sum of (lowest edge - x) over the values in the lowest bin (x <= lowest edge)
    above_gap: float = 0.0  # sum of (x - top edge) over the values above the top edge
    lookup: BinLookup | None = field(default=None, repr=False)

    @property
    def n_present(self) -> int:
        return self.n + self.n_invalid

    @property
    def n_unparseable(self) -> int:  # the name before n_invalid
        return self.n_invalid

    def add(self, series: pd.Series) -> None:
        ref = self.ref
        arr, n_missing, n_invalid = read_values(series, DATETIME if ref.kind == DATETIME else NUMERIC)
        if n_missing is not None:
            self.n_missing += n_missing
            self.n_invalid += n_invalid
            self.n_nonconforming += n_invalid
        self._add_array(arr, n_missing is not None, pd.api.types.is_integer_dtype(series.dtype))

    def add_array(self, arr: np.ndarray) -> None:
        """What ``add`` does with a Series of a plain NumPy number dtype (``PLAIN_DTYPES``), from the
        array itself (e.g. an Arrow column's buffer, without a copy): NaN missing, +-inf invalid."""
        if self.ref.kind == DATETIME or arr.dtype not in PLAIN_DTYPES:
            raise TypeError(f"add_array takes a plain number array of a numeric column, not {arr.dtype}")
        self._add_array(arr, False, arr.dtype.kind in "iu")

    def _add_array(self, arr: np.ndarray, counted: bool, integer_dtype: bool) -> None:
        ref = self.ref
        if self.lookup is None:  # built once per baseline column, shared by every check
            if getattr(ref, "_lookup", None) is None:
                ref._lookup = BinLookup(ref.edges)
            self.lookup = ref._lookup
        check_integral = ref.inferred_type == "Integral" and ref.kind == NUMERIC and not integer_dtype
        # slices keep the temporaries small (memory independent of the number of rows) and in cache
        for start in range(0, arr.size, SLICE):
            x = arr[start:start + SLICE]
            if x.dtype != np.float64:
                x = x.astype("float64")
            finite = np.isfinite(x)
            k_bad = x.size - int(np.count_nonzero(finite))
            if k_bad:
                if not counted:  # a plain number column: NaN is missing, +-inf invalid
                    k_nan = int(np.count_nonzero(np.isnan(x)))
                    self.n_missing += k_nan
                    self.n_invalid += k_bad - k_nan
                    self.n_nonconforming += k_bad - k_nan
                x = x[finite]
            self._add_values(x, check_integral)

    def _add_values(self, x: np.ndarray, check_integral: bool) -> None:
        ref = self.ref
        k = int(x.size)
        if k == 0:
            return
        if check_integral:
            self.n_nonconforming += int(np.count_nonzero(np.mod(x, 1.0)))
        c_mean = float(x.sum()) / k
        c_m2 = float(np.einsum("i,i->", x, x)) - k * c_mean * c_mean  # einsum: no BLAS threads
        if c_m2 < 1e-6 * k * c_mean * c_mean:  # cancellation: recompute with centred values
            d = x - c_mean
            c_m2 = float(np.einsum("i,i->", d, d))
            del d
        tot = self.n + k
        delta = c_mean - self.mean
        self.m2 += c_m2 + delta * delta * self.n * k / tot
        self.mean += delta * k / tot
        self.n = tot
        self.min = min(self.min, float(x.min()))
        self.max = max(self.max, float(x.max()))
        c = bin_counts(ref.edges, x, self.lookup)
        if ref.edges.size:
            if c[0]:  # exact tails for Wasserstein: how far below / above the reference's edges
                lo = ref.edges[0]
                self.below_gap += float(np.sum(lo - x[x <= lo]))
            if c[-1]:
                hi = ref.edges[-1]
                self.above_gap += float(np.sum(x[x > hi] - hi))
        self.counts = c if self.counts is None else self.counts + c
        if self.keep_raw:
            if self.raw_n + k <= EXACT_LIMIT and ref.raw is not None:
                self.raw.append(np.array(x, copy=True))
                self.raw_n += k
            else:
                self.keep_raw = False
                self.raw = []

    def merge(self, other: "NumericAcc") -> "NumericAcc":
        out = NumericAcc(self.ref)
        for acc in (self, other):
            out.n_missing += acc.n_missing
            out.n_nonconforming += acc.n_nonconforming
            out.n_invalid += acc.n_invalid
            out.below_gap += acc.below_gap
            out.above_gap += acc.above_gap
            if acc.n:
                tot = out.n + acc.n
                delta = acc.mean - out.mean
                out.m2 += acc.m2 + delta * delta * out.n * acc.n / tot
                out.mean += delta * acc.n / tot
                out.n = tot
                out.min, out.max = min(out.min, acc.min), max(out.max, acc.max)
                out.counts = acc.counts.copy() if out.counts is None else out.counts + acc.counts
        out.keep_raw = self.keep_raw and other.keep_raw and self.raw_n + other.raw_n <= EXACT_LIMIT
        out.raw = self.raw + other.raw if out.keep_raw else []
        out.raw_n = self.raw_n + other.raw_n if out.keep_raw else 0
        return out

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else 0.0

    def raw_values(self) -> np.ndarray | None:
        if not self.keep_raw or self.ref.raw is None:
            return None
        return np.sort(np.concatenate(self.raw)) if self.raw else np.zeros(0)

    def final_counts(self) -> np.ndarray:
        return self.counts if self.counts is not None else np.zeros(self.ref.edges.size + 1, "int64")


@dataclass
class CategoricalAcc:
    """Counts over the reference's kept values plus 'other', and the count outside the domain."""

    ref: CategoricalRef
    vec: np.ndarray | None = None
    n_missing: int = 0
    n_out_of_domain: int = 0
    new_values: dict = field(default_factory=dict)  # a few unseen values, for messages

    def __post_init__(self):
        if self.vec is None:
            self.vec = np.zeros(self.ref.n_slots, dtype="int64")

    def _indexes(self):
        ref = self.ref
        if getattr(ref, "_kept_index", None) is None:
            ref._kept_index = pd.Index(ref.values, dtype=object)
            ref._domain_index = pd.Index(ref.domain, dtype=object) if ref.domain is not None else None
        return ref._kept_index, ref._domain_index

    def _texts(self):
        """The reference's kept values and domain by their text (``text_key``), built when first needed."""
        ref = self.ref
        if getattr(ref, "_kept_text", None) is None:
            kept: dict = {}
            for i, v in enumerate(ref.values):
                kept.setdefault(text_key(v), i)
            ref._kept_text = kept
            ref._domain_text = None if ref.domain is None else {text_key(v) for v in ref.domain}
        return ref._kept_text, ref._domain_text

    def add(self, series: pd.Series) -> None:
        dtype = series.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            cnt = category_counts(series)
            self.n_missing += int(cnt[0])
            cats, counts = dtype.categories, cnt[1:]
            present = counts > 0
            cats, counts = cats[present], counts[present]
        else:
            vc, missing = value_counts(series)
            self.n_missing += missing
            cats, counts = list(vc.keys()), np.fromiter(vc.values(), dtype="int64", count=len(vc))
        if len(counts) == 0:
            return
        cats = pd.Index([py_value(v) for v in cats], dtype=object) if not isinstance(cats, pd.Index) \
            else pd.Index(cats.astype(object), dtype=object)
        kept, domain = self._indexes()
        pos = kept.get_indexer(cats)
        unseen = pos < 0
        if unseen.any():  # the same value typed otherwise ("1" and 1, 1.0): the same category, as text
            kept_text, _ = self._texts()
            where = np.flatnonzero(unseen)
            found = np.fromiter((kept_text.get(text_key(v), -1) for v in cats[where]), dtype=np.intp,
                                count=where.size)
            pos[where] = found
            unseen = pos < 0
        if unseen.any():
            if self.ref.other_buckets:
                pos[unseen] = len(self.ref.values) + hash_bucket(list(cats[unseen]))
            else:
                pos[unseen] = len(self.ref.values)
        np.add.at(self.vec, pos, counts)
        if domain is not None:
            outside = domain.get_indexer(cats) < 0
            if outside.any():
                _, domain_text = self._texts()
                where = np.flatnonzero(outside)
                outside[where] = [text_key(v) not in domain_text for v in cats[where]]
            self.n_out_of_domain += int(counts[outside].sum())
            if outside.any() and len(self.new_values) < 10:
                for v, c in zip(cats[outside][:10], counts[outside][:10]):
                    self.new_values[py_value(v)] = int(c)

    def merge(self, other: "CategoricalAcc") -> "CategoricalAcc":
        out = CategoricalAcc(self.ref, self.vec + other.vec, self.n_missing + other.n_missing,
                             self.n_out_of_domain + other.n_out_of_domain, {**self.new_values, **other.new_values})
        return out

    @property
    def n(self) -> int:
        return int(self.vec.sum())

    def vector(self) -> tuple[np.ndarray, np.ndarray]:
        """(reference, current) counts over the kept reference values plus 'other'."""
        ref = self.ref
        tail = ref.other_buckets if ref.other_buckets else [ref.other]
        return np.concatenate([ref.counts, np.asarray(tail, dtype="int64")]).astype("int64"), self.vec

    def out_of_domain(self) -> int | None:
        return None if self.ref.domain is None else self.n_out_of_domain


def new_acc(ref):
    return CategoricalAcc(ref) if isinstance(ref, CategoricalRef) else NumericAcc(ref)


def check_kind(name: str, kind: str) -> str:
    if kind not in KINDS:
        raise Invalid(f"column {name!r}: unknown column type {kind!r} (use one of {', '.join(KINDS)})")
    return kind
