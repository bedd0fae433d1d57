"""A model-package card (``model_package_details``, as the SageMaker SDK writes it) shows its package in
every view: Markdown already did; the HTML page, the notebook fragment and the PDF show it too."""

import shutil
import subprocess

import pytest

from mlgov_jupyter.core.cards import render_fragment, render_html, render_pdf
from mlgov_jupyter.core.cards.render import render_size

from .test_render import parse

ARN = "arn:aws:sagemaker:us-west-2:001234567890:model-package/testmodelgroup/1"


def package_card(**changes):
    # the content of the SDK's MODEL_CARD_WITH_MODEL_PACKAGE_MOCK_RESPONSE (tests/unit/test_model_card.py)
    pkg = {
        "model_package_arn": ARN, "model_package_name": "model_package_name",
        "model_package_group_name": "testmodelgroup", "model_package_version": 1,
        "model_package_description": "this is test model package",
        "inference_specification": {"containers": [{"image": "test model container image",
                                                    "model_data_url": "s3://test",
                                                    "nearest_model_name": "test-model"}]},
        "model_package_status": "Pending", "model_approval_status": "PendingManualApproval",
        "approval_description": "approval_description", "created_by": {"user_profile_name": "test-user"},
        "domain": "domain", "task": "task",
        "source_algorithms": [{"algorithm_name": "test-algorithm-arn", "model_data_url": "s3://test"}],
    }
    pkg.update(changes)
    return {"name": "mp-card", "status": "Draft", "version": 1,
            "content": {"model_overview": {"model_id": ARN}, "model_package_details": pkg}}


NEEDLES = ("Model package", "model_package_name", "testmodelgroup", "this is test model package", "Pending",
           "PendingManualApproval", "approval_description", "test-user", "domain", "task",
           "test model container image", "s3://test", "test-model", "test-algorithm-arn")


def test_html_and_fragment_show_the_model_package():
    card = package_card()
    for html in (render_html(card), render_fragment(card)):
        text = " ".join(parse(html).text)
        for needle in NEEDLES:
            assert needle in text, needle
        assert "<h2>Model package</h2>" in html
        assert html.index("<h2>Model overview</h2>") < html.index("<h2>Model package</h2>") \
            < html.index("<h2>Intended uses</h2>")


def test_package_text_is_escaped_and_a_card_without_a_package_has_no_section():
    card = package_card(model_package_description="<script>alert(1)</script>",
                        inference_specification={"containers": [{"image": "<img src=x onerror=alert(2)>"}]})
    html = render_html(card)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html
    card["content"].pop("model_package_details")
    assert "Model package" not in render_html(card)


def test_render_size_counts_the_package_rows():
    card = package_card(inference_specification={"containers": [{"image": f"i{k}"} for k in range(15)]})
    plain = render_size({"content": {}})["rows"]
    assert render_size(card)["rows"] == plain + 15 + 1


needs_poppler = pytest.mark.skipif(not all(shutil.which(t) for t in ("pdftotext", "pdftoppm", "pdfinfo")),
                                   reason="poppler-utils not installed")


@needs_poppler
def test_pdf_shows_the_model_package_and_long_values_wrap(tmp_path):
    """The PDF a user exports: the package's fields on the page, and long unbroken image URIs and
    S3 paths wrap inside the page rather than squeezing the next column to one letter a line."""
    card = package_card()
    (tmp_path / "card.pdf").write_bytes(render_pdf(card))
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "card.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    for needle in NEEDLES:
        assert needle in text, needle
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(tmp_path / "card.pdf"), str(tmp_path / "page")], check=True)
    assert len(list(tmp_path.glob("page-*.png"))) == 1

    long = package_card(inference_specification={"containers": [
        {"image": "registry.example.com/" + "i" * 200, "model_data_url": "s3://bucket/" + "x/" * 400,
         "nearest_model_name": "test-model"}] * 3},
        source_algorithms=[{"algorithm_name": "a" * 170, "model_data_url": "s3://" + "y" * 300}])
    (tmp_path / "long.pdf").write_bytes(render_pdf(long))
    out = subprocess.run(["pdfinfo", str(tmp_path / "long.pdf")], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))
    assert pages <= 4, pages  # a squeezed column took 15 pages
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "long.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "test-model" in text and "registry.example.com/" in text
