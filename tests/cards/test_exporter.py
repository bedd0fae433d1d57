import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mlgov_jupyter.core.cards import card_mimebundle

ROOT = Path(__file__).resolve().parents[2]
JUPYTER = [sys.executable, "-m", "jupyter"]
HTML_EXPORTER = "mlgov_jupyter.exporters.card.CardHTMLExporter"
PDF_EXPORTER = "mlgov_jupyter.exporters.card.CardPDFExporter"
ENTRY_POINTS = """[nbconvert.exporters]
mlgov-card = mlgov_jupyter.exporters.card:CardHTMLExporter
mlgov-card-pdf = mlgov_jupyter.exporters.card:CardPDFExporter
"""


def make_notebook(path, cards):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("# Training"))
    nb.cells.append(nbformat.v4.new_code_cell("model.fit(X, y)", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="fitted\n")]))
    for i, card in enumerate(cards):
        nb.cells.append(nbformat.v4.new_code_cell(f"%mlgov card show {card['name']}", execution_count=i + 1, outputs=[
            nbformat.v4.new_output("display_data", data=card_mimebundle(card))]))
    nbformat.validate(nb)
    nbformat.write(nb, str(path))
    return path


def nbconvert_start(to, nb_path, out_dir):
    """Start ``jupyter nbconvert --to TO`` (the real CLI) in a subprocess."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([*JUPYTER, "nbconvert", "--to", to, str(nb_path), "--output-dir", str(out_dir)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc):
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err


@pytest.fixture()
def cards(full_content):
    return [
        {"name": "cancer-screen", "status": "Approved", "version": 2, "content": full_content,
         "approved_by": "bob"},
        {"name": "second-model", "status": "Draft", "version": 1,
         "content": {"model_overview": {"model_name": "second-model"},
                     "intended_uses": {"intended_uses": "<script>alert(1)</script>", "risk_rating": "Low"}}},
    ]


def test_jupyter_nbconvert_to_html_and_pdf_by_class_name(tmp_path, cards):
    nb = make_notebook(tmp_path / "train.ipynb", cards)
    html_run = nbconvert_start(HTML_EXPORTER, nb, tmp_path / "out")
    pdf_run = nbconvert_start(PDF_EXPORTER, nb, tmp_path)  # both at once: each CLI start is slow
    finish(html_run)
    finish(pdf_run)

    html = (tmp_path / "out" / "train.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert html.count('<article class="mlgov-card">') == 2
    assert "<h1>cancer-screen</h1>" in html and "<h1>second-model</h1>" in html
    assert "approved_by" not in html and "bob" in html
    assert html.count("<svg") == 4
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "model.fit" not in html  # the card, not the notebook

    pdf = tmp_path / "train.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils not installed")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for needle in ("cancer-screen", "Approved", "second-model", "Draft", "<script>alert(1)</script>",
                   "Prioritise reads.", "confusion_matrix"):
        assert needle in text, needle


def test_entry_point_names():
    """The installed package registers both exporters (pyproject entry points), which is how
    `jupyter nbconvert --to mlgov-card` and JupyterLab's "Export Notebook As" menu find them."""
    from nbconvert.exporters import get_export_names, get_exporter

    from mlgov_jupyter.exporters.card import CardHTMLExporter, CardPDFExporter

    names = get_export_names()
    assert "mlgov-card" in names and "mlgov-card-pdf" in names
    assert get_exporter("mlgov-card") is CardHTMLExporter
    assert get_exporter("mlgov-card-pdf") is CardPDFExporter
    # what JupyterLab's "Export Notebook As" menu shows
    assert CardHTMLExporter.export_from_notebook == "Model Card (HTML)"
    assert CardPDFExporter.export_from_notebook == "Model Card (PDF)"
    assert (CardHTMLExporter.output_mimetype, CardPDFExporter.output_mimetype) == ("text/html", "application/pdf")


def test_notebook_without_cards_fails_clearly():
    from mlgov_jupyter.core.errors import Invalid
    from mlgov_jupyter.exporters.card import CardHTMLExporter

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("1 + 1", outputs=[
        nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=1)]))
    with pytest.raises(Invalid, match="no model card in this notebook"):
        CardHTMLExporter().from_notebook_node(nb)


def test_exporter_in_process(cards):
    from mlgov_jupyter.exporters.card import CardHTMLExporter, CardPDFExporter

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("display_data", data=card_mimebundle(cards[1]))]))
    html, resources = CardHTMLExporter().from_notebook_node(nb)
    assert resources["output_extension"] == ".html" and "<h1>second-model</h1>" in html
    pdf, resources = CardPDFExporter().from_notebook_node(nb)
    assert resources["output_extension"] == ".pdf" and pdf.startswith(b"%PDF")
