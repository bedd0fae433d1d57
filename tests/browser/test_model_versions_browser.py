"""Model versions in the sidebar of a real JupyterLab with the real server: bob (steward) opens a
model's asset page at the default sidebar width, sees each revision's approval status, approves one
with a comment, is refused (the server's one line) when he tries to approve the revision he
published himself, rejects one and points the alias champion at a revision; made a consumer, he
sees the same versions without the controls. Screenshots go to test-artifacts/model-versions-*.png."""

from __future__ import annotations

import pytest
from sklearn.linear_model import LogisticRegression

from .lab import ARTIFACTS
from .ui import open_lab

pytestmark = pytest.mark.browser


def _seed(base: str) -> None:
    import mlgov_jupyter

    alice = mlgov_jupyter.connect(url=base, token="alice-token")
    bob = mlgov_jupyter.connect(url=base, token="bob-token")
    alice.create_project("risk", description="credit risk")
    alice.add_member("risk", "bob", "steward")
    X, y = [[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]
    alice.publish(LogisticRegression().fit(X, y), name="scorer", project="risk", description="credit scorer")
    alice.publish(LogisticRegression(C=0.5).fit(X, y), name="scorer", project="risk")
    bob.publish(LogisticRegression(C=0.1).fit(X, y), name="scorer", project="risk")  # revision 3, bob's
    # alice's card describes revision 2
    alice._call("POST", "cards", body={"name": "scorer-card", "model": "scorer", "content": {},
                                       "model_revision": 2})


def _open_model(panel, name: str):
    from playwright.sync_api import expect

    panel.get_by_role("tab", name="Catalog").click()
    search = panel.get_by_label("Search the catalog", exact=True)
    search.fill(name)
    search.press("Enter")
    results = panel.get_by_label("Search results", exact=True).locator(".jp-mlgov-result")
    expect(results).to_have_count(1)
    results.first.click()
    detail = panel.locator(".jp-mlgov-asset")
    expect(detail.locator(".jp-mlgov-assetName")).to_have_text(name)
    return detail.get_by_label("Versions", exact=True)


def _shot(panel, name: str, show=None) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    if show is not None:
        show.scroll_into_view_if_needed()
    panel.screenshot(path=str(ARTIFACTS / f"model-versions-{name}.png"))


def test_approve_reject_and_alias_in_the_sidebar(lab_server, browser, pages):
    _seed(lab_server)
    from playwright.sync_api import expect

    context, page, panel = open_lab(browser, lab_server, "bob-token", pages, width=0)  # default width
    versions = _open_model(panel, "scorer")
    rows = versions.locator(".jp-mlgov-version")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Revision 3")
    expect(versions).to_contain_text("model_approval=off")
    for i in range(3):
        expect(rows.nth(i).locator(".jp-mlgov-badge")).to_have_text("pending approval")

    # approve revision 2 with a comment
    versions.get_by_role("button", name="Review revision 2").click()
    decide = versions.get_by_role("group", name="Decide revision 2")
    expect(decide.get_by_role("button", name="Approve")).to_be_disabled()  # a comment says why
    decide.get_by_label("Comment (why)").fill("back-tested on Q3")
    decide.get_by_role("button", name="Approve").click()
    row2 = versions.get_by_label("Revision 2", exact=True)
    expect(row2.locator(".jp-mlgov-badge").first).to_have_text("Approved")
    expect(row2).to_contain_text("Approved by bob")
    expect(row2).to_contain_text("back-tested on Q3")

    # his own revision: the server's one line, shown in place
    versions.get_by_role("button", name="Review revision 3").click()
    decide3 = versions.get_by_role("group", name="Decide revision 3")
    decide3.get_by_label("Comment (why)").fill("looks fine")
    decide3.get_by_role("button", name="Approve").click()
    expect(decide3.locator(".jp-mlgov-inlineError")).to_contain_text("separation of duties")
    _shot(panel, "refused", decide3)
    decide3.get_by_role("button", name="Cancel").click()

    # reject revision 1, then point champion at revision 2
    versions.get_by_role("button", name="Review revision 1").click()
    decide1 = versions.get_by_role("group", name="Decide revision 1")
    decide1.get_by_label("Comment (why)").fill("unstable on thin files")
    decide1.get_by_role("button", name="Reject").click()
    expect(versions.get_by_label("Revision 1", exact=True).locator(".jp-mlgov-badge").first).to_have_text("Rejected")
    form = versions.get_by_role("form", name="Set alias")
    form.get_by_label("Set alias").fill("champion")
    form.get_by_label("Revision", exact=True).select_option("2")
    form.get_by_role("button", name="Set").click()
    expect(row2).to_contain_text("@champion")
    versions.locator("summary", has_text="Alias moves").click()
    expect(versions).to_contain_text("@champion: — → 2 by bob")
    _shot(panel, "steward", versions)

    # no horizontal overflow at the default width
    overflow = panel.locator(".jp-mlgov-asset").evaluate("e => e.scrollWidth - e.clientWidth")
    assert overflow <= 1, overflow

    # the card (rendered by the server) says which revision it describes and its approval status
    panel.get_by_role("tab", name="Cards").click()
    panel.get_by_label("Model cards", exact=True).locator(".jp-mlgov-result").first.click()
    frame = panel.frame_locator("iframe.jp-mlgov-cardFrame")
    expect(frame.locator("table.kv").first).to_contain_text("2 · Approved · @champion")
    expect(frame.locator("table.kv").first).to_contain_text("(latest is 3)")
    expect(frame.locator("table.kv").nth(1)).to_contain_text("ApprovalApproved")
    _shot(panel, "card")

    # made a consumer, bob sees statuses and aliases, no controls
    import mlgov_jupyter

    mlgov_jupyter.connect(url=lab_server, token="alice-token").add_member("risk", "bob", "consumer")
    _, _, bob_panel = open_lab(browser, lab_server, "bob-token", pages, width=0)
    bob_versions = _open_model(bob_panel, "scorer")
    expect(bob_versions.get_by_label("Revision 2", exact=True)).to_contain_text("@champion")
    expect(bob_versions.get_by_role("button", name="Review revision 2")).to_have_count(0)
    expect(bob_versions.get_by_role("form", name="Set alias")).to_have_count(0)
    _shot(bob_panel, "consumer", bob_versions)
