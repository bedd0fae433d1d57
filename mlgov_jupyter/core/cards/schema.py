"""The model card content schema (SageMaker-compatible) and its validation.

``validate(content)`` raises :class:`~mlgov_jupyter.core.errors.Invalid` with a one-line
message naming the JSON path of the first problem, e.g.
``model card content at $.intended_uses.risk_rating: 'Extreme' is not one of [...]``.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable

from mlgov_jupyter.core.errors import Invalid

SCHEMA_VERSION = "0.1.0"
# The one size limit of mlgov's own that matters: SageMaker's Content limit, which also bounds what the service
# stores, diffs and renders. Below it the schema follows AWS's published schema: a card AWS accepts is accepted.
MAX_CONTENT_CHARS = 100_000
CARD_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}\Z")
RISK_RATINGS = ("High", "Medium", "Low", "Unknown")
STATUSES = ("Draft", "PendingReview", "Approved", "Archived")
METRIC_TYPES = ("number", "string", "boolean", "linear_graph", "bar_chart", "matrix")
SECTIONS = (
    "model_overview",
    "model_package_details",
    "intended_uses",
    "business_details",
    "training_details",
    "evaluation_details",
    "additional_information",
)

_MESSAGE_MAX = 300


@lru_cache(maxsize=1)
def load_schema() -> dict:
    """The draft-07 JSON Schema of card content (a fresh parse is cached; do not mutate)."""
    text = resources.files(__package__).joinpath("schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    schema = load_schema()
    cls = jsonschema.Draft7Validator
    cls.check_schema(schema)
    return cls(schema)


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")


def json_path(parts: Iterable[Any], root: str = "$") -> str:
    """``["a", 0, "b c"]`` -> ``$.a[0]["b c"]``."""
    out = root
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif _IDENT.match(str(p)):
            out += f".{p}" if out else str(p)
        else:
            out += "[" + json.dumps(str(p)) + "]"
    return out


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    if len(text) > _MESSAGE_MAX:
        text = text[: _MESSAGE_MAX - 1] + "…"
    return text


def content_size(content: Any) -> int:
    """Characters of the compact JSON serialization (what the 100,000 limit counts)."""
    return len(json.dumps(content, separators=(",", ":"), ensure_ascii=False, allow_nan=True))


def _non_finite(node: Any, path: list) -> list | None:
    if isinstance(node, float) and not math.isfinite(node):
        return path
    if isinstance(node, dict):
        for k, v in node.items():
            found = _non_finite(v, path + [k])
            if found is not None:
                return found
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            found = _non_finite(v, path + [i])
            if found is not None:
                return found
    return None


def validate(content: Any) -> None:
    """Check card content against the schema and limits; raise ``Invalid`` on the first problem."""
    if not isinstance(content, dict):
        raise Invalid(f"model card content must be a JSON object, not {type(content).__name__}")
    bad = _non_finite(content, [])
    if bad is not None:
        raise Invalid(f"model card content at {json_path(bad)}: numbers must be finite (no NaN or infinity)")
    try:
        size = content_size(content)
    except (TypeError, ValueError) as e:
        raise Invalid(_one_line(f"model card content is not JSON-serializable: {e}")) from None
    if size > MAX_CONTENT_CHARS:
        raise Invalid(f"model card content is {size} characters; the limit is {MAX_CONTENT_CHARS}")

    import jsonschema.exceptions

    errors = list(_validator().iter_errors(content))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        # descend into if/then and anyOf contexts for the most specific message
        while err.context:
            err = jsonschema.exceptions.best_match(err.context)
        raise Invalid(_one_line(f"model card content at {json_path(err.absolute_path)}: {_describe(err)}"))

    # What JSON Schema cannot say: a matrix is rectangular.
    for i, ev in enumerate(content.get("evaluation_details", [])):
        for j, group in enumerate(ev.get("metric_groups", [])):
            for k, metric in enumerate(group.get("metric_data", [])):
                if metric.get("type") == "matrix":
                    widths = {len(row) for row in metric["value"]}
                    if len(widths) > 1:
                        path = json_path(["evaluation_details", i, "metric_groups", j, "metric_data", k, "value"])
                        raise Invalid(f"model card content at {path}: matrix rows must all have the same length")


def _short_repr(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(err: Any) -> str:
    """A short message for one jsonschema error (never echoes a long value)."""
    kw, arg, inst = err.validator, err.validator_value, err.instance
    if kw == "maxLength":
        return f"is too long: {len(inst)} characters, at most {arg} allowed"
    if kw == "minLength":
        return "must not be empty" if arg == 1 else f"is too short: at least {arg} characters"
    if kw == "maxItems":
        return f"is too long: {len(inst)} items, at most {arg} allowed"
    if kw == "minItems":
        return f"is too short: {len(inst)} items, at least {arg} required"
    if kw == "type":
        return f"{_short_repr(inst)} is not of type {arg!r}"
    if kw == "enum":
        return f"{_short_repr(inst)} is not one of {list(arg)}"
    if kw == "const":
        return f"{_short_repr(inst)} must be {arg!r}"
    if kw == "pattern":  # AWS's unanchored ".{1,63}": one character that is not a line break, no maximum
        return "must not be empty" if str(arg).startswith(".{1,") else f"{_short_repr(inst)} does not match {arg!r}"
    return err.message if len(err.message) <= 200 else err.message[:199] + "…"


def is_valid(content: Any) -> bool:
    try:
        validate(content)
    except Invalid:
        return False
    return True


def validate_card_name(name: Any) -> str:
    """Return ``name`` if it matches SageMaker's card name pattern, else raise ``Invalid``."""
    if not isinstance(name, str) or not CARD_NAME_PATTERN.match(name):
        raise Invalid(
            f"invalid model card name {name!r}: use 1-63 letters, digits and hyphens, "
            "starting and ending with a letter or digit"
        )
    return name


def validate_status(status: Any) -> str:
    if status not in STATUSES:
        raise Invalid(f"invalid model card status {status!r}: use one of {', '.join(STATUSES)}")
    return status
