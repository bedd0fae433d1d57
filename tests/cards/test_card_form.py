import copy

import pytest

from mlgov_jupyter.core.errors import Forbidden
from mlgov_jupyter.kernel.widgets.card_form import CardForm
from mlgov_jupyter.kernel.widgets.card_view import CardView
from mlgov_jupyter.core.cards import CARD_MIME, diff, validate


def test_form_edits_call_save_with_changed_content(full_content):
    saved = []
    form = CardForm(full_content, lambda c: saved.append(c) or {"version": 5})
    assert form.risk_rating.value == "High"
    assert form.fields[("business_details", "business_problem")].value == "Backlog"
    form.risk_rating.value = "Medium"
    form.fields[("intended_uses", "intended_uses")].value = "Triage <only>"
    form.fields[("business_details", "line_of_business")].value = ""  # cleared -> removed
    form.fields[("additional_information", "ethical_considerations")].value = "Reviewed by ethics board."
    form.save_button.click()
    assert len(saved) == 1
    new = saved[0]
    validate(new)
    changes = {c["path"]: (c["old"], c["new"]) for c in diff(full_content, new)}
    assert changes == {
        "intended_uses.risk_rating": ("High", "Medium"),
        "intended_uses.intended_uses": ("Decision support only.", "Triage <only>"),
        "business_details.line_of_business": ("Diagnostics", None),
        "additional_information.ethical_considerations": ("Sex and age balance checked.",
                                                          "Reviewed by ethics board."),
    }
    assert "Saved 4 changes as version 5." in form.message.value
    assert form.last_result == {"version": 5}
    form.save_button.click()  # nothing changed since the save
    assert len(saved) == 1 and "No changes" in form.message.value


def test_form_on_empty_content_and_errors():
    saved = []
    form = CardForm({}, saved.append)
    form.save()
    assert saved == [] and "No changes" in form.message.value
    form.fields[("business_details", "business_stakeholders")].value = "x" * 2049
    form.save()
    assert saved == [] and "Not saved" in form.message.value and "too long" in form.message.value
    form.fields[("business_details", "business_stakeholders")].value = "Ops team"
    form.save()
    assert saved == [{"business_details": {"business_stakeholders": "Ops team"}}]

    def refuse(_content):
        raise Forbidden("archived cards cannot be edited")

    form = CardForm({"intended_uses": {"risk_rating": "Low"}}, refuse)
    form.risk_rating.value = "High"
    assert form.save() is None
    assert "archived cards cannot be edited" in form.message.value
    assert form.original == {"intended_uses": {"risk_rating": "Low"}}


def test_form_escapes_messages_and_readonly():
    def boom(_c):
        raise Forbidden("<img src=x onerror=alert(1)>")

    form = CardForm({}, boom, title="<b>t</b>")
    form.fields[("intended_uses", "purpose_of_model")].value = "p"
    form.save()
    assert "<img" not in form.message.value and "&lt;img" in form.message.value
    assert "&lt;b&gt;t&lt;/b&gt;" in form.children[0].value
    ro = CardForm({}, boom, readonly=True)
    assert ro.save_button.disabled and all(f.disabled for f in ro.fields.values())
    archived = CardForm.for_card({"name": "m", "version": 3, "status": "Archived", "content": {}}, boom)
    assert archived.save_button.disabled and archived.risk_rating.disabled
    assert archived.children[0].value == "<b>m v3 (Archived)</b>"
    draft = CardForm.for_card({"name": "m", "version": 4, "status": "Draft", "content": {}}, boom)
    assert not draft.save_button.disabled


def test_card_view_bundle(full_content):
    view = CardView({"name": "m", "version": 1, "status": "Draft", "content": copy.deepcopy(full_content)})
    bundle = view._repr_mimebundle_()
    assert set(bundle) == {CARD_MIME, "text/html", "text/plain"}
    assert bundle[CARD_MIME]["content"] == full_content
    assert bundle["text/plain"] == "Model card m v1 (Draft), risk High, LogisticRegression"
    assert set(view._repr_mimebundle_(include=[CARD_MIME])) == {CARD_MIME}
    from mlgov_jupyter.core.errors import Invalid

    with pytest.raises(Invalid, match="'content' mapping"):
        CardView({"name": "m", "content": []})
