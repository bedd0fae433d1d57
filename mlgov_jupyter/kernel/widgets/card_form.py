"""An ipywidgets form to edit the human-written parts of a model card.

``CardForm(content, on_save)`` edits intended uses, risk rating, business details, ethical
considerations and caveats. *Save* validates the new content and, if anything changed, calls
``on_save(new_content)`` (the kernel client wires it to the service, which makes a new version).
Whatever ``on_save`` returns is kept in ``last_result``; an error is shown in one line.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Mapping

import ipywidgets as w

from mlgov_jupyter.core.cards.diff import diff
from mlgov_jupyter.core.cards.schema import RISK_RATINGS, validate

from .fallback import NOTE, StaticFallback

# (section, field, label, max length); risk_rating is the dropdown
TEXT_FIELDS: tuple[tuple[str, str, str, int], ...] = (
    ("intended_uses", "purpose_of_model", "Purpose of the model", 2048),
    ("intended_uses", "intended_uses", "Intended uses", 2048),
    ("intended_uses", "factors_affecting_model_efficiency", "Factors affecting efficiency", 2048),
    ("intended_uses", "explanations_for_risk_rating", "Explanation of the risk rating", 2048),
    ("business_details", "business_problem", "Business problem", 2048),
    ("business_details", "business_stakeholders", "Business stakeholders", 2048),
    ("business_details", "line_of_business", "Line of business", 2048),
    ("additional_information", "ethical_considerations", "Ethical considerations", 2048),
    ("additional_information", "caveats_and_recommendations", "Caveats and recommendations", 2048),
)


class CardForm(StaticFallback, w.VBox):
    """Edit form for card content; see the module docstring. Where the widget cannot show (a
    notebook reopened after a restart, nbconvert) its output shows the fields read-only."""

    def __init__(self, content: Mapping | None, on_save: Callable[[dict], Any], *, title: str = "",
                 readonly: bool = False, **kwargs: Any):
        self._original = copy.deepcopy(dict(content or {}))
        self._title = title
        self._on_save = on_save
        self.last_result: Any = None
        layout = w.Layout(width="98%")
        style = {"description_width": "220px"}
        uses = self._original.get("intended_uses", {})
        self.risk_rating = w.Dropdown(options=list(RISK_RATINGS), value=uses.get("risk_rating", "Unknown"),
                                      description="Risk rating", style=style, disabled=readonly)
        self.fields: dict[tuple[str, str], w.Textarea] = {}
        for section, field, label, limit in TEXT_FIELDS:
            value = self._original.get(section, {}).get(field, "")
            self.fields[(section, field)] = w.Textarea(value=value, description=label, layout=layout, style=style,
                                                       placeholder=f"up to {limit} characters", disabled=readonly,
                                                       rows=2)
        self.save_button = w.Button(description="Save new version", button_style="primary", icon="save",
                                    disabled=readonly)
        self.message = w.HTML(value="Archived cards cannot be edited." if readonly else "")
        self.save_button.on_click(lambda _b: self.save())
        children: list[w.Widget] = []
        if title:
            children.append(w.HTML(value=f"<b>{_escape(title)}</b>"))
        children.append(w.HTML(value="<b>Intended uses</b>"))
        children.append(self.risk_rating)
        children += [self.fields[(s, f)] for s, f, _l, _m in TEXT_FIELDS if s == "intended_uses"]
        children.append(w.HTML(value="<b>Business details</b>"))
        children += [self.fields[(s, f)] for s, f, _l, _m in TEXT_FIELDS if s == "business_details"]
        children.append(w.HTML(value="<b>Additional information</b>"))
        children += [self.fields[(s, f)] for s, f, _l, _m in TEXT_FIELDS if s == "additional_information"]
        children.append(w.HBox([self.save_button, self.message]))
        super().__init__(children=children, **kwargs)

    def _static_text(self) -> str:
        return f"Model card form: {self._title or 'model card'} (needs a live kernel to edit)"

    def _static_html(self) -> str:
        rows = [("Risk rating", self.risk_rating.value)]
        rows += [(label, self.fields[(s, f)].value) for s, f, label, _m in TEXT_FIELDS]
        body = "".join(f"<tr><th style='text-align:left;vertical-align:top;padding-right:1em'>{_escape(k)}</th>"
                       f"<td style='white-space:pre-wrap'>{_escape(v) or '<i>empty</i>'}</td></tr>"
                       for k, v in rows)
        title = f"<b>{_escape(self._title)}</b>" if self._title else "<b>Model card</b>"
        return (f"<div class='mlgov-card-form'>{title}<table>{body}</table>"
                + NOTE.format("Read-only copy: the form needs a live kernel (run the cell again to edit).")
                + "</div>")

    @classmethod
    def for_card(cls, card: Mapping, on_save: Callable[[dict], Any], **kwargs: Any) -> "CardForm":
        """A form for a stored card dict (``name``, ``version``, ``status``, ``content``);
        read-only when the card is Archived."""
        title = f"{card.get('name', 'model card')}"
        if card.get("version") is not None:
            title += f" v{card['version']}"
        if card.get("status"):
            title += f" ({card['status']})"
        return cls(card.get("content") or {}, on_save, title=title,
                   readonly=card.get("status") == "Archived", **kwargs)

    @property
    def original(self) -> dict:
        return copy.deepcopy(self._original)

    def edited_content(self) -> dict:
        """The original content with the form's values applied (an emptied field is removed)."""
        out = copy.deepcopy(self._original)
        risk = self.risk_rating.value
        if risk != self._original.get("intended_uses", {}).get("risk_rating", "Unknown") or "risk_rating" in out.get("intended_uses", {}):
            out.setdefault("intended_uses", {})["risk_rating"] = risk
        for (section, field), box in self.fields.items():
            value = box.value
            if value.strip():
                out.setdefault(section, {})[field] = value
            elif field in out.get(section, {}):
                del out[section][field]
        for section in ("intended_uses", "business_details", "additional_information"):
            if section in out and not out[section] and section not in self._original:
                del out[section]
        return out

    def changes(self) -> list[dict]:
        return diff(self._original, self.edited_content())

    def save(self) -> Any:
        """Validate, call ``on_save`` with the new content if it changed; report in one line."""
        new = self.edited_content()
        try:
            validate(new)
        except Exception as e:  # noqa: BLE001 - shown to the user, one line
            self._say(f"Not saved: {e}", error=True)
            return None
        changed = diff(self._original, new)
        if not changed:
            self._say("No changes to save.")
            return None
        try:
            result = self._on_save(copy.deepcopy(new))
        except Exception as e:  # noqa: BLE001 - e.g. Forbidden/Conflict from the service
            self._say(f"Not saved: {e}", error=True)
            return None
        self._original = new
        self.last_result = result
        n = len(changed)
        version = result.get("version") if isinstance(result, Mapping) else None
        self._say(f"Saved {n} change{'s' if n != 1 else ''}" + (f" as version {version}." if version is not None else "."))
        return result

    def _say(self, text: str, error: bool = False) -> None:
        color = "#b91c1c" if error else "#15803d"
        self.message.value = f'<span style="color:{color}">{_escape(" ".join(str(text).split()))}</span>'


def _escape(text: str) -> str:
    import html

    return html.escape(str(text), quote=True)
