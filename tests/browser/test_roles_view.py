"""The Roles tab (admins only): root builds a "ds-no-pii" role in the form (persona pre-ticks the
activities, classification ceiling confidential), watches the Cedar and IAM previews follow the
form, sees a validation error as one line, saves, assigns it to bob, and the client confirms."""

from __future__ import annotations

import pytest

from .ui import dark_theme, open_lab, shot, tab

pytestmark = pytest.mark.browser

ROLE = "ds-no-pii"


def test_create_preview_save_and_assign_a_role(lab_server, browser, pages):
    import mlgov_jupyter
    from playwright.sync_api import expect

    # bob is no admin: no Roles tab for him
    bob_ctx, bob, bob_panel = open_lab(browser, lab_server, "bob-token", pages, width=0)
    expect(tab(bob_panel, "Requests")).to_be_visible()
    expect(tab(bob_panel, "Roles")).to_have_count(0)
    bob_ctx.close()

    ctx, page, panel = open_lab(browser, lab_server, "root-token", pages)
    tab(panel, "Roles").click()
    panel.get_by_role("button", name="New role").click()
    form = panel.get_by_role("form", name="New role")
    form.get_by_label("Name", exact=True).fill(ROLE)
    form.get_by_label("Persona", exact=True).select_option("data-scientist")
    activities = form.get_by_role("group", name="Activities")
    expect(activities.get_by_label("Search the catalog", exact=True)).to_be_checked()
    expect(activities.get_by_label("Create and edit model cards", exact=True)).to_be_checked()
    expect(activities.get_by_label("Manage roles", exact=True)).not_to_be_checked()
    cedar = form.get_by_label("mlgov policy", exact=True)
    iam = form.get_by_label("IAM policy", exact=True)
    expect(cedar).to_contain_text(f"allow:{ROLE}:search-catalog")
    expect(cedar).not_to_contain_text(f"ceiling:{ROLE}")
    expect(iam).to_contain_text(f'"RoleName": "{ROLE}"')
    shot(page, panel, "roles-0-form")

    # the ceiling shows up in the Cedar policy, a tag in the IAM export
    form.get_by_label("Classification ceiling", exact=True).select_option("confidential")
    expect(cedar).to_contain_text(f"ceiling:{ROLE}")
    expect(cedar).to_contain_text("context.classification > 2")
    form.locator("summary", has_text="AWS settings").click()
    form.get_by_label("Tags", exact=True).fill("team=risk-ml")
    expect(iam).to_contain_text("risk-ml")
    activities.get_by_label("Query Athena workgroups", exact=True).check()
    expect(iam).to_contain_text("athena:")
    cedar.evaluate("el => { el.scrollIntoView(); el.scrollTop = el.scrollHeight; }")
    shot(page, panel, "roles-1-form-preview")

    # a bad value: the preview says why, and so does Save (400, one line in the panel)
    form.get_by_label("VPC subnets", exact=True).fill("subnet-nothex")
    expect(form.get_by_role("status")).to_contain_text("subnet-nothex")
    form.get_by_role("button", name="Save role").click()
    error = panel.get_by_role("alert")
    expect(error).to_contain_text("is not a valid subnet id")
    assert "\n" not in error.inner_text().strip().rstrip("×").strip()
    shot(page, panel, "roles-2-invalid")
    form.get_by_label("VPC subnets", exact=True).fill("")
    expect(form.get_by_role("status")).to_have_count(0)
    panel.get_by_label("Dismiss error", exact=True).click()

    form.get_by_role("button", name="Save role").click()
    expect(form).to_have_count(0)
    role = panel.get_by_label(f"Role {ROLE}", exact=True)
    expect(role).to_contain_text("up to confidential")
    expect(role).to_contain_text("Data scientist")

    # assign to bob, and to a group that is then removed again
    role.get_by_label(f"Assign {ROLE} to", exact=True).fill("bob")
    role.get_by_role("button", name="Assign").click()
    holders = role.get_by_label(f"Holders of {ROLE}", exact=True)
    expect(holders).to_contain_text("bob")
    role.get_by_label(f"Assign {ROLE} to a user or a group", exact=True).select_option("group")
    role.get_by_label(f"Assign {ROLE} to", exact=True).fill("analysts")
    role.get_by_label(f"Projects of the {ROLE} assignment", exact=True).fill("credit, ops")
    role.get_by_role("button", name="Assign").click()
    expect(holders.locator(".jp-mlgov-row")).to_have_count(2)
    expect(holders).to_contain_text("in credit, ops")
    shot(page, panel, "roles-3-assigned")
    role.get_by_role("button", name=f"Remove {ROLE} from group analysts").click()
    expect(holders.locator(".jp-mlgov-row")).to_have_count(1)

    # the server holds what the form built
    root = mlgov_jupyter.connect(url=lab_server, token="root-token")
    held = [a for a in root.assignments() if a["role"] == ROLE]
    assert [(a["user"], a["group"], a["projects"]) for a in held] == [("bob", None, [])]
    saved = root.role(ROLE)["role"]
    assert saved["persona"] == "data-scientist"
    assert saved["guardrails"]["classification_ceiling"] == "confidential"
    assert saved["aws"]["tags"] == {"team": "risk-ml"}
    assert "query-athena" in saved["activities"] and "search-catalog" in saved["activities"]

    # an assigned role has no delete button; an unassigned one can be deleted
    expect(role.get_by_role("button", name=f"Delete role {ROLE}")).to_have_count(0)
    from mlgov_jupyter.core.roles import Role

    root.create_role(Role.from_persona("scratch", "auditor"))
    panel.get_by_role("button", name="Refresh").click()
    panel.get_by_role("button", name="Delete role scratch").click()
    expect(panel.get_by_label("Role scratch", exact=True)).to_have_count(0)
    assert "scratch" not in [r["name"] for r in root.roles()]

    dark_theme(page)
    shot(page, panel, "roles-4-dark")
    ctx.close()
