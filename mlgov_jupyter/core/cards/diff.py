"""Differences between two versions of card content."""

from __future__ import annotations

from typing import Any

import json
import re

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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


def diff(content_a: Any, content_b: Any) -> list[dict]:
    """Changes from ``content_a`` to ``content_b``: ``[{path, op, old, new}]``.

    ``op`` is ``added``, ``removed`` or ``changed``; an absent side is ``None``. Paths look like
    ``intended_uses.risk_rating``; lists of named items are matched by name
    (``training_details.training_job_details.hyper_parameters[name=C].value``), other lists by index.
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

    def walk(a: Any, b: Any, path: list) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in list(a) + [k for k in b if k not in a]:
                va, vb = a.get(key, _ABSENT), b.get(key, _ABSENT)
                if va is _ABSENT or vb is _ABSENT:
                    emit(path + [_key(key)], va, vb)
                else:
                    walk(va, vb, path + [_key(key)])
        elif isinstance(a, list) and isinstance(b, list):
            if _named(a) and _named(b):
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


def format_diff(changes: list[dict], width: int = 120) -> str:
    """Plain-text rendering: one line per change (``~ path: old -> new``, ``+``, ``-``)."""
    def short(v: Any) -> str:
        s = repr(v)
        return s if len(s) <= width // 2 else s[: width // 2 - 1] + "…"

    lines = []
    for c in changes:
        if c["op"] == "added":
            lines.append(f"+ {c['path']}: {short(c['new'])}")
        elif c["op"] == "removed":
            lines.append(f"- {c['path']}: {short(c['old'])}")
        else:
            lines.append(f"~ {c['path']}: {short(c['old'])} -> {short(c['new'])}")
    return "\n".join(lines) if lines else "(no changes)"
