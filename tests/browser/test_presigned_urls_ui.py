"""Presigned URLs from the sidebar of a real JupyterLab whose catalog lives in a real
S3-compatible server (moto's): bob, granted a whole dataset, clicks Get URLs on its asset page,
copies the URL and reads the file with no credential; on a dataset his grant scopes by an asset
filter the section is not offered (the server would refuse it). Screenshot at the default
sidebar width: test-artifacts/presigned-urls.png."""

from __future__ import annotations

import io
import urllib.request

import pandas as pd
import pytest
from s3_server import S3Server

from .lab import ARTIFACTS, LabServer, installed_labextension
from .test_asset_filters_ui import _open_asset
from .ui import open_lab

pytestmark = pytest.mark.browser

EVENTS = pd.DataFrame({"id": range(50), "region": ["EU", "US"] * 25})


@pytest.fixture(scope="module")
def s3_lab(tmp_path_factory):
    if installed_labextension() is None:
        pytest.skip("the mlgov-jupyter labextension is not installed")
    s3 = S3Server(tmp_path_factory.mktemp("s3"))
    lab = LabServer(tmp_path_factory.mktemp("lab"), mlgov={
        "objects_url": f"s3://{s3.bucket}/catalog", "objects_options": s3.options(),
        "presigned_urls": True})
    try:
        lab.start()
        yield lab.url
    finally:
        lab.stop()
        s3.stop()


def test_get_and_copy_a_url_and_read_the_file_with_it(s3_lab, browser, pages):
    from playwright.sync_api import expect

    import mlgov_jupyter

    alice = mlgov_jupyter.connect(url=s3_lab, token="alice-token")
    bob = mlgov_jupyter.connect(url=s3_lab, token="bob-token")
    for name, about in (("clicks", "what was clicked"), ("regional", "by region")):
        alice.publish(EVENTS, name=name, description=about)
    alice.define_filter("regional", "eu", columns=["id"], rows=[("region", "==", "EU")])
    for name, scope in (("clicks", None), ("regional", "eu")):
        req = bob.subscribe(name, reason="urls in the sidebar", **({"filter": scope} if scope else {}))
        alice.approve(req["id"], comment="ok")

    context, page, panel = open_lab(browser, s3_lab, "bob-token", pages)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=s3_lab.rstrip("/"))
    detail = _open_asset(panel, "clicks")
    section = detail.get_by_label("Presigned URLs", exact=True)
    section.get_by_role("button", name="Get URLs").click()
    expect(section.get_by_text("clicks.parquet")).to_be_visible()
    expect(section).to_contain_text("Revision 1, parquet, expires in 15 min, at")
    section.get_by_role("button", name="Copy URL").click()
    expect(section.get_by_role("button", name="Copied")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    section.scroll_into_view_if_needed()
    panel.screenshot(path=str(ARTIFACTS / "presigned-urls.png"))

    url = page.evaluate("() => navigator.clipboard.readText()")
    assert url.startswith("http://127.0.0.1:") and "X-Amz-Signature=" in url and "bob-token" not in url
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(urllib.request.urlopen(url, timeout=30).read())),
                                  EVENTS)
    root = mlgov_jupyter.connect(url=s3_lab, token="root-token")
    assert [e["actor"] for e in root.audit(action="asset.vend")] == ["bob"]  # the click, audited

    panel.get_by_role("button", name="‹ Back to results").click()
    scoped = _open_asset(panel, "regional")
    expect(scoped.locator(".jp-mlgov-scoped")).to_be_visible()
    expect(scoped.get_by_label("Presigned URLs", exact=True)).to_have_count(0)
    context.close()
