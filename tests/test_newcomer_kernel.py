"""Newcomer rough edges, met as a user meets them: real kernels on a real Jupyter server,
notebooks executed with nbclient and converted with nbconvert."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

import mlgov_jupyter
from live import Kernel, LiveServer

LOGO = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
        b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82")

CARD = ("import pandas as pd, numpy as np\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "rng = np.random.default_rng(0)\n"
        "X = pd.DataFrame({'a': rng.normal(size=200), 'b': rng.normal(size=200)}); y = (X.a > 0).astype(int)\n"
        "m = LogisticRegression().fit(X, y)\n"
        "_ = mlgov_client.card_from_session(m, 'churn-lr', train=(X, y), test=(X, y))\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("newcomer")
    (root / "logo.png").write_bytes(LOGO)
    live = LiveServer(root, config=f"c.MlgovApp.card_organisation = 'Acme Health'\n"
                                   f"c.MlgovApp.card_logo = {str(root / 'logo.png')!r}\n")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def alice(server):
    k = Kernel(server, "alice-token")
    k.ok("%load_ext mlgov_jupyter")
    k.ok(CARD)
    yield k
    k.stop()


def _pdf_text(path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout


def test_export_output_dir_is_a_folder_and_the_pdf_carries_organisation_and_approvals(server, alice, tmp_path):
    alice.ok(f"import os\nos.chdir({str(tmp_path)!r})\nmlgov_client.add_member('alice', 'carol', 'steward')")
    alice.ok("%mlgov card submit churn-lr")
    carol = mlgov_jupyter.connect(url=server.url, token="carol-token")
    carol.approve_card("churn-lr", comment="fine")
    out = alice.ok("%mlgov card export churn-lr --format pdf --output exports")
    assert out["stdout"].strip() == f"wrote {tmp_path / 'exports' / 'churn-lr-v1.pdf'}"
    out = alice.ok("%mlgov card export churn-lr --format html --output exports/")
    assert out["stdout"].strip() == f"wrote {tmp_path / 'exports' / 'churn-lr-v1.html'}"
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == ["churn-lr-v1.html", "churn-lr-v1.pdf"]
    out = alice.ok("%mlgov card export churn-lr --format markdown --output review/card.md")
    assert out["stdout"].strip() == f"wrote {tmp_path / 'review' / 'card.md'}"

    text = _pdf_text(tmp_path / "exports" / "churn-lr-v1.pdf")
    assert "Acme Health" in text and "Approvals" in text
    assert "v1 (this version)" in text and "approved" in text and "carol" in text
    assert ".0000" not in text and not any(c.isdigit() and "." in c for c in text.split() if "T" in c)
    html = (tmp_path / "exports" / "churn-lr-v1.html").read_text()
    assert "data:image/png;base64," in html and "Acme Health" in html
    # another organisation for one export, rendered in the kernel
    out = alice.ok(f"%mlgov card export churn-lr --organisation 'Acme Research' --output {tmp_path / 'other.pdf'}")
    assert "Acme Research" in _pdf_text(tmp_path / "other.pdf")


def test_access_labels_and_no_redundant_request(server, alice):
    alice.ok("import pandas as pd\nmlgov_client.create_project('lab')\n"
             "mlgov_client.publish(pd.DataFrame({'x': [1, 2]}), name='assay', project='lab', description='assay runs')\n"
             "mlgov_client.add_member('lab', 'bob', 'consumer')\nmlgov_client.add_member('lab', 'carol', 'steward')")
    labels = {}
    for user in ("alice", "bob", "carol"):
        labels[user] = mlgov_jupyter.connect(url=server.url, token=f"{user}-token").search("assay")[0]["access"]
    assert labels == {"alice": "owner", "bob": "member", "carol": "steward"}
    bob = Kernel(server, "bob-token")
    try:
        bob.ok("%load_ext mlgov_jupyter")
        assert bob.ok("print(len(mlgov_client.use('assay')))")["stdout"].strip() == "2"
        err = bob.run('%mlgov subscribe assay --reason "again"')["error"]
        assert err[0] == "UsageError" and "as member of project lab" in err[1] and "no request needed" in err[1]
        # the search widget: a member row has no Request access button; an empty reason says so
        out = bob.ok("r = mlgov_client.search('churn-lr')\nw = r.widget()\n"
                     "row = w.children[1]\nprint(r[0]['access'], [type(c).__name__ for c in row.children])\n"
                     "row.children[2].click()\nprint(row.children[3].value)")
        assert "give a reason" in out["stdout"] and "String should have" not in out["stdout"]
    finally:
        bob.stop()


def test_ceiling_refusal_does_not_tell_a_grant_holder_to_request_again(server, alice):
    root = Kernel(server, "root-token")
    try:
        root.ok("%load_ext mlgov_jupyter\nfrom mlgov_jupyter.core.roles.model import Guardrails, Role\n"
                "mlgov_client.create_role(Role.from_persona('no-pii', 'data-scientist', "
                "guardrails=Guardrails(classification_ceiling='confidential')))\n"
                "mlgov_client.assign_role('no-pii', user='carol')")
    finally:
        root.stop()
    alice.ok("mlgov_client.create_project('hr')\nmlgov_client.publish(pd.DataFrame({'ssn': ['1']}), name='staff', project='hr', "
             "description='staff', classification='pii')")
    k = Kernel(server, "carol-token")
    try:
        k.ok("%load_ext mlgov_jupyter\nrid = mlgov_client.subscribe('staff', reason='headcount')['id']")
        alice.ok("rid = mlgov_client.requests(incoming=True, status='pending')[0]['id']\n%mlgov approve {rid}")
        err = k.run("%mlgov use staff")["error"]
        assert err[0] == "UsageError" and "classification ceiling" in err[1]
        assert "subscribe" not in err[1] and "administrator" in err[1] and "pii" in err[1]
    finally:
        k.stop()


def test_tables_and_one_line_results(server, alice):
    out = alice.ok("%mlgov card list")
    bundle = out["data"][-1]
    assert "<table>" in bundle["text/html"] and "churn-lr" in bundle["text/html"]
    assert "churn-lr" in bundle["text/plain"] and out["stdout"] == ""
    out = alice.ok("%mlgov dashboard")
    assert "<table>" in out["data"][-1]["text/html"] and "churn-lr" in out["data"][-1]["text/plain"]
    out = alice.ok("%mlgov history churn-lr")
    assert "no monitoring checks of churn-lr yet" in out["data"][-1]["text/plain"]
    out = alice.ok("%mlgov audit verify")
    assert out["stdout"].startswith("OK: audit chain intact") and out["data"] == []
    out = alice.ok("%mlgov card show churn-lr")
    html = out["data"][-1]["text/html"]
    import re
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d", html) and re.search(r"\d{2}:\d{2}:\d{2} UTC", html)


def test_widget_outputs_keep_a_static_copy_in_nbconvert(server, alice, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (
        "%load_ext mlgov_jupyter",
        "%mlgov search churn",
        "%mlgov card edit churn-lr",
        "import numpy as np, pandas as pd\nrng = np.random.default_rng(1)\n"
        "ref = pd.DataFrame({'x': rng.normal(0, 1, 500)}); cur = pd.DataFrame({'x': rng.normal(1, 1, 500)})\n"
        "%mlgov drift ref cur --quiet",
        "from mlgov_jupyter.kernel.widgets.role_wizard import RoleWizard\nRoleWizard()")]
    saved = dict(os.environ)
    os.environ.update(MLGOV_SERVER_URL=server.url, MLGOV_TOKEN="alice-token")
    try:
        # as JupyterLab saves notebooks by default: outputs, no widget state
        NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=False).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    for cell in nb.cells[1:]:
        bundles = [o["data"] for o in cell.outputs if "data" in o]
        view = [b for b in bundles if "application/vnd.jupyter.widget-view+json" in b]
        assert view and all("text/html" in b for b in view), cell.source
    html, _ = HTMLExporter().from_notebook_node(nb)
    assert "CardForm(" not in html and "VBox(" not in html and "DriftPanel(" not in html
    assert "model of card churn-lr" in html and "mlgov-card-form" in html and "Read-only copy" in html
    assert "mlgov-drift" in html and "mlgov-role-wizard" in html


def test_nbconvert_without_a_card_is_one_line(tmp_path):
    path = tmp_path / "empty.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), path)
    run = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "mlgov-card", str(path)],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "no model card" in line]
    assert len(errors) == 1 and "display one first" in errors[0]
