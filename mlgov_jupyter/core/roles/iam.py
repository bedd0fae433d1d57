"""AWS IAM export of a role, as SageMaker Role Manager writes it.

- activities -> IAM statements (SageMaker/S3/ECR/CloudWatch/KMS/DataZone actions);
- VPC subnets and security groups -> ``ForAllValues:StringEquals`` on ``sagemaker:VpcSubnets``
  and ``sagemaker:VpcSecurityGroupIds``, paired with ``Null: false`` on both (absent keys would
  otherwise satisfy ``ForAllValues``) -- on the Create* actions that have those keys
  (``CreateTransformJob`` has none);
- KMS keys -> ``ArnEquals`` (the keys are ARN-typed; ``StringEquals`` works too but
  parliament flags the type mismatch) on ``sagemaker:VolumeKmsKey`` / ``sagemaker:OutputKmsKey`` where
  the action has the key (``CreateModel`` has none); ``kms:CreateGrant`` only with
  ``kms:GrantIsForAWSResource``;
- ``iam:PassRole`` only with ``iam:PassedToService = sagemaker.amazonaws.com``;
- Sids unique and alphanumeric; documents split so that each stays within 6,144 characters
  without whitespace; at most 20 managed policies per role, extra ARNs included.
"""

from __future__ import annotations

import json
import re

from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.core.roles import catalog
from mlgov_jupyter.core.roles.model import MAX_MANAGED_POLICIES, Role

VERSION = "2012-10-17"
MAX_POLICY_CHARS = 6144
SID = re.compile(r"^[A-Za-z0-9]+\Z")
DEFAULT_BUCKETS = ("sagemaker-*",)  # SageMaker's default buckets when the role names none
KMS_OPERATOR = "ArnEquals"


def compact(doc) -> str:
    """The JSON as IAM counts its size: no whitespace."""
    return json.dumps(doc, separators=(",", ":"))


def _fill(pattern: str, role: Role) -> str:
    return pattern.replace("{region}", role.aws.region).replace("{account}", role.aws.account_id)


def _resources(symbol: str, role: Role) -> list:
    aws = role.aws
    buckets = aws.s3_buckets or DEFAULT_BUCKETS
    if symbol == "s3-buckets":
        return [f"arn:aws:s3:::{b}" for b in buckets]
    if symbol == "s3-objects":
        return [f"arn:aws:s3:::{b}/*" for b in buckets]
    if symbol == "kms-keys":
        return list(aws.kms_keys)
    if symbol == "pass-role":
        return list(aws.pass_role_arns) or [f"arn:aws:iam::{aws.account_id}:role/{role.name}"]
    return [_fill(symbol, role)]


def _conditions(template: catalog.IamStatement, role: Role) -> dict:
    aws = role.aws
    condition: dict = {op: dict(keys) for op, keys in template.condition.items()}
    if template.vpc and aws.vpc_subnets:
        condition.setdefault("ForAllValues:StringEquals", {}).update({
            "sagemaker:VpcSubnets": list(aws.vpc_subnets),
            "sagemaker:VpcSecurityGroupIds": list(aws.vpc_security_groups)})
        condition.setdefault("Null", {}).update({
            "sagemaker:VpcSubnets": "false", "sagemaker:VpcSecurityGroupIds": "false"})
    kms = {}
    if "volume" in template.kms and aws.volume_kms_keys:
        kms["sagemaker:VolumeKmsKey"] = list(aws.volume_kms_keys)
    if "output" in template.kms and aws.output_kms_keys:
        kms["sagemaker:OutputKmsKey"] = list(aws.output_kms_keys)
    if kms:  # the keys are ARN-typed: ArnEquals is the type-correct operator
        condition.setdefault(KMS_OPERATOR, {}).update(kms)
    return condition


def _make(sid: str, actions, resources: list, condition: dict) -> dict:
    stmt = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions),
            "Resource": resources[0] if len(resources) == 1 else resources}
    if condition:
        stmt["Condition"] = condition
    return stmt


def _statements(template: catalog.IamStatement, role: Role) -> list:
    """One template -> its statements. A template on Resource "*" is scoped: actions that
    support resource-level permissions get the ARN patterns of the resources they act on
    (region and account from the role's settings); the others keep "*" in a ``<Sid>Any`` part."""
    condition = _conditions(template, role)
    if template.resources != "*":
        resources = _resources(template.resources, role)
        return [_make(template.sid, template.actions, resources, condition)] if resources else []
    arns, scoped, anywhere = [], [], []
    for action in template.actions:
        patterns = catalog.iam_resources(action)
        if patterns:
            scoped.append(action)
            arns += [_fill(p, role) for p in patterns if _fill(p, role) not in arns]
        else:
            anywhere.append(action)
    out = []
    if scoped:
        out.append(_make(template.sid, scoped, arns, condition))
    if anywhere:
        out.append(_make(f"{template.sid}Any" if scoped else template.sid, anywhere, ["*"], condition))
    return out


def iam_statements(role: Role) -> list:
    """The statements of the role, activities in catalog order, shared statements once each."""
    out, seen = [], set()
    for act_id in role.activities:
        act = catalog.activity(act_id)
        templates = list(act.iam) + [catalog.shared_statement(k) for k in act.uses]
        for t in templates:
            if t.sid in seen:
                continue
            seen.add(t.sid)
            out += _statements(t, role)
    return out


def _fit(stmt: dict, room: int) -> list:
    """Split a statement too long for one document: halve its actions, else its resources
    (same meaning: IAM takes the union of statements); parts get Sids <Sid>Part1, <Sid>Part2."""
    if len(compact(stmt)) <= room:
        return [stmt]
    actions = stmt["Action"]
    resources = stmt["Resource"] if isinstance(stmt["Resource"], list) else [stmt["Resource"]]
    if len(actions) > 1:
        key, items = "Action", actions
    elif len(resources) > 1:
        key, items = "Resource", resources
    else:
        raise Invalid(f"IAM statement {stmt['Sid']} is longer than {MAX_POLICY_CHARS} characters")
    half = len(items) // 2
    parts = []
    for i, chunk in enumerate((items[:half], items[half:]), 1):
        value = chunk if key == "Action" or len(chunk) > 1 else chunk[0]
        parts += _fit({**stmt, "Sid": f"{stmt['Sid']}Part{i}", key: value}, room)
    return parts


def iam_policies(role: Role) -> list:
    """Identity policy documents for the role, each at most 6,144 characters without whitespace."""
    empty = len(compact({"Version": VERSION, "Statement": []}))
    docs, current = [], []
    for stmt in iam_statements(role):
        for part in _fit(stmt, MAX_POLICY_CHARS - empty):
            trial = {"Version": VERSION, "Statement": current + [part]}
            if current and len(compact(trial)) > MAX_POLICY_CHARS:
                docs.append({"Version": VERSION, "Statement": current})
                current = [part]
            else:
                current.append(part)
    if current:
        docs.append({"Version": VERSION, "Statement": current})
    total = len(docs) + len(role.aws.managed_policy_arns)
    if total > MAX_MANAGED_POLICIES:
        raise Invalid(f"role {role.name} needs {len(docs)} generated and "
                      f"{len(role.aws.managed_policy_arns)} extra managed policies, more than "
                      f"{MAX_MANAGED_POLICIES}")
    return docs


def trust_policy(role: Role) -> dict:
    """Who may assume the role: the configured AWS services (SageMaker by default)."""
    services = list(role.aws.trusted_services)
    return {"Version": VERSION, "Statement": [{
        "Sid": "TrustAwsServices", "Effect": "Allow",
        "Principal": {"Service": services[0] if len(services) == 1 else services},
        "Action": "sts:AssumeRole"}]}


def iam_export(role: Role) -> dict:
    """Everything to create the role: name, trust policy, generated customer managed policies,
    extra managed policy ARNs and tags (field names as in CloudFormation ``AWS::IAM::Role``)."""
    policies = iam_policies(role)
    return {
        "RoleName": role.name,
        "Description": role.description or f"mlgov role {role.name} (persona {role.persona})",
        "AssumeRolePolicyDocument": trust_policy(role),
        "ManagedPolicies": [{"ManagedPolicyName": f"{role.name}-policy-{i}", "PolicyDocument": doc}
                            for i, doc in enumerate(policies, 1)],
        "ManagedPolicyArns": list(role.aws.managed_policy_arns),
        "Tags": [{"Key": k, "Value": v} for k, v in role.aws.tags.items()],
    }
