"""The catalog loop as people do it: two users, two real kernels, one real Jupyter server."""

import getpass
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest

from live import Kernel, LiveServer

MAKE_FRAME = ("import pandas as pd, numpy as np\n"
              "rng = np.random.default_rng(7)\n"
              "df = pd.DataFrame({'customer_id': np.arange(200), 'tenure': rng.integers(0, 60, 200),"
              " 'plan': rng.choice(['basic', 'pro', 'team'], 200), 'spend': rng.normal(50, 9, 200),"
              " 'churned': rng.random(200) < 0.2})\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("live"))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def alice(server):
    k = Kernel(server, "alice-token")
    k.ok("%load_ext mlgov_jupyter")
    yield k
    k.stop()


@pytest.fixture(scope="module")
def bob(server):
    k = Kernel(server, "bob-token")
    k.ok("%load_ext mlgov_jupyter")
    yield k
    k.stop()


def test_publish_find_request_approve_use_revoke_verify(server, alice, bob, tmp_path):
    alice.ok(MAKE_FRAME)
    out = alice.ok('%mlgov publish df --name churn --description "customer churn events" '
                   '--tags churn,crm --classification confidential')
    assert "published churn revision 1 in project alice" in out["stdout"]

    out = bob.ok("r = %mlgov search churning event\nprint([a['name'] for a in r], r[0]['access'])")
    assert "['churn'] none" in out["stdout"]
    bundle = bob.ok("r")["data"][0]
    assert "application/vnd.jupyter.widget-view+json" in bundle and "churn" in bundle["text/html"]

    err = bob.run("%mlgov use churn")["error"]
    assert err[0] == "UsageError" and "subscribe churn" in err[1] and "\n" not in err[1]

    out = bob.ok('%mlgov subscribe churn --reason "retention model for Q3"')
    assert "is pending" in out["stdout"]

    out = alice.ok("rid = mlgov_client.requests(incoming=True, status='pending')[0]['id']\n"
                   "%mlgov approve {rid} --comment 'ok for Q3'")
    assert "is accepted" in out["stdout"]

    parquet = tmp_path / "bob.parquet"
    bob.ok(f"mine = %mlgov use churn\nmine.to_parquet({str(parquet)!r})")
    alice.ok(f"df.to_parquet({str(tmp_path / 'alice.parquet')!r})")
    pd.testing.assert_frame_equal(pd.read_parquet(parquet), pd.read_parquet(tmp_path / "alice.parquet"))

    out = alice.ok("sid = mlgov_client.subscriptions(incoming=True)[0]['id']\n%mlgov revoke {sid}")
    assert "is revoked" in out["stdout"]
    err = bob.run("%mlgov use churn")["error"]
    assert err[0] == "UsageError" and "subscribe churn" in err[1]

    out = alice.ok("%mlgov audit verify")
    assert out["stdout"].startswith("OK: audit chain intact")

    with sqlite3.connect(server.db) as db:  # someone edits one audit row in the database file
        db.execute("UPDATE audit_events SET detail = '{\"revision\": 2}' WHERE id = 2")
    out = alice.ok("%mlgov audit verify")
    assert out["stdout"].startswith("BROKEN: audit event 2 was altered")
    cli = subprocess.run([sys.executable, "-m", "mlgov_jupyter.cli", "audit-verify", "--db-url",
                          f"sqlite:///{server.db}"], capture_output=True, text=True)
    assert cli.returncode == 1 and "audit event 2" in cli.stdout


@pytest.mark.parametrize("line,needle", [
    ("%mlgov", "%mlgov SUBCOMMAND"),
    ("%mlgov frobnicate", "unknown subcommand 'frobnicate'"),
    ("%mlgov use", "the following arguments are required: asset"),
    ("%mlgov subscribe x", "--reason"),
    ("%mlgov approve notanumber", "invalid int value"),
    ("%mlgov publish nothing_here --name x", "no variable named 'nothing_here'"),
    ("%mlgov search --kind table", "kind"),
    ('%mlgov subscribe "unclosed', "No closing quotation"),
    ("%mlgov approve 424242", "no access request 424242"),
])
def test_wrong_usage_is_one_line(alice, line, needle):
    out = alice.run(line)
    if out["error"] is None:  # help prints
        assert needle in out["stdout"]
        return
    ename, evalue, tb = out["error"]
    assert ename == "UsageError" and needle in evalue and "\n" not in evalue.strip(), out


def test_publish_model_and_feature_group(alice, bob):
    alice.ok("from sklearn.linear_model import LogisticRegression\n"
             "X = df[['tenure', 'spend']]; y = df['churned']\n"
             "clf = LogisticRegression().fit(X, y)\n"
             "m = mlgov_client.publish(clf, name='churn-model', description='churn classifier')\n"
             "df['ts'] = pd.Timestamp('2026-01-01')\n"
             "fg = mlgov_client.publish(df, name='churn-features', record_id='customer_id', event_time='ts',"
             " feature_descriptions={'tenure': 'months as customer'})\n"
             "print(m['kind'], m['format'], fg['kind'], fg['features']['record_id'])\n"
             "back = mlgov_client.use('churn-model')\n"
             "print(bool((back.predict(X) == clf.predict(X)).all()))")
    out = alice.ok("print(mlgov_client.asset('churn-model')['kind'])")
    assert "model" in out["stdout"]
    err = bob.run("mlgov_client.use('churn-model')")["error"]
    assert err[0] == "Forbidden"


def _wait_until_ready(kc, timeout: float = 90) -> None:
    """Ask for kernel_info until the reply AND an iopub message arrive: iopub is a ZMQ
    subscription, so output sent before it connects would be lost."""
    import queue

    deadline = time.monotonic() + timeout
    while True:
        kc.kernel_info()
        try:
            kc.get_shell_msg(timeout=2)
            kc.get_iopub_msg(timeout=2)
            break
        except queue.Empty:
            if time.monotonic() > deadline:
                raise
    while True:  # drain the status messages of those requests
        try:
            kc.get_iopub_msg(timeout=0.5)
        except queue.Empty:
            return


def test_kernels_started_by_the_server_know_its_url(server):
    import json
    import urllib.request

    req = urllib.request.Request(server.url + "api/kernels", data=b"{}", method="POST",
                                 headers={"Authorization": f"token {server.token}"})
    kernel = json.loads(urllib.request.urlopen(req).read())
    try:
        from jupyter_client.blocking import BlockingKernelClient

        kc = BlockingKernelClient()
        kc.load_connection_file(server.root / "runtime" / f"kernel-{kernel['id']}.json")
        kc.start_channels()
        _wait_until_ready(kc)
        seen = []

        def run(code, stdin=None):
            seen.clear()
            reply = kc.execute_interactive(
                code, timeout=60, allow_stdin=stdin is not None,
                stdin_hook=(lambda m: kc.input(stdin)) if stdin is not None else None,
                output_hook=lambda m: m["msg_type"] == "stream" and seen.append(m["content"]["text"]))
            return "".join(seen), reply["content"]

        out, _ = run("import os, mlgov_jupyter\n"
                     f"print(os.environ['MLGOV_SERVER_URL'], os.environ.get('MLGOV_TOKEN') == {server.token!r})\n"
                     "%load_ext mlgov_jupyter\n"
                     "%mlgov whoami")
        # only the owner runs kernels on a shared server: they act with the owner's token
        assert f":{server.port}/ True" in out
        assert out.splitlines()[-1].startswith(getpass.getuser()), out
        # another user's token is typed at a prompt, never on the line (the history keeps lines)
        out, reply = run("%mlgov login carol-token")
        assert reply["status"] == "error" and "at the prompt" in reply["evalue"]
        out, reply = run("%mlgov login\n%mlgov whoami", stdin="carol-token")
        assert reply["status"] == "ok" and "logged in as carol" in out and "carol: " in out, out
        kc.stop_channels()
    finally:
        req = urllib.request.Request(server.url + f"api/kernels/{kernel['id']}", method="DELETE",
                                     headers={"Authorization": f"token {server.token}"})
        urllib.request.urlopen(req)


def test_model_card_from_a_real_kernel(server, alice, tmp_path):
    import json as _json

    import mlgov_jupyter
    from sklearn.metrics import accuracy_score

    alice.ok("from sklearn.datasets import load_breast_cancer\n"
             "mlgov_client.publish(load_breast_cancer(as_frame=True).frame, name='cancer', "
             "description='breast mass diagnostics')\n"
             "mlgov_client.add_member('alice', 'carol', 'steward')")
    alice.ok("from sklearn.model_selection import train_test_split\n"
             "from sklearn.ensemble import RandomForestClassifier\n"
             "cancer = %mlgov use cancer\n"
             "X, y = cancer.drop(columns='target'), cancer['target']\n"
             "X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=1)\n"
             "rf = RandomForestClassifier(n_estimators=30, random_state=0).fit(X_tr, y_tr)")
    out = alice.ok("%mlgov card new rf --name cancer-rf --train X_tr,y_tr --test X_te,y_te")
    bundle = out["data"][0]
    card = bundle["application/vnd.mlgov.card+json"]
    assert card["status"] == "Draft" and card["lineage"]["training"] == ["cancer"]
    assert "cancer-rf" in bundle["text/html"]
    acc = alice.ok("from sklearn.metrics import accuracy_score\nprint(accuracy_score(y_te, rf.predict(X_te)))")
    groups = card["content"]["evaluation_details"][0]["metric_groups"]
    ours = next(m["value"] for g in groups for m in g["metric_data"] if m["name"] == "accuracy")
    assert abs(ours - float(acc["stdout"])) < 1e-12

    out = alice.ok("%mlgov card submit cancer-rf")
    assert "is PendingReview" in out["stdout"]
    carol = mlgov_jupyter.connect(url=server.url, token="carol-token")
    assert carol.approve_card("cancer-rf", comment="reviewed").card["status"] == "Approved"
    out = alice.ok(f"%mlgov card export cancer-rf --format pdf --output {tmp_path}")
    pdf = out["stdout"].split("wrote ", 1)[1].strip()
    text = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True).stdout
    assert "cancer-rf" in text and "Approved" in text
    out = alice.ok("c = mlgov_client.update_card('cancer-rf', intended_uses={'risk_rating': 'Medium'})\n"
                   "print(c.card['version'], c.card['status'], mlgov_client.card('cancer-rf', version=1).card['status'])")
    assert out["stdout"].split() == ["2", "Draft", "Approved"]
    js = alice.ok("print(mlgov_client.export_card('cancer-rf', 'json', version=1).decode())")["stdout"]
    assert _json.loads(js) == carol.card("cancer-rf", version=1).card["content"]
    err = alice.run("%mlgov card new rf --name bad_name!")["error"]
    assert err[0] == "UsageError" and "\n" not in err[1]


def test_cards_shown_in_a_notebook_export_with_nbconvert(server, alice, tmp_path):
    import nbformat

    out = alice.ok("%mlgov card show cancer-rf --version 1")
    bundle = out["data"][0]
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("%mlgov card show cancer-rf --version 1")
    cell.outputs = [nbformat.v4.new_output("display_data", data=bundle)]
    nb.cells = [nbformat.v4.new_markdown_cell("# Review"), cell]
    path = tmp_path / "review.ipynb"
    nbformat.write(nb, path)
    for fmt, suffix in (("mlgov-card", ".html"), ("mlgov-card-pdf", ".pdf")):
        run = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", fmt, str(path)],
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
    html = (tmp_path / "review.html").read_text()
    assert "cancer-rf" in html and "<svg" in html and "<script" not in html
    text = subprocess.run(["pdftotext", str(tmp_path / "review.pdf"), "-"], capture_output=True, text=True).stdout
    assert "cancer-rf" in text and "Approved" in text


def test_admin_wizard_role_refuses_pii_to_bob(server, bob, tmp_path):
    root = Kernel(server, "root-token")
    try:
        root.ok("%load_ext mlgov_jupyter")
        out = root.ok(
            "w = %mlgov role new\n"
            "w.name.value = 'ds-no-pii'\n"
            "w.persona.value = 'data-scientist'\n"
            "w.ceiling.value = 'confidential'\n"
            "w.subnets.value = 'subnet-0abc1234'\n"
            "w.security_groups.value = 'sg-0abc1234'\n"
            "w.volume_kms.value = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'\n"
            "w.assign_users.value = 'bob'\n"
            "saved = w.save()\n"
            "print(saved.name, [a['user'] for r in mlgov_client.roles() for a in r['assigned_to']])")
        assert "ds-no-pii ['bob']" in out["stdout"]
        iam = root.ok("%mlgov role show ds-no-pii --iam")["stdout"]
        assert "sagemaker:VpcSubnets" in iam and "sagemaker:VolumeKmsKey" in iam
        alice = Kernel(server, "alice-token")
        try:
            alice.ok("%load_ext mlgov_jupyter\nimport pandas as pd\n"
                     "pii = pd.DataFrame({'ssn': ['1', '2'], 'x': [1, 2]})\n"
                     "mlgov_client.create_project('hr')\n"
                     "mlgov_client.publish(pii, name='people', project='hr', description='staff records',"
                     " classification='pii')")
            out = bob.ok("print([a['name'] for a in mlgov_client.search('staff')])\n"
                         "%mlgov subscribe people --reason 'headcount model'")
            assert "['people']" in out["stdout"]
            alice.ok("rid = mlgov_client.requests(incoming=True, status='pending')[0]['id']\n"
                     "%mlgov approve {rid}")
            err = bob.run("%mlgov use people")["error"]
            assert err[0] == "UsageError"
            assert "role ds-no-pii has a classification ceiling of confidential and the asset is pii" in err[1]
        finally:
            alice.stop()
    finally:
        root.stop()


def test_drift_panel_inline_and_stored_as_history(server, alice):
    out = alice.ok(
        "import numpy as np, pandas as pd\n"
        "rng = np.random.default_rng(3)\n"
        "ref = pd.DataFrame({'x': rng.normal(0, 1, 5000), 'plan': rng.choice(['a', 'b', 'c'], 5000)})\n"
        "cur = pd.DataFrame({'x': rng.normal(0.6, 1, 5000), 'plan': rng.choice(['a', 'b', 'c'], 5000)})\n"
        "r = %mlgov drift ref cur --model cancer-rf\n"
        "print(r.drifted_columns)")
    assert "['x']" in out["stdout"]
    bundles = [d for d in alice.ok("r")["data"] if "text/html" in d]
    assert bundles and "application/vnd.jupyter.widget-view+json" in bundles[-1]
    assert "<script" not in bundles[-1]["text/html"] and len(bundles[-1]["text/html"]) < 200_000
    text = alice.ok("%mlgov history cancer-rf")["data"][-1]["text/plain"]  # an HTML table, text as fallback
    assert "CompletedWithViolations" in text and "x" in text.splitlines()[-2]
    text = alice.ok("%mlgov dashboard")["data"][-1]["text/plain"]
    assert "cancer-rf" in text and "InAlert" in text
