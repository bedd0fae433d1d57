"""Issue 13 item 3, met in the notebook: `%mlgov card diff` between two autopopulated versions
summarises each curve in one line ("changed, n points") and rounds numbers to 4 significant digits;
a real kernel on a real Jupyter server."""

import re

import pytest

from live import Kernel, LiveServer

SESSION = ("import pandas as pd, numpy as np\n"
           "from sklearn.linear_model import LogisticRegression\n"
           "rng = np.random.default_rng(0)\n"
           "X = pd.DataFrame({'a': rng.normal(size=300), 'b': rng.normal(size=300)})\n"
           "y = ((X.a + rng.normal(scale=0.8, size=300)) > 0).astype(int)\n")


@pytest.fixture(scope="module")
def alice(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("diff"))
    k = Kernel(live, "alice-token")
    try:
        k.ok("%load_ext mlgov_jupyter")
        k.ok(SESSION)
        yield k
    finally:
        k.stop()
        live.stop()


def test_card_diff_summarises_curves_and_rounds(alice):
    alice.ok("m1 = LogisticRegression(C=1.0).fit(X[:200], y[:200])\n"
             "_ = mlgov_client.card_from_session(m1, 'churn', train=(X[:200], y[:200]), test=(X[200:], y[200:]))")
    alice.ok("m2 = LogisticRegression(C=0.01).fit(X[:150], y[:150])\n"
             "_ = mlgov_client.card_from_session(m2, 'churn', train=(X[:150], y[:150]), test=(X[200:], y[200:]))")
    out = alice.ok("%mlgov card diff churn 1 2")["stdout"]
    lines = out.strip().splitlines()
    assert lines, out
    curves = [ln for ln in lines if re.search(r": changed, \d+ (points|values)", ln)]
    assert curves, out  # the ROC / precision-recall curves: one line each
    assert not any(re.search(r"\.value\[\d+\]", ln) for ln in lines), out  # no per-point rows
    assert len(lines) < 40, out
    for number in re.findall(r"(?<![\w.\[])-?\d+\.\d+(?:e-?\d+)?", out):
        digits = number.lstrip("-0.").split("e")[0].replace(".", "")
        assert len(digits) <= 6, (number, out)  # 4 significant digits, more only to tell two apart
    assert max(len(ln) for ln in lines) <= 200, out
    # the same through the REST route the sidebar reads: exact data plus display text
    changes = alice.ok("import json\nprint(json.dumps(mlgov_client.card_diff('churn', 1, 2)))")["stdout"]
    import json

    changes = json.loads(changes)
    summary = [c for c in changes if "summary" in c]
    assert summary and all(isinstance(c["new"], list) for c in summary)
    assert all("old_text" in c and "new_text" in c for c in changes)


def test_dashboard_magic_says_not_monitored_and_what_is_unknown(alice):
    """Issue 13 item 9 in the notebook: the model the cards above describe was never checked."""
    alice.ok("import pandas as pd\n"
             "_ = mlgov_client.card_from_session(LogisticRegression().fit(X, y), 'never-checked', train=(X, y))")
    text = alice.ok("%mlgov dashboard")["data"][-1]["text/plain"]
    row = next(line for line in text.splitlines() if "never-checked" in line)
    assert "Not monitored" in row and "never checked" in row and "OK" not in row.split()
