"""JSON text that comes from a user (a request body, a query parameter, an imported card or
report), parsed in one place: malformed text, NaN/Infinity and nesting past the interpreter's
depth (``RecursionError``, a RuntimeError that escaped ``except ValueError`` as a 500: red team
R15 finding 6) are all ``Invalid`` with one line."""

from __future__ import annotations

import json
from typing import Any

from .errors import Invalid


def loads(text: str | bytes, what: str, hint: str = "", allow_nan: bool = False) -> Any:
    """``text`` parsed; ``what`` names it in the message (``"{what} is not valid JSON{hint}"``,
    ``"{what} is nested too deeply"``); NaN and Infinity are refused unless ``allow_nan`` (files
    SageMaker wrote may hold them). Raises Invalid."""
    def no_constant(name: str):
        raise Invalid(f"{what}: {name} is not a number JSON allows")

    try:
        return json.loads(text, parse_constant=None if allow_nan else no_constant)
    except (ValueError, UnicodeDecodeError):
        raise Invalid(f"{what} is not valid JSON{hint}") from None
    except RecursionError:
        raise Invalid(f"{what} is nested too deeply") from None
