"""What of a model card is searchable: pure, shared by the service and migration 0018."""

from __future__ import annotations

FIELDS = ("name", "model", "description", "uses", "risk", "other")


def _words(value) -> list[str]:
    """Every string inside ``value`` (dicts, lists), in order."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [w for v in value.values() for w in _words(v)]
    if isinstance(value, (list, tuple)):
        return [w for v in value for w in _words(v)]
    return []


def card_search_fields(name: str, model: str, content: dict) -> dict[str, str]:
    """``{field: text}`` for ``FIELDS`` of a card version's content (SageMaker's schema): the
    card and model names (``-``/``_`` split too), ``model_overview.model_description``, all of
    ``intended_uses`` but its risk rating, the risk rating, and business details, ethical
    considerations and caveats. Evaluation details are not indexed (they may carry values of
    data the searcher may not read)."""
    content = content if isinstance(content, dict) else {}
    overview = content.get("model_overview") or {}
    uses = dict(content.get("intended_uses") or {})
    risk = uses.pop("risk_rating", "") if isinstance(uses.get("risk_rating"), str) else ""
    info = content.get("additional_information") or {}
    other = [content.get("business_details") or {}]
    if isinstance(info, dict):
        other += [info.get("ethical_considerations"), info.get("caveats_and_recommendations")]
    return {"name": f"{name.replace('-', ' ').replace('_', ' ')} {name}",
            "model": f"{model.replace('-', ' ').replace('_', ' ')} {model}",
            "description": " ".join(_words(overview.get("model_description") if isinstance(overview, dict) else "")),
            "uses": " ".join(_words(uses)), "risk": risk, "other": " ".join(_words(other))}


def card_search_text(name: str, model: str, content: dict) -> str:
    """The fields as one text (PostgreSQL's tsvector source)."""
    return " ".join(v for v in card_search_fields(name, model, content).values() if v)
