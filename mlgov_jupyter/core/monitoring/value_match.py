"""Which rows of a column take the given values, with the values' type reconciled to the column's.

A label column read from CSV as the strings ``"0"``/``"1"`` and a positive label given as the number
``1`` must mean the same thing; compared as they are, nothing matches and every metric built on the
match is silently wrong. SageMaker Clarify (``smclarify.bias.report._categorical_data_idx`` and
``common.convert_positive_label_values``) compares the values as given and, when none matches,
converts them to the type of the column's first element. mlgov does the same per value and a little
more carefully:

- a value of a kind the column holds (number, string, bool) is compared as it is;
- a number against a string column matches the strings that parse to that number (``"1"``,
  ``"1.0"``); Clarify converts ``1.0`` to ``"1.0"`` only, which misses ``"1"``;
- a string against a number column is parsed as a number (``"1"`` -> 1);
- bools: ``True``/``"true"``/``1`` are the same value; Clarify turns the string ``"False"`` into
  ``True`` (``bool("False")``), mlgov does not;
- if a value had to be converted and still no row matches it, that is refused (``Invalid``, one
  line naming the column and some of its values) instead of quietly counting no positives — Clarify
  then reports numbers computed with no positive label at all.

A value whose kind the column holds and that no row takes is not an error: a batch can legitimately
hold no positive label.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from ..errors import Invalid

_TRUE = {"true", "1", "1.0", "yes"}
_FALSE = {"false", "0", "0.0", "no"}


def as_list(v) -> list:
    if isinstance(v, (list, tuple, set, frozenset, np.ndarray, pd.Index, pd.Series)):
        return list(v)
    return [v]


def _kind(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, numbers.Number):
        return "number"
    if isinstance(v, str):
        return "str"
    return "other"


def _column_kinds(s: pd.Series) -> set:
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _column_kinds(pd.Series(dtype.categories))
    if pd.api.types.is_bool_dtype(dtype):
        return {"bool"}
    if pd.api.types.is_numeric_dtype(dtype):
        return {"number"}
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return {"str"}
    return {_kind(v) for v in pd.unique(s.dropna())}


def _sample(s: pd.Series, k: int = 5) -> str:
    vals = pd.unique(s.dropna())
    shown = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in vals[:k])
    return shown + (", ..." if len(vals) > k else "")


def match_values(s: pd.Series, values, what: str = "column") -> np.ndarray:
    """Boolean mask (positional) of the rows of ``s`` whose value is one of ``values``, each value's
    type reconciled to the column's as described in the module docstring. ``Invalid`` when a value of
    another type than the column's matches no row even after conversion."""
    values = as_list(values)
    kinds = _column_kinds(s)
    mask = np.zeros(len(s), dtype=bool)
    for v in values:
        k = _kind(v)
        if k in kinds or k == "other" or not kinds:
            mask |= s.isin([v]).to_numpy(dtype=bool)
            continue
        m = np.zeros(len(s), dtype=bool)
        if "str" in kinds:
            text = s.astype(object).where(s.map(lambda x: isinstance(x, str)), None)
            if k == "number":
                num = pd.to_numeric(text, errors="coerce")
                m |= (num == float(v)).fillna(False).to_numpy(dtype=bool)
            elif k == "bool":
                words = _TRUE if v else _FALSE
                m |= text.map(lambda x: isinstance(x, str) and x.strip().lower() in words).to_numpy(dtype=bool)
        if "number" in kinds:
            if k == "str":
                try:
                    m |= s.isin([float(v.strip())]).to_numpy(dtype=bool)
                except ValueError:
                    pass
            elif k == "bool":
                m |= s.isin([int(v)]).to_numpy(dtype=bool)
        if "bool" in kinds:
            b = None
            if k == "str" and v.strip().lower() in _TRUE | _FALSE:
                b = v.strip().lower() in _TRUE
            elif k == "number" and v in (0, 1):
                b = bool(v)
            if b is not None:
                m |= s.isin([b]).to_numpy(dtype=bool)
        if not m.any():
            raise Invalid(f"{what} value {v!r} ({type(v).__name__}) is not among the values of column "
                          f"{s.name!r} ({_sample(s)})")
        mask |= m
    return mask
