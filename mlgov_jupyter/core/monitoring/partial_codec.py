"""A ``Partial``'s statistics as JSON, for a pass computed in another process that is not trusted.

The service's decode workers compute a monitor run's statistics where they decode the data
(store/decode_worker.py) and send back only these: the worker decodes user-supplied Parquet, so
what it answers is checked as a stranger's would be. JSON (never pickle: loading it could run
code), and ``decode`` accepts only the shapes the baseline implies: per numeric column the counts
over its bins (``len(edges) + 1`` non-negative integers adding up to the column's finite values),
the moments, the exact values kept for small data (at most ``EXACT_LIMIT``); per categorical
column one count per slot of the reference; every column's counts adding up to the rows. The
answer's size is bounded before it is read (``max_bytes``). Anything else is ``Invalid`` with one
line naming what was wrong.

Model-quality and bias rows (``kept_parts``) and attribution samples are not carried: the caller
reads those few columns itself when the baseline needs them.
"""

from __future__ import annotations

import json
import math

import numpy as np

from ..errors import Invalid
from .check import Partial
from .stats import EXACT_LIMIT, CategoricalAcc, CategoricalRef, NumericAcc, py_value

FORMAT = 1
NEW_VALUES = 10  # unseen categories kept per column (for messages only)
VALUE_TEXT = 256  # characters of such a value kept
_INT_MAX = 1 << 63


def encode(part: Partial) -> dict:
    """``part``'s row count, column names and per-column statistics as a JSON-able dict."""
    return {"format": FORMAT, "names": [str(n) for n in part.names], "n_rows": int(part.n_rows),
            "columns": {c: _encode_acc(a) for c, a in part.accs.items()}}


def _encode_acc(acc) -> dict:
    if isinstance(acc, CategoricalAcc):
        new = [[_scalar(v), int(c)] for v, c in list(acc.new_values.items())[:NEW_VALUES]]
        return {"kind": "categorical", "vec": acc.vec.tolist(), "n_missing": int(acc.n_missing),
                "n_out_of_domain": int(acc.n_out_of_domain), "new_values": new}
    raw = np.concatenate(acc.raw).tolist() if acc.keep_raw and acc.raw else []
    return {"kind": "numeric", "n": int(acc.n), "n_missing": int(acc.n_missing), "mean": float(acc.mean),
            "m2": float(acc.m2), "min": float(acc.min), "max": float(acc.max),
            "counts": None if acc.counts is None else acc.counts.tolist(), "raw": raw, "keep_raw": bool(acc.keep_raw),
            "n_nonconforming": int(acc.n_nonconforming), "n_invalid": int(acc.n_invalid),
            "below_gap": float(acc.below_gap), "above_gap": float(acc.above_gap)}


def _scalar(v):
    v = py_value(v)
    if v is None or isinstance(v, (bool, int, float)):
        return v
    return str(v)[:VALUE_TEXT]


def max_bytes(baseline, names: list) -> int:
    """The most bytes an honest answer for ``baseline``'s columns among ``names`` takes (JSON:
    at most 24 characters a number, generously)."""
    total = 4096
    for c in names:
        ref = baseline.columns.get(c)
        if ref is None:
            continue
        total += 512 + 24 * len(str(c))
        if isinstance(ref, CategoricalRef):
            total += 24 * ref.n_slots + NEW_VALUES * (6 * VALUE_TEXT + 48)
        else:
            total += 24 * (ref.edges.size + 1) + (26 * EXACT_LIMIT if ref.raw is not None else 0)
    return total


def decode(payload: bytes, baseline, names: list) -> Partial:
    """The ``Partial`` a worker sent for data with columns ``names`` checked against ``baseline``.
    Invalid (one line) for anything an honest worker does not send."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        raise Invalid("the decode worker's statistics are not valid JSON") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise Invalid("the decode worker's statistics are not in the expected format")
    if data.get("names") != [str(n) for n in names]:
        raise Invalid("the decode worker's statistics name other columns than those read")
    n_rows = _count(data.get("n_rows"), "n_rows")
    cols = data.get("columns")
    present = [c for c in baseline.columns if c in names]
    if not isinstance(cols, dict) or sorted(cols) != sorted(present):
        raise Invalid("the decode worker's statistics cover other columns than the baseline's")
    accs = {c: _decode_acc(c, baseline.columns[c], cols[c], n_rows) for c in present}
    return Partial(list(names), accs, [], [], n_rows)


def _decode_acc(name: str, ref, d, n_rows: int):
    where = f"column {name!r}"
    if not isinstance(d, dict):
        raise Invalid(f"the decode worker's statistics of {where} are malformed")
    if isinstance(ref, CategoricalRef):
        if d.get("kind") != "categorical":
            raise Invalid(f"the decode worker's statistics of {where} are not categorical, as the baseline's are")
        vec = _counts(d.get("vec"), ref.n_slots, f"{where}: counts")
        n_missing = _count(d.get("n_missing"), f"{where}: missing")
        ood = _count(d.get("n_out_of_domain"), f"{where}: out of domain")
        if int(vec.sum()) + n_missing != n_rows or ood > n_rows:
            raise Invalid(f"the decode worker's counts of {where} do not add up to its {n_rows} rows")
        new = d.get("new_values")
        if not isinstance(new, list) or len(new) > NEW_VALUES or not all(
                isinstance(p, list) and len(p) == 2 and (p[0] is None or isinstance(p[0], (bool, int, float, str)))
                and (not isinstance(p[0], str) or len(p[0]) <= VALUE_TEXT) for p in new):
            raise Invalid(f"the decode worker's unseen values of {where} are malformed")
        return CategoricalAcc(ref, vec, n_missing, ood, {p[0]: _count(p[1], f"{where}: unseen") for p in new})
    if d.get("kind") != "numeric":
        raise Invalid(f"the decode worker's statistics of {where} are not numeric, as the baseline's are")
    acc = NumericAcc(ref)
    for key in ("n", "n_missing", "n_nonconforming", "n_invalid"):
        setattr(acc, key, _count(d.get(key), f"{where}: {key}"))
    for key in ("mean", "m2", "min", "max", "below_gap", "above_gap"):
        setattr(acc, key, _float(d.get(key), f"{where}: {key}"))
    if acc.n + acc.n_missing + acc.n_invalid != n_rows or acc.n_nonconforming > acc.n + acc.n_invalid:
        raise Invalid(f"the decode worker's counts of {where} do not add up to its {n_rows} rows")
    if d.get("counts") is None:
        if acc.n:
            raise Invalid(f"the decode worker's statistics of {where} have values but no counts")
    else:
        acc.counts = _counts(d.get("counts"), ref.edges.size + 1, f"{where}: counts")
        if int(acc.counts.sum()) != acc.n:
            raise Invalid(f"the decode worker's counts of {where} do not add up to its {acc.n} values")
    if acc.n and not (math.isfinite(acc.mean) and math.isfinite(acc.m2) and acc.m2 >= 0
                      and acc.min <= acc.max and math.isfinite(acc.min) and math.isfinite(acc.max)):
        raise Invalid(f"the decode worker's moments of {where} are not those of finite values")
    if not (acc.below_gap >= 0 and acc.above_gap >= 0 and math.isfinite(acc.below_gap + acc.above_gap)):
        raise Invalid(f"the decode worker's tails of {where} are malformed")
    keep, raw = d.get("keep_raw"), d.get("raw")
    if not isinstance(keep, bool) or not isinstance(raw, list):
        raise Invalid(f"the decode worker's exact values of {where} are malformed")
    if keep and ref.raw is not None:
        if len(raw) != acc.n or len(raw) > EXACT_LIMIT:
            raise Invalid(f"the decode worker kept {len(raw)} exact values of {where} for {acc.n} values")
        values = np.array([_float(v, f"{where}: an exact value") for v in raw], dtype="float64")
        if values.size and not np.isfinite(values).all():
            raise Invalid(f"the decode worker's exact values of {where} are not finite")
        acc.raw, acc.raw_n = ([values] if values.size else []), int(values.size)
    else:
        if raw:
            raise Invalid(f"the decode worker sent exact values of {where} it should not keep")
        acc.raw, acc.raw_n = [], 0
    acc.keep_raw = keep
    return acc


def _count(v, what: str) -> int:
    if type(v) is not int or not 0 <= v < _INT_MAX:
        raise Invalid(f"the decode worker's statistics hold a bad count ({what})")
    return v


def _float(v, what: str) -> float:
    if type(v) not in (int, float):
        raise Invalid(f"the decode worker's statistics hold a bad number ({what})")
    return float(v)


def _counts(v, size: int, what: str) -> np.ndarray:
    if not isinstance(v, list) or len(v) != size:
        raise Invalid(f"the decode worker's statistics hold {what} of the wrong length (the baseline has {size})")
    for x in v:
        if type(x) is not int or not 0 <= x < _INT_MAX:
            raise Invalid(f"the decode worker's statistics hold a bad count ({what})")
    return np.asarray(v, dtype="int64")
