"""What a newcomer meets first, run as they would: the README's first notebook block in a real
kernel on a fresh store, and the demo notebook run twice with nbclient on a fresh data dir."""

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from live import Kernel

ROOT = Path(__file__).resolve().parents[1]


def _fresh_env(tmp_path) -> dict:
    return {"JUPYTER_DATA_DIR": str(tmp_path / "data"), "MLGOV_DB_URL": f"sqlite:///{tmp_path / 'mlgov.sqlite'}"}


def test_readme_first_notebook_block_runs_in_order_on_a_fresh_store(tmp_path):
    text = (ROOT / "README.md").read_text()
    block = text.split("## From a notebook", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    kernel = Kernel(None, None, extra_env=_fresh_env(tmp_path))
    try:
        kernel.ok(f"import os\nos.chdir({str(tmp_path)!r})")
        for number, line in enumerate(block.splitlines(), 1):  # one line at a time: the failing one is named
            if line.strip():
                out = kernel.run(line)
                assert out["error"] is None, (number, line, out["error"])
        assert (tmp_path / "churn-audit.jsonl").read_text().count("\n") >= 2
    finally:
        kernel.stop()


def test_demo_notebook_runs_twice_on_a_fresh_data_dir(tmp_path):
    env = dict(os.environ, **_fresh_env(tmp_path))
    env.pop("MLGOV_SERVER_URL", None)
    seeded = subprocess.run([sys.executable, "-m", "mlgov_jupyter.demo", "--db-url", env["MLGOV_DB_URL"]],
                            env=env, capture_output=True, text=True, check=True).stdout
    assert seeded.startswith("demo catalog seeded: projects clinical") and "{" not in seeded
    # every tab has something: an approved card, a deployment, a monitor run thrice, the last with
    # violations (issue 13 item 8)
    assert "model cancer-screening with an approved card" in seeded
    assert "(Completed, Completed, CompletedWithViolations)" in seeded
    again = subprocess.run([sys.executable, "-m", "mlgov_jupyter.demo", "--db-url", env["MLGOV_DB_URL"]],
                           env=env, capture_output=True, text=True, check=True).stdout
    assert again.startswith("demo catalog already present") and "{" not in again
    saved = dict(os.environ)
    os.environ.update(_fresh_env(tmp_path))
    os.environ.pop("MLGOV_SERVER_URL", None)
    try:
        outputs, shown = [], []
        for _ in range(2):
            nb = nbformat.read(ROOT / "binder" / "demo.ipynb", as_version=4)
            NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
            outputs.append("\n".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", [])))
            shown.append("\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                                   + str(o.get("data", {}).get("text/html", ""))
                                   for c in nb.cells for o in c.get("outputs", [])))
            errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
            assert errors == []
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert "wine-chemistry" in outputs[0] and "is pending" in outputs[0]
    for out in (shown[0], shown[1]):
        assert "cancer-screening" in out and "Approved" in out  # card list and card
        assert "cancer-screening-prod" in out and "InAlert" in out  # dashboard: deployment, alert
        assert "cancer-screening-dq" in out  # alerts: the monitor's open alert
    assert "your access is 'pending'" in outputs[1] and "nothing pending: already decided" in outputs[1]
    assert re.search(r"OK: audit chain intact", outputs[1])
