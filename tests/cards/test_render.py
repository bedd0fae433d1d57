import copy
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from mlgov_jupyter.core.cards import card_mimebundle, render_fragment, render_html, render_pdf, svg_chart
from mlgov_jupyter.core.cards.display import CARD_MIME, cards_in_notebook

PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(2)>"
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "article", "header", "h1", "h2", "h3", "h4",
                "div", "span", "section", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "figure",
                "figcaption", "svg", "rect", "line", "text", "polyline", "circle"}


class TagCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.text = [], [], []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if not self._in_style:
            self.text.append(data)


def parse(html):
    p = TagCollector()
    p.feed(html)
    return p


def poison(node, skip=("type",)):
    """Every string (and every free-form key) in the content replaced by the payload."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            key = k
            if k not in skip and isinstance(node, dict) and _free_keys.get(id(node)):
                key = f"{k}{PAYLOAD}"
            out[key] = v if k in skip else poison(v)
        return out
    if isinstance(node, list):
        return [poison(v) for v in node]
    if isinstance(node, str):
        return PAYLOAD + node[:5]
    return node


_free_keys = {}


def poisoned_card(content):
    c = copy.deepcopy(content)
    for ev in c["evaluation_details"]:
        _free_keys[id(ev["metadata"])] = True
    _free_keys[id(c["additional_information"]["custom_details"])] = True
    c = poison(c)
    return {"name": PAYLOAD, "status": PAYLOAD, "version": PAYLOAD, "content": c, "model": {"name": PAYLOAD},
            "lineage": {"training": [PAYLOAD], PAYLOAD: [PAYLOAD]}, "created_by": PAYLOAD,
            "created_at": PAYLOAD, "review_comment": PAYLOAD, "approved_by": PAYLOAD}


def assert_inert(html, n_min):
    p = parse(html)
    assert set(p.tags) <= ALLOWED_TAGS, set(p.tags) - ALLOWED_TAGS
    assert not [a for a in p.attrs if a[1].lower().startswith("on") or "javascript" in (a[2] or "").lower()]
    assert not [a for a in p.attrs if a[1] in ("href", "src", "xlink:href")]
    text = "".join(p.text)
    assert text.count(PAYLOAD) >= n_min  # shown to the reader, as text
    assert "<script" not in html.lower().replace("&lt;script", "")


def test_all_user_text_is_inert_in_html(full_content):
    card = poisoned_card(full_content)
    html = render_html(card)
    assert_inert(html, 60)
    assert_inert(render_fragment(card), 60)
    assert "<title>Model card: &lt;script&gt;" in html
    bundle = card_mimebundle(card)
    assert_inert(bundle["text/html"], 60)
    assert bundle[CARD_MIME]["name"] == PAYLOAD  # data kept verbatim, only rendering escapes


def test_charts_are_inline_svg_of_the_data(full_content):
    html = render_html({"name": "c", "content": full_content})
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    charts = [m for g in full_content["evaluation_details"][0]["metric_groups"] for m in g["metric_data"]
              if m["type"] in ("matrix", "linear_graph", "bar_chart")]
    assert len(svgs) == len(charts) == 4
    for metric, svg in zip(charts, svgs):
        assert svg == svg_chart(metric)
        if metric["type"] == "matrix":
            n = len(metric["value"]) * len(metric["value"][0])
            assert svg.count("<rect") == n
            cells = re.findall(r">(\d+)</text>", svg)
            assert cells[:n] == [str(int(v)) for row in metric["value"] for v in row]
            assert ">predicted</text>" in svg and ">actual</text>" in svg
        elif metric["type"] == "linear_graph":
            points = re.search(r'<polyline points="([^"]+)"', svg).group(1).split()
            assert len(points) == len(metric["value"])
            assert svg.count("<circle") == len(metric["value"])
            assert f">{metric['x_axis_name']}</text>" in svg
        else:
            assert svg.count("<rect") == len(metric["value"])
            assert f">{metric['x_axis_name'][0]}</text>" in svg
    assert svg_chart({"name": "n", "type": "number", "value": 1.0}) is None


def test_bar_chart_with_negative_values():
    svg = svg_chart({"name": "shap", "type": "bar_chart", "value": [-2.0, 1.0], "x_axis_name": ["a", "b"]})
    rects = re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg)
    (x_neg, w_neg), (x_pos, w_pos) = [(float(a), float(b)) for a, b in rects]
    assert x_neg + w_neg == pytest.approx(x_pos, abs=0.11)  # both start at the zero line
    assert w_neg == pytest.approx(2 * w_pos, abs=0.2)


needs_poppler = pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdftoppm")),
                                   reason="poppler-utils not installed")


@needs_poppler
def test_pdf_has_the_card_text_and_charts(full_content, tmp_path):
    card = {"name": "cancer-screen", "status": "PendingReview", "version": 3, "content": full_content,
            "lineage": {"training": ["clinic/cancer-train"]}, "created_by": "alice"}
    card["content"]["intended_uses"]["intended_uses"] = "Decision support only. <script>alert(1)</script>"
    pdf = render_pdf(card)
    assert pdf.startswith(b"%PDF")
    (tmp_path / "card.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "card.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    for needle in ("cancer-screen", "PendingReview", "version 3", "risk: High", "BinaryClassification",
                   "LogisticRegression", "Decision support only. <script>alert(1)</script>", "Not for paediatric use.",
                   "clinic/cancer-train", "clf__C", "confusion_matrix", "roc_curve", "precision_recall_curve",
                   "false positive rate", "predicted", "actual", "Feature importance"):
        assert needle in text, needle
    acc = next(m["value"] for m in full_content["evaluation_details"][0]["metric_groups"][0]["metric_data"]
               if m["name"] == "accuracy")
    assert f"{acc:.4g}" in text
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(tmp_path / "card.pdf"), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    # the charts were drawn: the heatmap's darkest blue and the bars' teal appear on some page
    from PIL import Image

    colours = set()
    for page in pages:
        img = Image.open(page).convert("RGB")
        colours |= {c for _n, c in img.getcolors(maxcolors=1 << 20)}

    def near(rgb):
        return any(sum(abs(a - b) for a, b in zip(rgb, c)) < 30 for c in colours)

    assert near((30, 64, 175))  # heatmap max cell
    assert near((13, 148, 136))  # bars
    assert near((37, 99, 235))  # line charts


def test_several_cards_in_one_document(full_content):
    html = render_html([{"name": "one", "content": full_content}, {"name": "two", "content": {}}])
    assert html.count('<article class="mlgov-card">') == 2
    assert "<title>Model card: one, two</title>" in html


def test_cards_in_notebook_dedupes_by_name_and_version(full_content):
    b1 = card_mimebundle({"name": "a", "version": 1, "content": {}})
    b1b = card_mimebundle({"name": "a", "version": 1, "status": "Approved", "content": {}})
    b2 = card_mimebundle({"name": "b", "version": 1, "content": full_content})
    nb = {"cells": [
        {"cell_type": "code", "outputs": [{"output_type": "display_data", "data": b1}]},
        {"cell_type": "markdown"},
        {"cell_type": "code", "outputs": [{"output_type": "execute_result", "data": b2},
                                          {"output_type": "stream", "text": "x"}]},
        {"cell_type": "code", "outputs": [{"output_type": "display_data", "data": b1b}]},
    ]}
    found = cards_in_notebook(nb)
    assert [(c["name"], c.get("status")) for c in found] == [("a", "Approved"), ("b", None)]
