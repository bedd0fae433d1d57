"""The activity/persona catalog (package data) is consistent with the service's actions and with
AWS's own definitions of IAM actions and resources (as packaged by parliament)."""

from __future__ import annotations

import json
import re
from importlib import resources

import parliament
import pytest

from mlgov_jupyter.core import authz
from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.core.roles import ALL_ACTIONS, activities, activity, catalog, persona, personas


def aws_definition():
    path = resources.files("parliament").joinpath("iam_definition.json")
    return {s["prefix"]: s for s in json.loads(path.read_text())}


def test_every_service_action_is_known_phrased_and_granted_by_some_activity():
    declared = {v for k, v in vars(authz).items() if k.isupper() and isinstance(v, str) and ":" in v}
    assert declared == set(ALL_ACTIONS)
    for action in ALL_ACTIONS:
        assert catalog.activities_for(action), action
        assert action in catalog.ACTION_PHRASES
    for a in activities():
        assert set(a.actions) <= set(ALL_ACTIONS), a.id
        assert a.aws_only == (not a.actions), a.id


def test_personas():
    ids = [p.id for p in personas()]
    assert {"data-scientist", "ml-engineer", "mlops", "data-steward", "auditor", "admin", "custom"} <= set(ids)
    assert persona("admin").activities == tuple(a.id for a in activities())
    assert persona("custom").activities == ()
    for p in personas():
        for a in p.activities:
            activity(a)
    auditor = persona("auditor")
    assert auditor.read_only and not any(activity(a).writes for a in auditor.activities)
    assert "audit-all-projects" in auditor.activities
    with pytest.raises(Invalid, match="unknown persona 'wizard'"):
        persona("wizard")
    with pytest.raises(Invalid, match="unknown activity 'fly'"):
        activity("fly")


def test_iam_sids_are_unique_and_alphanumeric():
    sids = [s.sid for a in activities() for s in a.iam]
    sids += [catalog.shared_statement(k).sid for k in ("pass-role", "ecr-pull", "ecr-token", "logs",
                                                         "kms-use", "kms-grant", "s3-list")]
    assert len(sids) == len(set(sids))
    for sid in sids:
        assert re.fullmatch(r"[A-Za-z0-9]+", sid) and not sid.endswith("Any")


def test_iam_actions_and_resources_match_aws_definitions():
    defs = aws_definition()
    used = {x for a in activities() for s in a.iam for x in s.actions}
    for a in activities():
        used |= {x for k in a.uses for x in catalog.shared_statement(k).actions}
    for action in sorted(used):
        prefix, name = action.split(":")
        privs = {p["privilege"]: p for p in defs[prefix]["privileges"]}
        assert name in privs, action
        required = [r["resource_type"] for r in privs[name]["resource_types"] if r["resource_type"].endswith("*")]
        assert len(catalog.iam_resources(action)) == len(required), action


def test_vpc_and_kms_flags_match_condition_keys():
    """A statement flagged vpc/kms may only hold actions that have those condition keys: the
    reference's exceptions (CreateTransformJob: no VPC keys; CreateModel: no KMS keys) hold."""
    defs = aws_definition()

    def keys(action):
        prefix, name = action.split(":")
        p = next(p for p in defs[prefix]["privileges"] if p["privilege"] == name)
        return {k for r in p["resource_types"] for k in r["condition_keys"]}

    flagged = [s for a in activities() for s in a.iam if s.vpc or s.kms]
    assert flagged
    for s in flagged:
        for action in s.actions:
            k = keys(action)
            if s.vpc:
                assert {"sagemaker:VpcSubnets", "sagemaker:VpcSecurityGroupIds"} <= k, action
            for kind in s.kms:
                assert f"sagemaker:{kind.capitalize()}KmsKey" in k, action
            # and nothing that supports a key is left without it
            assert s.vpc == ("sagemaker:VpcSubnets" in k), action
            assert set(s.kms) == {x for x in ("volume", "output") if f"sagemaker:{x.capitalize()}KmsKey" in k}, action
    by_action = {x: s for s in flagged for x in s.actions}
    assert not by_action["sagemaker:CreateTransformJob"].vpc
    assert by_action["sagemaker:CreateModel"].vpc and not by_action["sagemaker:CreateModel"].kms
    assert parliament  # the definitions come from the linter the export is checked with


def test_core_roles_is_pure():
    import ast
    from pathlib import Path

    import mlgov_jupyter.core.roles as pkg

    banned = {"tornado", "IPython", "ipywidgets", "jupyter_server", "sqlalchemy"}
    files = list(Path(pkg.__file__).parent.glob("*.py"))
    assert len(files) >= 6
    for f in files:
        for node in ast.walk(ast.parse(f.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for n in names:
                assert n.split(".")[0] not in banned, (f.name, n)


def test_data_files_ship_in_the_package():
    from importlib import resources as r
    data = r.files("mlgov_jupyter.core.roles").joinpath("data")
    assert {p.name for p in data.iterdir()} >= {"activities.json", "personas.json", "profiles.json",
                                                 "iam_resources.json"}
