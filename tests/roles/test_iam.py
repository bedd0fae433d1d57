"""AWS IAM export: parliament lints every generated policy; grammar, Sids, sizes, conditions."""

from __future__ import annotations

import json
import re

import parliament
import pytest

from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.core.roles import (
    AwsSettings,
    Guardrails,
    Role,
    activities,
    iam_export,
    iam_policies,
    iam_statements,
    personas,
    profiles,
    trust_policy,
)
from mlgov_jupyter.core.roles.iam import MAX_POLICY_CHARS, compact

SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
SGS = ["sg-0123456789abcdef0"]
VOLUME = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OUTPUT = "arn:aws:kms:eu-west-1:123456789012:key/9999abcd-12ab-34cd-56ef-1234567890ab"
FULL = AwsSettings(vpc_subnets=SUBNETS, vpc_security_groups=SGS, volume_kms_keys=[VOLUME], output_kms_keys=[OUTPUT],
                   s3_buckets=["ml-data", "ml-models"], tags={"team": "risk"}, region="eu-west-1",
                   account_id="123456789012")
SETTINGS = {"none": AwsSettings(), "vpc-kms": FULL,
            "kms-only": AwsSettings(volume_kms_keys=[VOLUME], pass_role_arns=["arn:aws:iam::123456789012:role/exec"])}
# Findings of parliament's *community* auditors that are inherent to an activity, not mistakes:
# ML jobs must pull images (ECR token), pass their execution role and create KMS grants; a
# compute role manages its network interfaces; role managers manage roles.
INHERENT = {"CREDENTIALS_EXPOSURE": {"ecr:getauthorizationtoken"},
            "PERMISSIONS_MANAGEMENT_ACTIONS": {
                "iam:passrole", "kms:creategrant", "ec2:createnetworkinterfacepermission",
                "ec2:deletenetworkinterfacepermission", "iam:attachrolepolicy", "iam:createrole",
                "iam:deleterolepolicy", "iam:detachrolepolicy", "iam:putrolepolicy"}}


def all_roles():
    for key, aws in SETTINGS.items():
        for p in personas():
            if p.activities:
                yield f"{p.id}/{key}", Role.from_persona(f"r-{p.id}", p.id, aws=aws)
        for prof in profiles():
            for r in prof.apply("risk", "alice", aws=aws).roles:
                yield f"{r.name}/{key}", r


ROLES = dict(all_roles())


def check_grammar(doc: dict, sids: set) -> None:
    assert set(doc) == {"Version", "Statement"} and doc["Version"] == "2012-10-17"
    assert isinstance(doc["Statement"], list) and doc["Statement"]
    for s in doc["Statement"]:
        assert set(s) <= {"Sid", "Effect", "Action", "Resource", "Condition"}
        assert re.fullmatch(r"[A-Za-z0-9]+", s["Sid"]) and s["Sid"] not in sids
        sids.add(s["Sid"])
        assert s["Effect"] == "Allow"
        assert s["Action"] and all(re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", a) for a in s["Action"])
        res = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        assert res and all(r == "*" or r.startswith("arn:aws:") for r in res)
        for op, keys in s.get("Condition", {}).items():
            assert isinstance(keys, dict) and keys
            if op.startswith("ForAllValues:"):  # absent keys would pass ForAllValues: pair with Null
                for k in keys:
                    assert s["Condition"]["Null"][k] == "false"
    assert len(compact(doc)) <= MAX_POLICY_CHARS


@pytest.mark.parametrize("name", sorted(ROLES))
def test_parliament_lints_every_policy(name):
    role = ROLES[name]
    docs = iam_policies(role)
    sids: set = set()
    for doc in docs:
        check_grammar(doc, sids)
        text = json.dumps(doc, indent=2)
        assert parliament.analyze_policy_string(text).findings == []
        for f in parliament.analyze_policy_string(text, include_community_auditors=True).findings:
            assert f.issue in INHERENT and set(f.location["actions"]) <= INHERENT[f.issue], (f.issue, f.location)
    assert [s for d in docs for s in d["Statement"]] == iam_statements(role)  # splitting loses nothing


def test_parliament_would_catch_mistakes():
    bad = {"Version": "2012-10-17", "Statement": [
        {"Sid": "A", "Effect": "Allow", "Action": ["sagemaker:CreateTransformJob"], "Resource": "*",
         "Condition": {"ForAllValues:StringEquals": {"sagemaker:VpcSubnets": SUBNETS}}},
        {"Sid": "B", "Effect": "Allow", "Action": ["sagemaker:CreateModel"], "Resource": "*",
         "Condition": {"StringEquals": {"sagemaker:VolumeKmsKey": [VOLUME]}}}]}
    issues = {f.issue for f in parliament.analyze_policy_string(json.dumps(bad)).findings}
    assert "UNKNOWN_CONDITION_FOR_ACTION" in issues


def statements_with(role, action):
    return [s for d in iam_policies(role) for s in d["Statement"] if action in s["Action"]]


def test_vpc_and_kms_conditions():
    role = Role.from_persona("ml", "ml-engineer", aws=FULL)
    (train,) = statements_with(role, "sagemaker:CreateTrainingJob")
    assert train["Condition"] == {
        "ForAllValues:StringEquals": {"sagemaker:VpcSubnets": SUBNETS, "sagemaker:VpcSecurityGroupIds": SGS},
        "Null": {"sagemaker:VpcSubnets": "false", "sagemaker:VpcSecurityGroupIds": "false"},
        "ArnEquals": {"sagemaker:VolumeKmsKey": [VOLUME], "sagemaker:OutputKmsKey": [OUTPUT]}}
    assert "arn:aws:sagemaker:eu-west-1:123456789012:training-job/*" in train["Resource"]
    (transform,) = statements_with(role, "sagemaker:CreateTransformJob")
    assert set(transform["Condition"]) == {"ArnEquals"}  # no VPC keys
    (model,) = statements_with(role, "sagemaker:CreateModel")
    assert set(model["Condition"]) == {"ForAllValues:StringEquals", "Null"}  # no KMS keys
    (endpoint_config,) = statements_with(role, "sagemaker:CreateEndpointConfig")
    assert endpoint_config["Condition"]["ArnEquals"] == {"sagemaker:VolumeKmsKey": [VOLUME]}
    (passrole,) = statements_with(role, "iam:PassRole")
    assert passrole["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert passrole["Resource"] == "arn:aws:iam::123456789012:role/ml"
    (grant,) = statements_with(role, "kms:CreateGrant")
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert grant["Resource"] == [VOLUME, OUTPUT]
    for objects in statements_with(role, "s3:GetObject"):
        assert objects["Resource"] == ["arn:aws:s3:::ml-data/*", "arn:aws:s3:::ml-models/*"]


def test_no_settings_no_conditions_and_no_kms_statements():
    role = Role.from_persona("ml", "ml-engineer")
    (train,) = statements_with(role, "sagemaker:CreateTrainingJob")
    assert "Condition" not in train
    assert statements_with(role, "kms:CreateGrant") == []
    objects = statements_with(role, "s3:GetObject")
    assert objects and all(o["Resource"] == "arn:aws:s3:::sagemaker-*/*" for o in objects)


def test_split_into_several_policies():
    many = AwsSettings(s3_buckets=[f"bucket-number-{i:03d}-with-a-long-name" for i in range(40)])
    role = Role.from_persona("admin", "admin", aws=many)
    docs = iam_policies(role)
    assert len(docs) > 3
    sids: set = set()
    for d in docs:
        check_grammar(d, sids)
    # a single statement too big for one document is split into parts with unique Sids
    huge = AwsSettings(s3_buckets=[f"b{i:03d}-" + "x" * 50 for i in range(120)])
    docs = iam_policies(Role("s3", "custom", ["s3-bucket-access"], aws=huge))
    sids = set()
    for d in docs:
        check_grammar(d, sids)
    assert len(docs) >= 2


def test_at_most_twenty_managed_policies():
    arns = [f"arn:aws:iam::123456789012:policy/p{i}" for i in range(19)]
    ok = Role.from_persona("ds", "data-steward", aws=AwsSettings(managed_policy_arns=arns))
    assert len(iam_policies(ok)) + 19 <= 20
    too_many = Role.from_persona("ml", "ml-engineer", aws=AwsSettings(managed_policy_arns=arns))
    with pytest.raises(Invalid, match="more than 20"):
        iam_policies(too_many)


def test_trust_policy_and_export():
    role = Role.from_persona("ds", "data-scientist", aws=FULL, guardrails=Guardrails(classification_ceiling="internal"))
    trust = trust_policy(role)
    assert trust == {"Version": "2012-10-17", "Statement": [{
        "Sid": "TrustAwsServices", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    # parliament lints identity policies; a trust policy has no Resource by definition, which is
    # the only thing it may report
    findings = parliament.analyze_policy_string(json.dumps(trust)).findings
    assert [(f.issue, f.detail) for f in findings] == [("MALFORMED", "Statement contains neither Resource nor NotResource")]
    two = trust_policy(Role("c", "compute", ["access-aws-services"], aws=AwsSettings(
        trusted_services=["sagemaker.amazonaws.com", "glue.amazonaws.com"])))
    assert two["Statement"][0]["Principal"] == {"Service": ["sagemaker.amazonaws.com", "glue.amazonaws.com"]}
    export = iam_export(role)
    assert export["RoleName"] == "ds" and export["AssumeRolePolicyDocument"] == trust
    assert export["Tags"] == [{"Key": "team", "Value": "risk"}]
    assert [p["PolicyDocument"] for p in export["ManagedPolicies"]] == iam_policies(role)
    assert len({p["ManagedPolicyName"] for p in export["ManagedPolicies"]}) == len(export["ManagedPolicies"])


def test_every_activity_exports_alone():
    for a in activities():
        persona = "custom"
        docs = iam_policies(Role(f"only-{a.id}", persona, [a.id], aws=FULL))
        assert docs, a.id
        for d in docs:
            assert parliament.analyze_policy_string(json.dumps(d)).findings == []
