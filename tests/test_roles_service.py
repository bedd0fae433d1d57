"""The role manager through the REST API of the real server: stored roles decide every call."""

from mlgov_jupyter.core.roles import Guardrails, Role

from helpers import publish_body


def ds_no_pii() -> dict:
    return Role.from_persona("ds-no-pii", "data-scientist",
                             guardrails=Guardrails(classification_ceiling="confidential",
                                                   max_grant_days=30),
                             aws={"vpc_subnets": ["subnet-0abc1234"], "vpc_security_groups": ["sg-0abc1234"],
                                  "volume_kms_keys": ["arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"]}
                             ).to_dict()


async def test_admin_defines_a_role_and_it_is_enforced(api):
    code, body, _ = await api("alice", "POST", "roles", {"role": ds_no_pii()})
    assert code == 403  # only admins manage roles
    code, role, _ = await api("root", "POST", "roles", {"role": ds_no_pii()})
    assert code == 201 and "permit" in role["mlgov_policy"]
    statements = [st for p in role["iam"]["ManagedPolicies"] for st in p["PolicyDocument"]["Statement"]]
    conds = [st.get("Condition", {}) for st in statements]
    assert any("sagemaker:VpcSubnets" in c.get("ForAllValues:StringEquals", {}) for c in conds)
    code, _, _ = await api("root", "POST", "assignments", {"role": "ds-no-pii", "user": "bob"})
    assert code == 201

    await api("alice", "POST", "projects", {"name": "risk"})
    await api("alice", "POST", "assets", publish_body("customers", project="risk", classification="pii"))
    await api("alice", "POST", "assets", publish_body("churn", project="risk", classification="confidential"))
    code, page, _ = await api("bob", "GET", "assets", q="churn")
    assert code == 200 and page["total"] == 2
    for name in ("customers", "churn"):
        code, req, _ = await api("bob", "POST", "requests", {"asset": name, "reason": "churn model"})
        assert code == 201
        code, decided, _ = await api("alice", "POST", f"requests/{req['id']}/approve", {"comment": "ok"})
        assert code == 200
    code, _, _ = await api("bob", "GET", "assets/churn/data")
    assert code == 200
    code, err, _ = await api("bob", "GET", "assets/customers/data")
    assert code == 403 and "classification ceiling of confidential and the asset is pii" in err["message"]
    code, subs, _ = await api("bob", "GET", "subscriptions")
    assert all(s["grant_expires_at"] for s in subs["subscriptions"])  # time-boxed by the role
    code, err, _ = await api("bob", "POST", "projects", {"name": "bobs"})
    assert code == 403 and "ds-no-pii lacks activity" in err["message"]

    code, listed, _ = await api("carol", "GET", "roles")
    assert listed["roles"][0]["assigned_to"][0]["user"] == "bob"
    code, audit, _ = await api("root", "GET", "audit", limit=200)
    assert {"role.create", "role.assign"} <= {e["action"] for e in audit["events"]}

    code, err, _ = await api("root", "DELETE", "roles/ds-no-pii")
    assert code == 409  # still assigned
    assignment = listed["roles"][0]["assigned_to"][0]["id"]
    code, _, _ = await api("root", "DELETE", f"assignments/{assignment}")
    code, _, _ = await api("bob", "GET", "assets/customers/data")
    assert code == 200  # back to designations + his grant


async def test_bad_roles_are_400(api):
    for bad in ({"name": "x"}, {"name": "ok", "persona": "wizard"}, "nope",
                {**ds_no_pii(), "guardrails": {"classification_ceiling": "secret"}}):
        code, body, _ = await api("root", "POST", "roles", {"role": bad})
        assert code == 400 and "\n" not in body["message"], (bad, body)
    code, body, _ = await api("root", "POST", "assignments", {"role": "ghost", "user": "bob"})
    assert code == 404
    code, body, _ = await api("root", "POST", "assignments", {"role": "ghost"})
    assert code == 400


async def test_project_from_profile(api):
    code, out, _ = await api("root", "POST", "projects/from-profile",
                             {"name": "clinic", "profile": "regulated-pii"})
    assert code == 201 and "clinic-data-scientist" in out["roles"]
    code, out, _ = await api("root", "POST", "projects/from-profile", {"name": "x", "profile": "nope"})
    assert code == 400


async def test_preview_and_catalog(api):
    code, cat, _ = await api("bob", "GET", "roles/catalog")
    assert code == 200 and {p["id"] for p in cat["personas"]} >= {"data-scientist", "auditor"}
    code, prev, _ = await api("bob", "POST", "roles/preview", {"role": ds_no_pii()})
    assert code == 200 and prev["iam"]["ManagedPolicies"]


async def test_group_assignment_applies_to_group_members(api):
    """carol is in group `auditors` (as a JupyterHub group would say): the auditor role assigned to
    the group lets her read every project's audit log, which bob (not in the group) may not."""
    role = Role.from_persona("auditor-all", "auditor").to_dict()
    assert (await api("root", "POST", "roles", {"role": role}))[0] == 201
    assert (await api("root", "POST", "assignments", {"role": "auditor-all", "group": "auditors"}))[0] == 201
    code, _, _ = await api("carol", "GET", "audit")
    assert code == 200
    code, err, _ = await api("bob", "GET", "audit")
    assert code == 403
    code, me, _ = await api("carol", "GET", "whoami")
    assert me["groups"] == ["auditors"]


async def test_expired_grants_refuse_data(api, db_file):
    import sqlite3

    await api("alice", "POST", "projects", {"name": "risk"})
    await api("alice", "POST", "assets", publish_body("churn", project="risk"))
    code, req, _ = await api("bob", "POST", "requests", {"asset": "churn", "reason": "model"})
    await api("alice", "POST", f"requests/{req['id']}/approve", {})
    assert (await api("bob", "GET", "assets/churn/data"))[0] == 200
    with sqlite3.connect(db_file) as db:  # the grant's time box has passed
        db.execute("UPDATE grants SET expires_at = '2020-01-01 00:00:00.000000'")
    code, err, _ = await api("bob", "GET", "assets/churn/data")
    assert code == 403 and "subscribe churn" in err["message"]
    code, page, _ = await api("bob", "GET", "assets", q="churn")
    assert page["items"][0]["access"] == "none"
    code, subs, _ = await api("bob", "GET", "subscriptions")
    assert subs["subscriptions"][0]["grant_status"] == "expired"


async def test_role_text_never_breaks_the_policy(api):
    """Red team R15 F8: a role named "x\\n" (Python's ``$`` matches before a final newline) was
    saved and its name broke out of a Cedar comment; a project or asset named with a non-ASCII
    letter was written as JSON's ``\\u00e9``, which Cedar refuses. Either way every call of
    everyone failed until the store was edited by hand."""
    code, body, _ = await api("root", "POST", "roles", {"role": {**ds_no_pii(), "name": "evil\n"}})
    assert code == 400 and "invalid role name" in body["message"], body
    guardrails = {"projects": ["café"], "classification_ceiling": "internal",
                  "ceiling_exceptions": [{"classification": "pii", "assets": ["données", "a\x01\"\\b"]}]}
    role = {"name": "intl", "persona": "data-scientist", "activities": ["search-catalog", "subscribe"],
            "guardrails": guardrails}
    code, saved, _ = await api("root", "POST", "roles", {"role": role})
    assert code == 201 and 'context.project' in saved["mlgov_policy"] and "café" in saved["mlgov_policy"], saved
    assert (await api("root", "POST", "assignments", {"role": "intl", "user": "bob"}))[0] == 201
    for user in ("alice", "bob", "root"):
        code, page, _ = await api(user, "GET", "projects")
        assert code == 200, (user, page)


async def test_a_stored_assignment_of_no_role_does_not_stop_the_service(api, db_file):
    """What the store holds but no role change could now make (written by an older version or by
    hand, as R15 F1's race left it): the service decides without it, and it can be removed."""
    import sqlite3

    assert (await api("root", "POST", "roles", {"role": ds_no_pii()}))[0] == 201
    with sqlite3.connect(db_file) as db:
        db.execute("INSERT INTO role_assignments (role, user, projects, created_by, created_at) "
                   "VALUES ('ghost', 'bob', '[]', 'root', '2026-01-01 00:00:00.000000')")
        db.execute("UPDATE policy_state SET version = version + 1")
    for user in ("alice", "bob"):
        assert (await api(user, "GET", "projects"))[0] == 200
    code, listed, _ = await api("root", "GET", "assignments")
    (ghost,) = [a for a in listed["assignments"] if a["role"] == "ghost"]
    assert (await api("root", "DELETE", f"assignments/{ghost['id']}"))[0] == 200
    assert (await api("root", "POST", "assignments", {"role": "ds-no-pii", "user": "bob"}))[0] == 201
