"""Every persona x every REST endpoint, against the real server: the role catalog says what a
persona's role may do, and the server must refuse everything else (zero unexpected allows).

dave holds the persona's default role and a designation (owner, consumer, or none) in project
`risk`, where alice publishes data, a model with a card under review and a monitoring check, and
carol has requests and subscriptions. Each endpoint is called once with valid input; a 403 means
refused, anything else means the policy let the call through."""

import pytest

from mlgov_jupyter import api as routes
from mlgov_jupyter.core.roles import Role, personas
from mlgov_jupyter.core.roles.catalog import DESIGNATIONS_FOR, OPEN_ACTIONS, activity, persona

from helpers import publish_body

PERSONAS = [p.id for p in personas()]
DESIGNATIONS = ["owner", "consumer", None]
SELF_ONLY = {("POST", "subscriptions/(?P<id>[0-9]{1,18})/cancel")}  # only the subscriber


CUSTOM = ("search-catalog", "subscribe", "publish", "edit-cards", "approve-cards", "view-roles")


def _activities(persona_id):
    """The persona's activities; the custom persona gets a fixed pick of its own."""
    return CUSTOM if persona_id == "custom" else persona(persona_id).activities


def _role(name, persona_id="data-scientist"):
    add = CUSTOM if persona_id == "custom" else ()
    return {"role": Role.from_persona(name, persona_id, add=add).to_dict()}


def role_allows(persona_id, action, designation) -> bool:
    """What the catalog says the role may do where its holder has ``designation``."""
    for act_id in _activities(persona_id):
        act = activity(act_id)
        if action in act.actions and (action in OPEN_ACTIONS or not act.membership
                                      or designation in DESIGNATIONS_FOR.get(action, ())):
            return True
    return False


async def _seed(api, persona, designation):
    ok = lambda r: r[0] in (200, 201) or pytest.fail(str(r[1]))  # noqa: E731
    ok(await api("root", "POST", "roles", _role("p-dave", persona)))
    ok(await api("root", "POST", "assignments", {"role": "p-dave", "user": "dave"}))
    ok(await api("root", "POST", "roles", _role("spare")))
    ok(await api("root", "POST", "roles", _role("spare2")))
    spare = (await api("root", "POST", "assignments", {"role": "spare", "user": "erin"}))[1]["id"]
    ok(await api("alice", "POST", "projects", {"name": "risk"}))
    ok(await api("alice", "POST", "projects/risk/members", {"user": "gus", "designation": "viewer"}))
    if designation:
        ok(await api("alice", "POST", "projects/risk/members", {"user": "dave", "designation": designation}))
    ok(await api("alice", "POST", "assets", publish_body("churn", project="risk")))
    ok(await api("alice", "POST", "assets", publish_body("churn2", project="risk")))
    ok(await api("alice", "POST", "assets", publish_body("churn3", project="risk")))
    ok(await api("alice", "POST", "assets", publish_body("churn4", project="risk")))  # unpublished last
    ok(await api("alice", "POST", "assets/churn/filters", {"name": "spare-f", "columns": ["tenure"]}))
    from tests_models import model_b64

    for name in ("scorer", "scorer2"):
        ok(await api("alice", "POST", "assets", {"name": name, "kind": "model", "project": "risk",
                                                 "format": "skops", "content_b64": model_b64()}))
    ok(await api("alice", "POST", "cards", {"name": "scorer-card", "model": "scorer", "content": {}}))
    ok(await api("alice", "POST", "cards/scorer-card/transition", {"action": "submit"}))
    ok(await api("alice", "POST", "models/scorer/executions", {"report": {"violations": []}}))
    # deployments of scorer: one monitored (two monitors), one not (a "missing" alert, id 1)
    ok(await api("alice", "POST", "deployments", {"name": "scorer-prod", "model": "scorer"}))
    ok(await api("alice", "POST", "deployments", {"name": "scorer-prod2", "model": "scorer"}))
    ok(await api("alice", "POST", "deployments/scorer-prod/capture", raw=_capture()))
    for name in ("scorer-dq", "scorer-dq2"):
        ok(await api("alice", "POST", "monitors", _monitor(name)))
    ids = {}
    for key, asset in (("req", "churn"), ("req2", "churn2"), ("sub", "churn3"), ("sub2", "churn")):
        if key == "sub2":  # churn's first request is still pending: decide it via churn2's flow
            continue
        ids[key] = (await api("carol", "POST", "requests", {"asset": asset, "reason": "analysis"}))[1]["id"]
    ok(await api("alice", "POST", f"requests/{ids['sub']}/approve", {}))
    subs = (await api("carol", "GET", "subscriptions"))[1]["subscriptions"]
    ids["sub"] = subs[0]["id"]
    return ids, spare


def _capture(label: bool = False) -> bytes:
    import io

    from helpers import frame

    df = frame(20).assign(inference_id=[f"i{i}" for i in range(20)])
    df = df[["inference_id", "churned"]] if label else df
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def _monitor(name: str) -> dict:
    from helpers import frame

    from mlgov_jupyter.core.monitoring import fit_baseline

    return {"name": name, "deployment": "scorer-prod", "schedule": "daily",
            "baseline": fit_baseline(frame(50)).to_dict()}


def _calls(ids, spare):
    """(method, path template from the route table, concrete path, body or query)."""
    role = Role.from_persona("dave-made", "data-scientist").to_dict()
    return [
        ("GET", "whoami", "whoami", None),
        ("GET", "projects", "projects", None),
        ("POST", "projects", "projects", {"name": "dave-proj"}),
        ("POST", "projects/(?P<name>[^/]{1,256})/members", "projects/risk/members",
         {"user": "erin", "designation": "viewer"}),
        ("DELETE", "projects/(?P<name>[^/]{1,256})/members/(?P<user>[^/]{1,256})",
         "projects/risk/members/gus", None),
        ("GET", "assets", "assets", None),
        ("POST", "assets", "assets", publish_body("dave-data", project="risk")),
        ("POST", "uploads", "uploads", {"name": "dave-data", "project": "risk"}),
        ("PUT", "uploads/(?P<upload>[0-9a-f]{32})", "uploads/" + "0" * 32, b"part"),
        ("GET", "uploads/(?P<upload>[0-9a-f]{32})", "uploads/" + "0" * 32, None),
        ("DELETE", "uploads/(?P<upload>[0-9a-f]{32})", "uploads/" + "0" * 32, None),
        ("GET", "assets/(?P<name>[^/]{1,256})", "assets/churn", None),
        ("GET", "assets/(?P<name>[^/]{1,256})/data", "assets/churn/data", None),
        ("GET", "assets/(?P<name>[^/]{1,256})/filters", "assets/churn/filters", None),
        ("GET", "assets/(?P<name>[^/]{1,256})/urls", "assets/churn/urls", None),
        ("POST", "assets/(?P<name>[^/]{1,256})/filters", "assets/churn/filters",
         {"name": "dave-f", "columns": ["plan"]}),
        ("DELETE", "assets/(?P<name>[^/]{1,256})/filters/(?P<filter>[^/]{1,256})",
         "assets/churn/filters/spare-f", None),
        ("POST", "assets/(?P<name>[^/]{1,256})/deprecation", "assets/churn2/deprecation", {"reason": "matrix"}),
        ("DELETE", "assets/(?P<name>[^/]{1,256})/deprecation", "assets/churn2/deprecation", None),
        ("GET", "requests", "requests", None),
        ("POST", "requests", "requests", {"asset": "churn", "reason": "dave's analysis"}),
        ("POST", "requests/(?P<id>[0-9]{1,18})/approve", f"requests/{ids['req']}/approve", {}),
        ("POST", "requests/(?P<id>[0-9]{1,18})/reject", f"requests/{ids['req2']}/reject", {}),
        ("GET", "subscriptions", "subscriptions", None),
        ("POST", "subscriptions/(?P<id>[0-9]{1,18})/cancel", f"subscriptions/{ids['sub']}/cancel", {}),
        ("POST", "subscriptions/(?P<id>[0-9]{1,18})/revoke", f"subscriptions/{ids['sub']}/revoke", {}),
        ("GET", "cards", "cards", None),
        ("POST", "cards", "cards", {"name": "dave-card", "model": "scorer2", "content": {}}),
        ("GET", "cards/(?P<name>[^/]{1,256})", "cards/scorer-card", None),
        ("POST", "cards/(?P<name>[^/]{1,256})/transition", "cards/scorer-card/transition",
         {"action": "approve", "comment": "matrix"}),
        ("PUT", "cards/(?P<name>[^/]{1,256})", "cards/scorer-card",
         {"content": {"intended_uses": {"risk_rating": "Low"}}}),
        ("GET", "cards/(?P<name>[^/]{1,256})/diff", "cards/scorer-card/diff", {"a": "1", "b": "1"}),
        ("GET", "cards/(?P<name>[^/]{1,256})/export", "cards/scorer-card/export", {"format": "json"}),
        ("GET", "models/(?P<name>[^/]{1,256})/executions", "models/scorer/executions", None),
        ("POST", "models/(?P<name>[^/]{1,256})/executions", "models/scorer/executions", {"report": {}}),
        ("GET", "models/(?P<name>[^/]{1,256})/executions/(?P<id>[0-9]{1,18})",
         "models/scorer/executions/1", None),
        ("POST", "models/(?P<name>[^/]{1,256})/alerts/ack", "models/scorer/alerts/ack", {"comment": "seen"}),
        ("DELETE", "models/(?P<name>[^/]{1,256})/executions/(?P<id>[0-9]{1,18})",
         "models/scorer/executions/1", None),
        ("GET", "models/(?P<name>[^/]{1,256})/versions", "models/scorer/versions", None),
        ("POST", "models/(?P<name>[^/]{1,256})/versions/(?P<revision>[0-9]{1,9})/approve",
         "models/scorer/versions/1/approve", {"comment": "matrix"}),
        ("POST", "models/(?P<name>[^/]{1,256})/versions/(?P<revision>[0-9]{1,9})/reject",
         "models/scorer2/versions/1/reject", {"comment": "matrix"}),
        ("PUT", "models/(?P<name>[^/]{1,256})/aliases/(?P<alias>[^/]{1,256})", "models/scorer/aliases/champion",
         {"revision": 1}),
        ("GET", "projects/(?P<name>[^/]{1,256})/settings", "projects/risk/settings", None),
        ("PUT", "projects/(?P<name>[^/]{1,256})/settings", "projects/risk/settings", {"model_approval": "warn"}),
        ("GET", "dashboard", "dashboard", None),
        ("GET", "roles/catalog", "roles/catalog", None),
        ("POST", "roles/preview", "roles/preview", {"role": role}),
        ("GET", "roles", "roles", None),
        ("GET", "roles/(?P<name>[^/]{1,256})", "roles/spare", None),
        ("POST", "roles", "roles", {"role": role}),
        ("PUT", "roles/(?P<name>[^/]{1,256})", "roles/spare", _role("spare")),
        ("GET", "assignments", "assignments", None),
        ("POST", "assignments", "assignments", {"role": "spare", "user": "frank"}),
        ("DELETE", "assignments/(?P<id>[0-9]{1,18})", f"assignments/{spare}", None),
        ("DELETE", "roles/(?P<name>[^/]{1,256})", "roles/spare2", None),
        ("POST", "projects/from-profile", "projects/from-profile", {"name": "dave-lab", "profile": "sandbox"}),
        ("GET", "audit", "audit", None),
        ("GET", "audit/export", "audit/export", None),
        ("GET", "audit/verify", "audit/verify", None),
        ("GET", "audit/checkpoints", "audit/checkpoints", None),
        ("POST", "audit/checkpoints", "audit/checkpoints", {}),
        ("GET", "audit/public-key", "audit/public-key", None),
        ("GET", "deployments", "deployments", None),
        ("POST", "deployments", "deployments", {"name": "dave-dep", "model": "scorer2"}),
        ("GET", "deployments/(?P<name>[^/]{1,256})", "deployments/scorer-prod", None),
        ("PATCH", "deployments/(?P<name>[^/]{1,256})", "deployments/scorer-prod2", {"status": "OutOfService"}),
        ("POST", "deployments/(?P<name>[^/]{1,256})/capture", "deployments/scorer-prod/capture", _capture()),
        ("POST", "deployments/(?P<name>[^/]{1,256})/ground-truth", "deployments/scorer-prod/ground-truth",
         _capture(label=True)),
        ("GET", "monitors", "monitors", None),
        ("POST", "monitors", "monitors", _monitor("dave-mon")),
        ("GET", "monitors/(?P<name>[^/]{1,256})", "monitors/scorer-dq", None),
        ("POST", "monitors/(?P<name>[^/]{1,256})/run", "monitors/scorer-dq/run", {}),
        ("POST", "monitors/(?P<name>[^/]{1,256})/stop", "monitors/scorer-dq/stop", {}),
        ("POST", "monitors/(?P<name>[^/]{1,256})/start", "monitors/scorer-dq/start", {}),
        ("DELETE", "monitors/(?P<name>[^/]{1,256})", "monitors/scorer-dq2", None),
        ("GET", "alerts", "alerts", None),
        ("POST", "alerts/(?P<id>[0-9]{1,18})/ack", "alerts/1/ack", {"comment": "seen"}),
        # each person's own: open to every signed-in user, the service keeps them apart
        ("GET", "notifications", "notifications", None),
        ("POST", "notifications/read", "notifications/read", {"all": True}),
        ("GET", "channels", "channels", None),
        ("POST", "channels", "channels", {"kind": "email", "target": "dave@example.org"}),
        ("GET", "channels/(?P<id>[0-9]{1,18})/deliveries", "channels/1/deliveries", None),
        ("DELETE", "channels/(?P<id>[0-9]{1,18})", "channels/1", None),
        ("POST", "assets/(?P<name>[^/]{1,256})/unpublish", "assets/churn4/unpublish", {"reason": "matrix"}),
    ]


def _expected(persona, designation, route) -> bool:
    if (route.method, route.path) in SELF_ONLY:
        return False
    if route.action is None:
        return True
    allowed = role_allows(persona, route.action, designation if route.scoped else None)
    if route.resource == "execution" and route.method == "DELETE":  # owners and stewards only
        allowed = allowed and designation in ("owner", "steward")
    if route.resource == "unpublish":  # owners only, not stewards
        allowed = allowed and designation == "owner"
    if route.resource == "profiles":  # a profile also creates the project
        allowed = allowed and role_allows(persona, "project:create", None)
    return allowed


def test_every_route_is_in_the_matrix():
    covered = {(m, p) for m, p, _c, _b in _calls({"req": 1, "req2": 2, "sub": 3}, 4)}
    assert covered == {(r.method, r.path) for r in routes.ROUTES}


@pytest.mark.parametrize("designation", DESIGNATIONS, ids=lambda d: d or "non-member")
@pytest.mark.parametrize("persona", PERSONAS)
async def test_persona_matrix(api, persona, designation):
    ids, spare = await _seed(api, persona, designation)
    by_key = {(r.method, r.path): r for r in routes.ROUTES}
    unexpected_allows, unexpected_denials = [], []
    for method, template, path, payload in _calls(ids, spare):
        route = by_key[(method, template)]
        if method in ("GET", "DELETE"):
            code, body, _ = await api("dave", method, path, **(payload or {}))
        elif isinstance(payload, bytes):
            code, body, _ = await api("dave", method, path, raw=payload, offset="0")
        else:
            code, body, _ = await api("dave", method, path, payload)
        assert code != 500 and code != 400, (method, path, body)
        expected = _expected(persona, designation, route)
        if code == 403 and expected:
            unexpected_denials.append((method, path, body["message"]))
        if code != 403 and not expected:
            unexpected_allows.append((method, path, code))
    assert unexpected_allows == []
    assert unexpected_denials == []
