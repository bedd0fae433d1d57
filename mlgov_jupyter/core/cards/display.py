"""The notebook display of a card: a MIME bundle carrying the card as JSON plus HTML and text.

``application/vnd.mlgov.card+json`` is what the nbconvert exporters look for in a notebook's
outputs; ``text/html`` is what every frontend can show without the lab extension.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any, Mapping

from mlgov_jupyter.core.errors import Invalid

from .render import render_fragment

CARD_MIME = "application/vnd.mlgov.card+json"
_CARD_KEYS = ("name", "status", "version", "content", "model", "lineage", "created_by", "created_at",
              "updated_at", "approved_by", "approved_at", "review_comment")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def card_payload(card: Mapping) -> dict:
    """The JSON-safe card dict carried under :data:`CARD_MIME`."""
    if not isinstance(card, Mapping) or not isinstance(card.get("content", {}), Mapping):
        raise Invalid("a card must be a mapping with a 'content' mapping")
    return {k: _jsonable(card[k]) for k in _CARD_KEYS if k in card and card[k] is not None}


def card_text(card: Mapping) -> str:
    content = card.get("content") or {}
    ov = content.get("model_overview", {})
    risk = content.get("intended_uses", {}).get("risk_rating", "Unknown")
    name = card.get("name") or ov.get("model_name") or "model card"
    bits = [f"Model card {name}"]
    if card.get("version") is not None:
        bits.append(f"v{card['version']}")
    if card.get("status"):
        bits.append(f"({card['status']})")
    text = " ".join(bits) + f", risk {risk}"
    if ov.get("algorithm_type"):
        text += f", {ov['algorithm_type']}"
    return text


def card_mimebundle(card: Mapping) -> dict:
    """``{CARD_MIME: card, "text/html": ..., "text/plain": ...}`` for IPython ``display``."""
    payload = card_payload(card)
    return {CARD_MIME: payload, "text/html": render_fragment(payload), "text/plain": card_text(payload)}


def cards_in_notebook(nb: Mapping) -> list[dict]:
    """Cards displayed in a notebook's outputs, in order; a card shown again (same name and
    version) counts once, with its last display winning."""
    found: dict[tuple, dict] = {}
    order: list[tuple] = []
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) or []:
            data = output.get("data") or {}
            if CARD_MIME not in data:
                continue
            card = data[CARD_MIME]
            if isinstance(card, str):
                try:
                    card = json.loads(card)
                except json.JSONDecodeError:
                    continue
            if not isinstance(card, Mapping):
                continue
            key = (card.get("name"), card.get("version"))
            if card.get("version") is None:
                key = (card.get("name"), json.dumps(card.get("content"), sort_keys=True))
            if key not in found:
                order.append(key)
            found[key] = dict(card)
    return [found[k] for k in order]
