"""Issue 13's lifecycle and card search, met in the notebook: `%mlgov deprecate|unpublish`,
`use` of a deprecated asset (one DeprecationWarning line naming the replacement), of an
unpublished one (one UsageError line), `%mlgov card list` filters and a `card new` given a
DataFrame that publishes nothing; a real kernel on a real Jupyter server."""

import pytest

from live import Kernel, LiveServer

SESSION = ("import pandas as pd\n"
           "from sklearn.datasets import load_breast_cancer\n"
           "from sklearn.linear_model import LogisticRegression\n"
           "df = load_breast_cancer(as_frame=True).frame\n"
           "X, y = df.drop(columns='target'), df['target']\n"
           "model = LogisticRegression(max_iter=3000).fit(X, y)\n")


@pytest.fixture(scope="module")
def alice(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("lifecycle"))
    k = Kernel(live, "alice-token")
    try:
        k.ok("%load_ext mlgov_jupyter")
        k.ok(SESSION)
        k.ok("%mlgov projects --new clinical")
        yield k
    finally:
        k.stop()
        live.stop()


def test_deprecate_use_warns_then_unpublish(alice):
    alice.ok("%mlgov publish df --name old --project clinical\n%mlgov publish X --name new --project clinical")
    out = alice.ok('%mlgov deprecate old --reason "labels fixed in new" --replacement new')["stdout"]
    assert out.strip() == "old is deprecated: labels fixed in new; use new instead"
    out = alice.ok("frame = %mlgov use old\nprint(len(frame))")["stdout"]
    warning = [ln for ln in out.splitlines() if "DeprecationWarning" in ln]
    assert warning == ["<mlgov>:0: DeprecationWarning: old is deprecated by alice: labels fixed in new; "
                       "use new instead"], out
    assert "569" in out.splitlines()
    err = alice.run("%mlgov deprecate old")["error"]
    assert err[0] == "UsageError" and "--reason" in err[1]
    out = alice.ok("print([a['name'] for a in mlgov_client.search('')], "
                   "[a['name'] for a in mlgov_client.search('', include_deprecated=True)])")["stdout"]
    assert out.strip() == "['new'] ['new', 'old']"
    assert alice.ok("%mlgov deprecate old --undo")["stdout"].strip() == "old is no longer deprecated"

    out = alice.ok('%mlgov unpublish old --reason "consent withdrawn"')["stdout"]
    assert out.strip() == ("old is unpublished: 0 grant(s) ended, 0 pending request(s) closed, "
                           "1 stored object(s) deleted")
    err = alice.run("%mlgov use old")["error"]
    assert err[0] == "UsageError" and err[1].startswith("asset 'old' was unpublished by alice on ")
    assert "\n" not in err[1] and err[1].endswith("consent withdrawn")


def test_card_list_filters_and_no_stray_dataset(alice):
    before = alice.ok("print(mlgov_client.search('').total)")["stdout"].strip()
    err = alice.run("%mlgov card new X --name frame-card --project clinical")["error"]
    assert err[0] == "UsageError" and "not a DataFrame (nothing was published)" in err[1], err
    assert alice.ok("print(mlgov_client.search('').total)")["stdout"].strip() == before

    alice.ok("_ = mlgov_client.card_from_session(model, 'screen', train=(X, y), project='clinical')\n"
             "_ = mlgov_client.update_card('screen', intended_uses={'purpose_of_model': 'mammography triage', "
             "'risk_rating': 'High'})")
    out = alice.ok("%mlgov card list mammography --risk High --status Draft")
    assert "screen" in str(out["data"]) and "High" in str(out["data"])
    out = alice.ok("%mlgov card list --risk Low")
    assert "no model cards match" in str(out["data"])
    err = alice.run("%mlgov card list --status Done")["error"]
    assert err[0] == "UsageError"
