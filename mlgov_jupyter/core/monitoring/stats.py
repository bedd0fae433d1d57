"""Column statistics: reference summaries (fitted once) and mergeable current accumulators.

Numeric columns are summarised by exact counts over *fine bins* whose edges are 1,000
quantiles of the reference (plus the moments, min, max). Counts over fixed edges are exact
and add up across chunks, so a check can stream data larger than memory and merge partial
results from several workers; the KS statistic is then exact at every edge (unlike a
quantile sketch whose rank error exceeds KS's critical value at a million rows). Small
samples also keep their raw sorted values so KS and Wasserstein are exact.

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
EXACT_LIMIT = 10_000  # keep raw sorted values up to this many per column (exact KS/Wasserstein)
DISCRETE_MAX_UNIQUE = 5  # numeric columns with <= 5 distinct reference values are treated as discrete
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
        values = series.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
        values[series.isna().to_numpy()] = np.nan
        return values / 1e9
    if dtype == np.float64:
        return series.to_numpy()
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        try:
            return series.to_numpy(dtype="float64", na_value=np.nan)
        except (TypeError, ValueError):
            pass
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


# --------------------------------------------------------------------------- reference


@dataclass
class NumericRef:
    name: str
    kind: str
    inferred_type: str
    n: int  # non-missing
    n_missing: int
    mean: float
    std: float
    sum: float
    min: float
    max: float
    edges: np.ndarray  # sorted unique fine-bin edges (quantiles of the reference)
    counts: np.ndarray  # len(edges) + 1: counts[j] = #{edges[j-1] < x <= edges[j]}
    discrete: bool
    raw: np.ndarray | None = None  # sorted values when n <= EXACT_LIMIT
    hist: dict | None = None  # 10 equal-width buckets (SageMaker statistics)
    n_distinct: int | None = None

    @property
    def completeness(self) -> float:
        total = self.n + self.n_missing
        return self.n / total if total else 1.0

    def to_json(self) -> dict:
        return {
            "name": self.name, "kind": self.kind, "inferred_type": self.inferred_type,
            "n": self.n, "n_missing": self.n_missing, "mean": self.mean, "std": self.std,
            "sum": self.sum, "min": self.min, "max": self.max,
            "edges": self.edges.tolist(), "counts": self.counts.tolist(),
            "discrete": self.discrete,
            "raw": None if self.raw is None else self.raw.tolist(),
            "hist": self.hist, "n_distinct": self.n_distinct,
        }

    @classmethod
    def from_json(cls, d: dict) -> "NumericRef":
        d = dict(d)
        d["edges"] = np.asarray(d["edges"], dtype="float64")
        d["counts"] = np.asarray(d["counts"], dtype="int64")
        d["raw"] = None if d.get("raw") is None else np.asarray(d["raw"], dtype="float64")
        return cls(**d)


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
    x = numeric_values(series)
    missing = ~np.isfinite(x)  # NaN and +-inf count as missing
    n_missing = int(missing.sum())
    if n_missing:
        x = x[~missing]
    n = int(x.size)
    itype = inferred_type(series, kind) if kind == NUMERIC else "Integral"
    if n == 0:
        empty = np.zeros(0)
        return NumericRef(name, kind, itype, 0, n_missing, math.nan, math.nan, 0.0, math.nan,
                          math.nan, empty, np.zeros(1, dtype="int64"), False, empty, None)
    xs = np.sort(x)
    change = np.flatnonzero(xs[1:] != xs[:-1])
    n_distinct = int(change.size + 1)
    discrete = n_distinct <= DISCRETE_MAX_UNIQUE
    if n_distinct <= FINE_BINS + 1:  # few distinct values: each is an edge, counts are exact per value
        edges = np.concatenate([xs[:1], xs[change + 1]]).astype("float64")
    else:
        qs = np.linspace(0.0, 1.0, FINE_BINS + 1)
        pos = qs * (n - 1)  # "lower" quantiles: actual data values, no interpolation
        edges = np.unique(xs[np.floor(pos).astype(np.int64)])
    del change
    # xs is sorted: counts per bin from the positions of the edges (no pass over the data)
    upto = np.searchsorted(xs, edges, side="right")
    counts = np.diff(np.concatenate([[0], upto, [n]])).astype("int64")
    hist_counts, hist_edges = np.histogram(xs, bins=10)
    mean = float(xs.mean())
    return NumericRef(
        name=name, kind=kind, inferred_type=itype, n=n, n_missing=n_missing,
        mean=mean, std=float(xs.std(ddof=1)) if n > 1 else 0.0, sum=float(xs.sum()),
        min=float(xs[0]), max=float(xs[-1]), edges=edges, counts=counts, discrete=bool(discrete),
        raw=xs.copy() if n <= EXACT_LIMIT else None,
        hist={"edges": hist_edges.tolist(), "counts": hist_counts.tolist()}, n_distinct=n_distinct,
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
    """Mergeable statistics of a numeric column of the current data against a reference."""

    ref: NumericRef
    n: int = 0
    n_missing: int = 0
    mean: float = 0.0
    m2: float = 0.0
    min: float = math.inf
    max: float = -math.inf
    counts: np.ndarray | None = None
    raw: list = field(default_factory=list)
    raw_n: int = 0
    keep_raw: bool = True
    n_nonconforming: int = 0  # values that are not of the reference's inferred type (incl. unparseable)
    n_unparseable: int = 0  # present values that are not numbers at all
    lookup: BinLookup | None = field(default=None, repr=False)

    def add(self, series: pd.Series) -> None:
        dtype = series.dtype
        if dtype in (np.int64, np.int32, np.int16, np.int8, np.uint8, np.uint16, np.uint32, np.float32):
            arr = series.to_numpy()  # no copy; converted slice by slice below
            orig_missing = 0
        else:
            arr = numeric_values(series)
            orig_missing = None
        if self.lookup is None:  # built once per baseline column, shared by every check
            if getattr(self.ref, "_lookup", None) is None:
                self.ref._lookup = BinLookup(self.ref.edges)
            self.lookup = self.ref._lookup
        check_integral = (self.ref.inferred_type == "Integral" and self.ref.kind == NUMERIC
                          and not pd.api.types.is_integer_dtype(dtype))
        nan_total = 0
        # slices keep the temporaries small (memory independent of the number of rows) and in cache
        for start in range(0, arr.size, SLICE):
            x = arr[start:start + SLICE]
            if x.dtype != np.float64:
                x = x.astype("float64")
            finite = np.isfinite(x)  # NaN and +-inf count as missing
            k_missing = x.size - int(np.count_nonzero(finite))
            if k_missing:
                if orig_missing is None:
                    orig_missing = int(series.isna().sum())
                nan_total += int(np.count_nonzero(np.isnan(x)))
                x = x[finite]
            self.n_missing += k_missing
            self._add_values(x, check_integral)
        if nan_total and orig_missing is not None:
            # values that are present but could not be read as numbers break the data type
            bad = nan_total - orig_missing
            self.n_missing -= bad
            self.n_unparseable += bad
            self.n_nonconforming += bad

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
            if acc.n == 0 and acc.n_missing == 0:
                continue
            out.n_missing += acc.n_missing
            out.n_nonconforming += acc.n_nonconforming
            out.n_unparseable += acc.n_unparseable
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
        if unseen.any():
            if self.ref.other_buckets:
                pos[unseen] = len(self.ref.values) + hash_bucket(list(cats[unseen]))
            else:
                pos[unseen] = len(self.ref.values)
        np.add.at(self.vec, pos, counts)
        if domain is not None:
            outside = domain.get_indexer(cats) < 0
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
