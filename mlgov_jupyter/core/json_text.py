"""JSON text that comes from a user (a request body, a query parameter, an imported card or
report), parsed in one place: malformed text, NaN/Infinity and nesting past the interpreter's
depth (``RecursionError``, a RuntimeError that escaped ``except ValueError`` as a 500: red team
R15 finding 6) are all ``Invalid`` with one line, and so are values no store or hash can hold
(``check_values``)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .errors import Invalid


def loads(text: str | bytes, what: str, hint: str = "", allow_nan: bool = False) -> Any:
    """``text`` parsed; ``what`` names it in the message (``"{what} is not valid JSON{hint}"``,
    ``"{what} is nested too deeply"``); NaN and Infinity are refused unless ``allow_nan`` (files
    SageMaker wrote may hold them). Raises Invalid."""
    def no_constant(name: str):
        raise Invalid(f"{what}: {name} is not a number JSON allows")

    try:
        value = json.loads(text, parse_constant=None if allow_nan else no_constant)
    except (ValueError, UnicodeDecodeError):
        raise Invalid(f"{what} is not valid JSON{hint}") from None
    except RecursionError:
        raise Invalid(f"{what} is nested too deeply") from None
    if not allow_nan:
        check_values(value, what)
    return value


_INT_LIMIT = 2 ** 63
CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # a control character: no name (path, column) holds one


def check_values(value: Any, what: str) -> None:
    """Invalid for what parses but no store holds: a NUL character (PostgreSQL text cannot), a
    lone UTF-16 surrogate such as ``"\\ud800"`` (not Unicode: UTF-8 cannot encode it, so the
    audit hash failed with a 500: red team R16 N1), a number too large for a float (``1e999``
    parses as infinity) and an integer outside a signed 64-bit one (a 4,300-digit count reached
    every dashboard, where JavaScript read it as Infinity)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise Invalid(f"{what} holds a NUL character")
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    raise Invalid(f"{what} holds a lone UTF-16 surrogate, which is not Unicode text") from None
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise Invalid(f"{what}: a number is too large for a float")
        elif isinstance(item, int) and not -_INT_LIMIT <= item < _INT_LIMIT:
            raise Invalid(f"{what}: an integer is outside the 64-bit range (-2**63 to 2**63-1)")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
