"""Roles, guardrails, AWS settings, assignments: validation (one-line Invalid) and round trips."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.core.roles import Assignment, AwsSettings, CeilingException, Guardrails, Role, persona

KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def full_role() -> Role:
    return Role.from_persona(
        "ds-no-pii", "data-scientist", add=["acknowledge-alerts"], remove=["publish"], description="no PII",
        guardrails=Guardrails(classification_ceiling="internal", max_grant_days=30, projects=("risk", "fraud"),
                              ceiling_exceptions=(CeilingException("pii", projects=("fraud",),
                                                                   expires="2027-01-31T00:00:00Z", reason="study"),)),
        aws=AwsSettings(vpc_subnets=["subnet-0123456789abcdef0"], vpc_security_groups=["sg-0123456789abcdef0"],
                        volume_kms_keys=[KEY], output_kms_keys=[KEY], s3_buckets=["ml-data"],
                        managed_policy_arns=["arn:aws:iam::aws:policy/AmazonSageMakerReadOnly"],
                        tags={"team": "risk"}, region="eu-west-1", account_id="123456789012"))


def test_round_trip_through_json():
    role = full_role()
    again = Role.from_dict(json.loads(json.dumps(role.to_dict())))
    assert again == role and hash(again) == hash(role) and len({role, again}) == 1
    assert again.guardrails.ceiling_exceptions[0].expires == datetime(2027, 1, 31, tzinfo=timezone.utc)
    assert "publish" not in role.activities and "acknowledge-alerts" in role.activities
    a = Assignment("ds-no-pii", group="risk-team", projects=["risk"])
    assert Assignment.from_dict(json.loads(json.dumps(a.to_dict()))) == a


def test_activities_are_normalised_to_catalog_order():
    a = Role("r", "custom", ["subscribe", "search-catalog", "subscribe"])
    b = Role("r", "custom", ("search-catalog", "subscribe"))
    assert a == b and a.activities == ("search-catalog", "subscribe")
    assert a.actions() == {"catalog:search", "catalog:read", "project:read", "catalog:subscribe"}
    assert Role.from_persona("x", "data-scientist").activities == tuple(
        x for x in persona("admin").activities if x in persona("data-scientist").activities)


BAD = [
    (lambda: Role("", "custom", ["subscribe"]), "invalid role name ''"),
    (lambda: Role("a b", "custom", ["subscribe"]), "invalid role name 'a b'"),
    (lambda: Role("r", "jester", ["subscribe"]), "unknown persona 'jester'"),
    (lambda: Role("r", "custom", ["juggle"]), "unknown activity 'juggle'"),
    (lambda: Role("r", "custom", []), "role r has no activities"),
    (lambda: Role("r", "custom", "subscribe"), "activities must be a list, not a string"),
    (lambda: Role("r", "auditor", ["view-audit", "publish"]), "persona auditor is read-only and may not have activity publish"),
    (lambda: Role("r", "custom", ["subscribe"], description="x" * 1001), "description"),
    (lambda: Guardrails(classification_ceiling="secret"), "unknown classification 'secret'"),
    (lambda: Guardrails(ceiling_exceptions=[{"classification": "pii"}]), "needs a classification ceiling"),
    (lambda: Guardrails(classification_ceiling="pii", ceiling_exceptions=[{"classification": "internal"}]),
     "does not raise the ceiling"),
    (lambda: Guardrails(classification_ceiling="internal", ceiling_exceptions=[{"classification": "pii", "when": 1}]),
     "unknown field(s) when"),
    (lambda: Guardrails(classification_ceiling="internal",
                        ceiling_exceptions=[{"classification": "pii", "expires": "soon"}]), "ISO 8601"),
    (lambda: Guardrails(max_grant_days=0), "max_grant_days must be an integer from 1 to 3650"),
    (lambda: Guardrails(max_grant_days=True), "max_grant_days"),
    (lambda: Guardrails(separation_of_duties="yes"), "separation_of_duties must be true or false"),
    (lambda: Guardrails(projects=[""]), "invalid project name"),
    (lambda: Guardrails.from_dict({"ceiling": "pii"}), "unknown field(s) ceiling"),
    (lambda: AwsSettings(vpc_subnets=["subnet-0123456789abcdef0"]), "must be given together"),
    (lambda: AwsSettings(vpc_subnets=["vpc-1"], vpc_security_groups=["sg-0123456789abcdef0"]), "not a valid subnet id"),
    (lambda: AwsSettings(volume_kms_keys=["alias/foo"]), "not a valid KMS key ARN"),
    (lambda: AwsSettings(managed_policy_arns=[f"arn:aws:iam::123456789012:policy/p{i}" for i in range(21)]),
     "at most 20 managed policies per role, got 21"),
    (lambda: AwsSettings(managed_policy_arns=["AmazonSageMakerFullAccess"]), "not a valid managed policy ARN"),
    (lambda: AwsSettings(tags={"aws:owner": "x"}), "invalid tag key"),
    (lambda: AwsSettings(tags={f"k{i}": "v" for i in range(51)}), "at most 50 tags"),
    (lambda: AwsSettings(tags=["team=risk"]), "tags must be an object"),
    (lambda: AwsSettings(region="mars-1"), "not an AWS region"),
    (lambda: AwsSettings(account_id="12345"), "not a 12-digit AWS account id"),
    (lambda: AwsSettings(trusted_services=[]), "at least one AWS service"),
    (lambda: AwsSettings(s3_buckets="bucket"), "must be a list, not a string"),
    (lambda: Assignment("r"), "exactly one of user or group"),
    (lambda: Assignment("r", user="a", group="b"), "exactly one of user or group"),
    (lambda: Assignment("r", user=" "), "invalid user name"),
    (lambda: Role.from_dict({"name": "r", "persona": "custom"}), "activities is required"),
    (lambda: Role.from_dict({"name": "r", "persona": "custom", "activities": ["subscribe"], "x": 1}),
     "unknown field(s) x"),
]


@pytest.mark.parametrize("make,message", BAD, ids=[m for _, m in BAD])
def test_bad_input_is_one_line_invalid(make, message):
    with pytest.raises(Invalid) as e:
        make()
    assert message in str(e.value)
    assert "\n" not in str(e.value)
