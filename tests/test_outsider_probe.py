"""A fresh probe of every GET route as an outsider (no membership, no grant) finds no value of any
dataset: not in asset details, card evaluations, monitoring charts, exports or the audit trail."""

import base64
import io
import re

import pandas as pd

from mlgov_jupyter import api as routes

from helpers import parquet_b64

SSN, NAME, DIAGNOSIS, AMOUNT = "987-65-4320", "Zebulon Quixotefield", "Xanthogranulomatosis", "31337.25"
SECRETS = (SSN, NAME, DIAGNOSIS, AMOUNT, "Quixotefield", "31337")


def _patients() -> pd.DataFrame:
    n = 40
    return pd.DataFrame({"ssn": [SSN] * 30 + [f"000-00-{i:04d}" for i in range(10)],
                         "name": [NAME] * 30 + [f"p{i}" for i in range(10)],
                         "diagnosis": [DIAGNOSIS] * 25 + ["flu"] * 15,
                         "charge": [float(AMOUNT)] + [1.0] * (n - 1)})


def _model_b64() -> str:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    return base64.b64encode(sio.dumps(model)).decode()


CARD = {"model_overview": {"model_description": "scores patients"},
        "evaluation_details": [{
            "name": "hold-out", "evaluation_observation": f"worst error on {NAME} ({SSN})",
            "metric_groups": [{"name": "per class", "metric_data": [
                {"name": "recall", "type": "bar_chart", "value": [0.9, 0.4],
                 "x_axis_name": [DIAGNOSIS, "flu"]}]}]}]}
REPORT = {"violations": [{"feature_name": "diagnosis", "constraint_check_type": "data_type_check",
                          "description": f"new category {DIAGNOSIS}"}],
          "drifted_columns": ["diagnosis"], "violations_by_type": {"data_type_check": 1}, "n_current": 40,
          "columns": {"diagnosis": {"chart": {"labels": [DIAGNOSIS, "flu"], "values": [25, 15]},
                                    "top": {DIAGNOSIS: 25}}}}


async def _seed(api):
    ok = lambda r: r[0] in (200, 201) or (_ for _ in ()).throw(AssertionError(r[1]))  # noqa: E731
    ok(await api("alice", "POST", "projects", {"name": "clinic"}))
    ok(await api("alice", "POST", "assets", {"name": "patients", "project": "clinic", "classification": "pii",
                                             "description": "patient visits",
                                             "content_b64": parquet_b64(_patients())}))
    # an asset filter whose row filter holds a value of the data
    ok(await api("alice", "POST", "assets/patients/filters",
                 {"name": "dx", "columns": ["diagnosis"], "rows": [["diagnosis", "==", DIAGNOSIS]]}))
    ok(await api("alice", "POST", "assets", {"name": "portal", "project": "clinic", "format": "uri",
                                             "location": f"https://x.example/{SSN}?sig=31337"}))
    ok(await api("alice", "POST", "assets", {"name": "scorer", "kind": "model", "project": "clinic",
                                             "format": "skops", "content_b64": _model_b64()}))
    ok(await api("alice", "POST", "cards", {"name": "scorer-card", "model": "scorer", "content": CARD}))
    ok(await api("alice", "PUT", "cards/scorer-card", {"content": {**CARD, "intended_uses": {
        "purpose_of_model": "triage"}}}))
    execution = (await api("alice", "POST", "models/scorer/executions",
                           {"report": REPORT, "datasets": ["patients"]}))
    ok(execution)
    # carol is granted the dataset (the audit trail and grants now mention it)
    req = (await api("carol", "POST", "requests", {"asset": "patients", "reason": "study"}))[1]
    ok(await api("alice", "POST", f"requests/{req['id']}/approve", {}))
    ok(await api("carol", "GET", "assets/patients/data"))
    # a deployment capturing the patients' rows, a monitor run on them (its metrics, alerts)
    import io

    from mlgov_jupyter.core.monitoring import fit_baseline

    ok(await api("alice", "POST", "deployments", {"name": "triage", "model": "scorer"}))
    buf = io.BytesIO()
    _patients().assign(inference_id=[f"i{k}" for k in range(40)]).to_parquet(buf, index=False)
    ok(await api("alice", "POST", "deployments/triage/capture", raw=buf.getvalue()))
    ok(await api("alice", "POST", "monitors", {"name": "triage-dq", "deployment": "triage", "schedule": "daily",
                                               "baseline": fit_baseline(_patients().iloc[:30]).to_dict()}))
    ok(await api("alice", "POST", "monitors/triage-dq/run", {}))
    ok(await api("alice", "POST", "deployments", {"name": "triage2", "model": "scorer"}))  # a missing alert
    ok(await api("alice", "POST", "channels", {"kind": "email", "target": "alice@example.org"}))
    return execution[1]["id"]


def _probes(execution_id):
    """Concrete GETs per route template: every GET route, with the seeded names."""
    n, i = r"(?P<name>[^/]{1,256})", r"(?P<id>[0-9]{1,18})"
    return {
        "whoami": [("whoami", {})],
        "projects": [("projects", {})],
        "assets": [("assets", {}), ("assets", {"q": "patient"}), ("assets", {"project": "clinic"})],
        f"assets/{n}": [("assets/patients", {}), ("assets/portal", {}), ("assets/scorer", {})],
        f"assets/{n}/data": [("assets/patients/data", {}), ("assets/portal/data", {})],
        f"assets/{n}/filters": [("assets/patients/filters", {})],
        f"assets/{n}/urls": [("assets/patients/urls", {}), ("assets/portal/urls", {"expires": "60"})],
        "requests": [("requests", {}), ("requests", {"incoming": "true"})],
        "subscriptions": [("subscriptions", {}), ("subscriptions", {"incoming": "true"})],
        "cards": [("cards", {})],
        f"cards/{n}": [("cards/scorer-card", {}), ("cards/scorer-card", {"version": "1"})],
        f"cards/{n}/diff": [("cards/scorer-card/diff", {"a": "1", "b": "2"})],
        f"cards/{n}/export": [("cards/scorer-card/export", {"format": f}) for f in ("json", "html", "markdown")],
        f"models/{n}/executions": [("models/scorer/executions", {})],
        f"models/{n}/executions/{i}": [(f"models/scorer/executions/{execution_id}", {})],
        "dashboard": [("dashboard", {})],
        "roles/catalog": [("roles/catalog", {})],
        "roles": [("roles", {})],
        f"roles/{n}": [("roles/mlgov-default", {})],
        "assignments": [("assignments", {})],
        "audit": [("audit", {}), ("audit", {"project": "clinic"}), ("audit", {"resource_id": "patients"})],
        "audit/export": [("audit/export", {}), ("audit/export", {"project": "clinic"})],
        "audit/verify": [("audit/verify", {})],
        "audit/checkpoints": [("audit/checkpoints", {})],
        "audit/public-key": [("audit/public-key", {})],
        "uploads/(?P<upload>[0-9a-f]{32})": [("uploads/" + "0" * 32, {})],
        f"models/{n}/versions": [("models/scorer/versions", {})],
        f"projects/{n}/settings": [("projects/clinic/settings", {})],
        "deployments": [("deployments", {})],
        f"deployments/{n}": [("deployments/triage", {})],
        "monitors": [("monitors", {}), ("monitors", {"deployment": "triage"})],
        f"monitors/{n}": [("monitors/triage-dq", {})],
        "alerts": [("alerts", {"state": "all"})],
        "notifications": [("notifications", {})],
        "channels": [("channels", {})],
        f"channels/{i}/deliveries": [("channels/1/deliveries", {})],
    }


def _text(body) -> str:
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    import json

    return json.dumps(body)


async def test_every_get_route_as_an_outsider_shows_no_value_of_the_data(api):
    execution_id = await _seed(api)
    probes = _probes(execution_id)
    assert set(probes) == {r.path for r in routes.ROUTES if r.method == "GET"}
    # the seed is real: a reader does see the values (so their absence below means something)
    code, body, _ = await api("alice", "GET", "assets/patients")
    assert code == 200 and DIAGNOSIS in _text(body)
    code, body, _ = await api("alice", "GET", "cards/scorer-card")
    assert code == 200 and NAME in _text(body)
    leaks = []
    for template, calls in probes.items():
        for path, params in calls:
            code, body, _ = await api("dave", "GET", path, **params)
            assert code != 500, (path, body)
            text = _text(body)
            found = [s for s in SECRETS if re.search(re.escape(s), text)]
            if found:
                leaks.append((path, params, code, found))
    assert leaks == [], [(p, q, c) for p, q, c, _f in leaks]
    # what stays discoverable: names, columns, classification, the card's non-evaluation content
    code, body, _ = await api("dave", "GET", "assets/patients")
    assert code == 200 and body["classification"] == "pii"
    assert [c["name"] for c in body["schema"]] == ["ssn", "name", "diagnosis", "charge"]
    code, body, _ = await api("dave", "GET", "cards/scorer-card")
    if code == 200:
        assert body["content"]["model_overview"]["model_description"] == "scores patients"


async def test_a_grant_on_the_model_alone_shows_no_value_of_its_lineage_data(api):
    """bob is granted the model, not the pii dataset it was evaluated on: the card's evaluation
    and the monitoring report stay withheld from him; granted the dataset too, he sees them."""
    execution_id = await _seed(api)
    assert (await api("alice", "PUT", "cards/scorer-card", {
        "content": CARD, "lineage": {"training": [], "evaluation": ["patients"]}}))[0] == 200
    for asset in ("scorer", "patients"):
        req = (await api("bob", "POST", "requests", {"asset": asset, "reason": "review"}))[1]
        assert (await api("alice", "POST", f"requests/{req['id']}/approve", {}))[0] == 200
        code, card, _ = await api("bob", "GET", "cards/scorer-card")
        code2, report, _ = await api("bob", "GET", f"models/scorer/executions/{execution_id}")
        code3, export, _ = await api("bob", "GET", "cards/scorer-card/export", format="json")
        assert (code, code2, code3) == (200, 200, 200)
        seen = [s for s in SECRETS if s in _text(card) + _text(report) + _text(export)]
        if asset == "scorer":  # the model alone
            assert seen == [] and card.get("withheld") == ["evaluation_details"] and report["report"] is None
        else:  # the model and its evaluation data
            assert NAME in seen and DIAGNOSIS in seen and report["report"] is not None
