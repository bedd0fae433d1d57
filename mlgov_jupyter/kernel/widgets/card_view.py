"""A card object that displays itself in the notebook (MIME bundle: card JSON + HTML + text)."""

from __future__ import annotations

from typing import Any, Mapping

from mlgov_jupyter.core.cards.display import CARD_MIME, card_mimebundle, card_payload


class CardView:
    """Wrap a card dict (``name``, ``status``, ``version``, ``content`` ...) for ``display()``.

    The output carries ``application/vnd.mlgov.card+json``, which the ``mlgov-card``
    nbconvert exporters collect.
    """

    mimetype = CARD_MIME

    def __init__(self, card: Mapping):
        self.card = card_payload(card)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        bundle = card_mimebundle(self.card)
        if include:
            bundle = {k: v for k, v in bundle.items() if k in include}
        if exclude:
            bundle = {k: v for k, v in bundle.items() if k not in exclude}
        return bundle

    def __repr__(self) -> str:
        return card_mimebundle(self.card)["text/plain"]


def display_card(card: Mapping) -> CardView:
    """Display a card in the running notebook (IPython imported lazily) and return the view."""
    from IPython.display import display

    view = CardView(card)
    display(view)
    return view
