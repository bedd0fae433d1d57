"""Row filters as data: the tuple lists ``pandas.read_parquet(filters=...)`` takes, in JSON.

A filter is a list of ``[column, op, value]`` (all must hold), or a list of such lists (any of
them must hold: disjunctive normal form). ``op`` is one of ``= == != < <= > >= in not in``; for
``in``/``not in`` the value is a list. Checked before use, turned into a pyarrow expression by
``pyarrow.parquet.filters_to_expression`` (the same reading pandas and pyarrow give it).
"""

from __future__ import annotations

import json

from . import json_text
from .errors import Invalid

OPS = ("=", "==", "!=", "<", "<=", ">", ">=", "in", "not in")
MAX_TERMS = 100
MAX_LIST = 1_000


def normalise(filters) -> list[list[list]] | None:
    """``filters`` (a list, or its JSON text) as a list of conjunctions of ``[col, op, value]``;
    None for no filter. Invalid with one line for anything else."""
    if filters is None or filters == "" or filters == []:
        return None
    if isinstance(filters, str):
        filters = json_text.loads(filters, "filter", ": give a list of [column, op, value]")
    if not isinstance(filters, (list, tuple)) or not filters:
        raise Invalid("filter must be a list of [column, op, value] (or a list of such lists)")
    groups = [filters] if _is_term(filters[0]) else list(filters)
    out, terms = [], 0
    for group in groups:
        if not isinstance(group, (list, tuple)) or not group:
            raise Invalid("filter: each alternative must be a non-empty list of [column, op, value]")
        conj = []
        for term in group:
            if not _is_term(term):
                raise Invalid(f"filter: {json.dumps(term, default=str)[:80]} is not [column, op, value]")
            col, op, value = term
            if op not in OPS:
                raise Invalid(f"filter: unknown operator {op!r} (one of {', '.join(OPS)})")
            if op in ("in", "not in"):
                if not isinstance(value, (list, tuple)) or not value or len(value) > MAX_LIST \
                        or not all(_scalar(v) for v in value):
                    raise Invalid(f"filter: {op!r} takes a list of 1 to {MAX_LIST} values")
                value = list(value)
            elif not _scalar(value) or value is None:
                raise Invalid(f"filter: {col} {op} needs a number, string or boolean")
            conj.append([col, op, value])
            terms += 1
        out.append(conj)
    if terms > MAX_TERMS:
        raise Invalid(f"filter: at most {MAX_TERMS} conditions")
    return out


def columns_of(filters: list | None) -> set[str]:
    return {term[0] for group in filters or [] for term in group}


def to_expression(filters: list | None, schema=None):
    """The pyarrow expression of normalised ``filters`` (None stays None). With ``schema`` (a
    pyarrow schema) each value is cast to its column's type first, exactly (Invalid if it does
    not fit: 1.5 for an integer column, 2**70), so the column itself is never cast: a lossy
    cast would be computed over every row and could fail on some value."""
    if not filters:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    def value(col, v):
        try:
            scalar = pa.scalar(v)
            if schema is not None and col in schema.names:
                target = schema.field(col).type
                if pa.types.is_dictionary(target):
                    target = target.value_type
                scalar = scalar.cast(target, safe=True)
            return scalar
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            kind = f" ({schema.field(col).type})" if schema is not None and col in schema.names else ""
            raise Invalid(f"filter: {v!r} does not fit column {col!r}{kind}") from None

    ops = {"=": "__eq__", "==": "__eq__", "!=": "__ne__", "<": "__lt__", "<=": "__le__", ">": "__gt__",
           ">=": "__ge__"}
    alternatives = None
    for group in filters:
        conj = None
        for col, op, v in group:
            field = pc.field(col)
            if op in ("in", "not in"):
                try:
                    values = pa.array([value(col, x).as_py() for x in v],
                                      type=value(col, v[0]).type if v else None)
                except (pa.ArrowException, OverflowError, TypeError):
                    raise Invalid(f"filter: the values of {col!r} {op} are not of one type") from None
                term = field.isin(values)
                term = ~term if op == "not in" else term
            else:
                term = getattr(field, ops[op])(value(col, v))
            conj = term if conj is None else conj & term
        alternatives = conj if alternatives is None else alternatives | conj
    return alternatives


def conjoin(*filters: list | None) -> list | None:
    """All of the given filters at once, in disjunctive normal form (each alternative of one
    with each of the other)."""
    present = [f for f in filters if f]
    if not present:
        return None
    out = present[0]
    for other in present[1:]:
        out = [a + b for a in out for b in other]
    return out


def _is_term(x) -> bool:
    return isinstance(x, (list, tuple)) and len(x) == 3 and isinstance(x[0], str) and isinstance(x[1], str)


def _scalar(v) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))
