"""The ipywidgets wizard builds the same Role as the Python API, previews it, and saves it."""

from __future__ import annotations

import json

import pytest

from mlgov_jupyter.core.authz import Principal, Resource
from mlgov_jupyter.core.errors import Conflict
from mlgov_jupyter.core.roles import (
    Assignment,
    AwsSettings,
    CeilingException,
    Guardrails,
    PolicyAuthorizer,
    Role,
    iam_export,
    persona,
    personas,
    role_policies,
)
from mlgov_jupyter.kernel.widgets.role_wizard import RoleWizard

KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_defaults_follow_the_persona():
    wz = RoleWizard()
    for p in personas():
        wz.persona.value = p.id
        ticked = tuple(a for a, box in wz.activity_boxes.items() if box.value)
        assert set(ticked) == set(p.activities)
        if p.read_only:
            assert wz.activity_boxes["publish"].disabled
    wz.persona.value = "data-scientist"
    assert not wz.activity_boxes["publish"].disabled


def test_wizard_builds_the_same_role_as_the_api_and_saves_it():
    saved = []
    wz = RoleWizard(on_save=saved.append)
    assert wz.save_button.disabled and "invalid role name" in wz.status.value  # no name yet
    wz.name.value = "ds-no-pii"
    wz.persona.value = "data-scientist"
    wz.activity_boxes["publish"].value = False
    wz.activity_boxes["acknowledge-alerts"].value = True
    wz.ceiling.value = "internal"
    wz.exception_level.value = "pii"
    wz.exception_projects.value = "fraud"
    wz.exception_expires.value = "2027-01-31T00:00:00Z"
    wz.max_grant_days.value = 30
    wz.projects.value = "risk, fraud"
    wz.subnets.value = "subnet-0123456789abcdef0"
    assert wz.save_button.disabled and "must be given together" in wz.status.value
    wz.security_groups.value = "sg-0123456789abcdef0"
    wz.volume_kms.value = KEY
    wz.buckets.value = "ml-data"
    wz.managed.value = "arn:aws:iam::aws:policy/AmazonSageMakerReadOnly\n"
    wz.tags.value = "team=risk\ncost-center = 42\n"
    wz.region.value = "eu-west-1"
    api = Role.from_persona(
        "ds-no-pii", "data-scientist", add=["acknowledge-alerts"], remove=["publish"],
        guardrails=Guardrails(classification_ceiling="internal", max_grant_days=30, projects=("risk", "fraud"),
                              ceiling_exceptions=(CeilingException("pii", projects=("fraud",),
                                                                   expires="2027-01-31T00:00:00Z"),)),
        aws=AwsSettings(vpc_subnets=["subnet-0123456789abcdef0"], vpc_security_groups=["sg-0123456789abcdef0"],
                        volume_kms_keys=[KEY], s3_buckets=["ml-data"],
                        managed_policy_arns=["arn:aws:iam::aws:policy/AmazonSageMakerReadOnly"],
                        tags={"team": "risk", "cost-center": "42"}, region="eu-west-1"))
    assert wz.role() == api
    assert not wz.save_button.disabled
    # the live preview shows what the API produces
    assert "ceiling:ds-no-pii" in wz.preview_policy.value
    assert wz.preview_policy.value == "<pre>" + __import__("html").escape(role_policies(api)) + "</pre>"
    assert "sagemaker:VpcSubnets" in wz.preview_iam.value
    assert json.dumps(iam_export(api), indent=2).replace('"', "&quot;")[:200] in wz.preview_iam.value
    wz.save_button.click()
    assert saved == [api] and wz.saved == api and "saved role ds-no-pii" in wz.status.value


def test_assign_step():
    got = []
    wz = RoleWizard(on_save=got.append, on_assign=got.append)
    wz.name.value = "ds"
    wz.assign_users.value = "bob, carol"
    wz.assign_groups.value = "hub-ds"
    wz.assign_projects.value = "risk"
    assert "3 assignments" in wz.status.value
    wz.save_button.click()
    role = Role.from_persona("ds", "data-scientist")
    assert got == [role, [Assignment("ds", user="bob", projects=("risk",)),
                          Assignment("ds", user="carol", projects=("risk",)),
                          Assignment("ds", group="hub-ds", projects=("risk",))]]
    # the result plugs into the authorizer as is
    az = PolicyAuthorizer([got[0]], got[1])
    assert az.decide(Principal("dora", groups=("hub-ds",), designations={"risk": "consumer"}),
                     "catalog:consume", Resource("asset", "a", "risk", "public")).allowed


def test_load_round_trip_and_save_errors():
    role = Role.from_persona("aud", "auditor", aws=AwsSettings(tags={"a": "b"}, output_kms_keys=[KEY]),
                             guardrails=Guardrails(classification_ceiling="confidential", separation_of_duties=False))
    assert RoleWizard(role=role).role() == role

    def refuse(_role):
        raise Conflict("role aud already exists")

    wz = RoleWizard(on_save=refuse, role=role)
    assert wz.save() is None and "role aud already exists" in wz.status.value and wz.saved is None
    wz.tags.value = "no-equals-sign"
    assert wz.save() is None and "use key=value" in wz.status.value


@pytest.mark.parametrize("pid", [p.id for p in personas() if p.activities])
def test_every_persona_through_the_wizard(pid):
    wz = RoleWizard()
    wz.name.value = f"r-{pid}"
    wz.persona.value = pid
    assert wz.role() == Role.from_persona(f"r-{pid}", pid)
    assert set(wz.role().activities) == set(persona(pid).activities)
