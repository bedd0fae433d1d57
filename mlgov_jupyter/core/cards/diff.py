"""Differences between two versions of card content."""

from __future__ import annotations

from typing import Any

import json
import re

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")


def _key(k: Any) -> str:
    return f".{k}" if _IDENT.match(str(k)) else "[" + json.dumps(str(k)) + "]"


def _path(segments: list) -> str:
    return "".join(segments).lstrip(".")

_ABSENT = object()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _named(items: Any) -> bool:
    """A list of dicts each with a distinct string ``name`` (metrics, hyperparameters, groups)."""
    if not isinstance(items, list) or not items:
        return False
    names = [i.get("name") if isinstance(i, dict) else None for i in items]
    return all(isinstance(n, str) for n in names) and len(set(names)) == len(names)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_CHARTS = ("linear_graph", "bar_chart", "matrix")  # SageMaker card metric types with list values


def _curve(v: Any) -> bool:
    """A chart's data: a list of numbers (bar chart) or of lists of numbers (a linear graph's
    ``[x, y]`` points, a matrix's rows)."""
    return isinstance(v, list) and bool(v) and (
        all(_number(x) for x in v)
        or all(isinstance(x, list) and x and all(_number(y) for y in x) for x in v))


def diff(content_a: Any, content_b: Any) -> list[dict]:
    """Changes from ``content_a`` to ``content_b``: ``[{path, op, old, new}]``.

    ``op`` is ``added``, ``removed`` or ``changed``; an absent side is ``None``. Paths look like
    ``intended_uses.risk_rating``; lists of named items are matched by name
    (``training_details.training_job_details.hyper_parameters[name=C].value``), other lists by index.
    A chart's data (a list of numbers or of lists of numbers: curve points, matrix rows, bars) is one
    change, not one per coordinate, with ``chart`` (the metric's ``type``) when the content names it.
    :func:`describe` adds display text.
    """
    changes: list[dict] = []

    def emit(path: list, old: Any, new: Any) -> None:
        op = "added" if old is _ABSENT else "removed" if new is _ABSENT else "changed"
        changes.append({
            "path": _path(path),
            "op": op,
            "old": None if old is _ABSENT else old,
            "new": None if new is _ABSENT else new,
        })

    def walk(a: Any, b: Any, path: list, chart: Any = None) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in list(a) + [k for k in b if k not in a]:
                va, vb = a.get(key, _ABSENT), b.get(key, _ABSENT)
                if va is _ABSENT or vb is _ABSENT:
                    emit(path + [_key(key)], va, vb)
                else:
                    kind = b.get("type") if key == "value" and b.get("type") in _CHARTS else None
                    walk(va, vb, path + [_key(key)], kind)
        elif isinstance(a, list) and isinstance(b, list):
            if _curve(a) or _curve(b):
                if a != b:
                    emit(path, a, b)
                    if chart:
                        changes[-1]["chart"] = chart
            elif _named(a) and _named(b):
                ia = {i["name"]: i for i in a}
                ib = {i["name"]: i for i in b}
                for name in list(ia) + [n for n in ib if n not in ia]:
                    va, vb = ia.get(name, _ABSENT), ib.get(name, _ABSENT)
                    p = path + [f"[name={name}]"]
                    if va is _ABSENT or vb is _ABSENT:
                        emit(p, va, vb)
                    else:
                        walk(va, vb, p)
                if [i["name"] for i in a if i["name"] in ib] != [i["name"] for i in b if i["name"] in ia]:
                    emit(path + [" (order)"], [i["name"] for i in a], [i["name"] for i in b])
            else:
                for i in range(max(len(a), len(b))):
                    va = a[i] if i < len(a) else _ABSENT
                    vb = b[i] if i < len(b) else _ABSENT
                    if va is _ABSENT or vb is _ABSENT:
                        emit(path + [f"[{i}]"], va, vb)
                    else:
                        walk(va, vb, path + [f"[{i}]"])
        elif not _same(a, b):
            emit(path, a, b)

    walk(content_a or {}, content_b or {}, [])
    return changes


SIGNIFICANT = 4  # digits a number is shown with (more only where two values would look equal)


def _num(v: float, digits: int = SIGNIFICANT) -> str:
    if isinstance(v, int) and abs(v) < 10 ** 15:
        return str(v)
    return f"{v:.{digits}g}"


def _points(v: list, chart: Any = None) -> str:
    n = len(v)
    if all(_number(x) for x in v):
        return f"{n} value" if n == 1 else f"{n} values"
    if chart != "matrix" and all(len(x) == 2 for x in v):
        return f"{n} point" if n == 1 else f"{n} points"
    return f"{n}×{len(v[0])} matrix" if all(len(x) == len(v[0]) for x in v) else f"{n} rows"


def _round(v: Any, digits: int) -> Any:
    if isinstance(v, float):
        return float(_num(v, digits))
    if isinstance(v, list):
        return [_round(x, digits) for x in v]
    if isinstance(v, dict):
        return {k: _round(x, digits) for k, x in v.items()}
    return v


def _text(v: Any, width: int, digits: int = SIGNIFICANT, chart: Any = None) -> str:
    if _number(v):
        return _num(v, digits)
    if _curve(v):
        return _points(v, chart)
    s = repr(v) if isinstance(v, (str, bool)) or v is None else json.dumps(_round(v, digits), default=str)
    return s if len(s) <= width else s[: width - 1] + "…"


def describe(change: dict, width: int = 80) -> dict:
    """``change`` with display text: ``old_text``/``new_text`` (None on an absent side; numbers with
    4 significant digits, more only where old and new would otherwise read the same; strings
    quoted; at most ``width`` characters) and, for a chart's data, ``summary``
    (``"changed, 87 points"``, ``"changed, 87 → 90 points"``, ``"87 points"``)."""
    old, new = change["old"], change["new"]
    digits = SIGNIFICANT
    if _number(old) and _number(new):
        while digits < 17 and _num(old, digits) == _num(new, digits):
            digits += 1
    out = dict(change)
    chart = change.get("chart")
    out["old_text"] = None if change["op"] == "added" else _text(old, width, digits, chart)
    out["new_text"] = None if change["op"] == "removed" else _text(new, width, digits, chart)
    if _curve(old) or _curve(new):
        if change["op"] != "changed":
            out["summary"] = out["old_text"] or out["new_text"]
        elif _curve(old) and _curve(new) and out["old_text"] == out["new_text"]:
            out["summary"] = f"changed, {out['new_text']}"
        else:
            out["summary"] = f"changed, {out['old_text']} → {out['new_text']}"
    return out


def format_diff(changes: list[dict], width: int = 120) -> str:
    """Plain-text rendering: one line per change (``~ path: old -> new``, ``+``, ``-``; a chart's
    data as ``~ path: changed, 87 points``), numbers with 4 significant digits."""
    lines = []
    sym = {"added": "+", "removed": "-", "changed": "~"}
    for c in changes:
        d = describe(c, width // 2)
        if "summary" in d:
            text = d["summary"]
        elif c["op"] == "added":
            text = d["new_text"]
        elif c["op"] == "removed":
            text = d["old_text"]
        else:
            text = f"{d['old_text']} -> {d['new_text']}"
        lines.append(f"{sym.get(c['op'], '~')} {c['path']}: {text}")
    return "\n".join(lines) if lines else "(no changes)"
