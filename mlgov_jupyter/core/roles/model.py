"""Roles, guardrails, AWS settings and assignments: validated, immutable, serialisable.

Every constructor validates and raises ``Invalid`` with a one-line message; ``to_dict`` /
``from_dict`` round-trip through plain JSON types so the service can store them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.core.roles import catalog

ROLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")  # a subset of IAM role names
SUBNET = re.compile(r"^subnet-[0-9a-f]{8,17}\Z")
SECURITY_GROUP = re.compile(r"^sg-[0-9a-f]{8,17}\Z")
KMS_KEY = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key/[A-Za-z0-9-]+|alias/[A-Za-z0-9/_-]+)\Z")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}|\*):role/[\w+=,.@/*-]+\Z")
POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(aws|\d{12}):policy/[\w+=,.@/-]+\Z")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.*-]{1,61}[a-z0-9*]\Z")
REGION = re.compile(r"^([a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d|\*)\Z")
ACCOUNT = re.compile(r"^(\d{12}|\*)\Z")
SERVICE = re.compile(r"^[a-z0-9.-]+\.amazonaws\.com\Z")
TAG_KEY = re.compile(r"^[\w .:/=+@-]{1,128}\Z")
TAG_VALUE = re.compile(r"^[\w .:/=+@-]{0,256}\Z")
MAX_MANAGED_POLICIES = 20
MAX_TAGS = 50
MAX_GRANT_DAYS = 3650


def _tuple(value, what: str) -> tuple:
    if value is None:
        return ()
    if isinstance(value, str):
        raise Invalid(f"{what} must be a list, not a string")
    try:
        items = tuple(value)
    except TypeError:
        raise Invalid(f"{what} must be a list") from None
    for item in items:
        if not isinstance(item, str):
            raise Invalid(f"{what} must be a list of strings, got {item!r}")
    return tuple(dict.fromkeys(items))  # drop duplicates, keep order


def _project_names(value, what: str) -> tuple:
    names = _tuple(value, what)
    for n in names:
        if not n.strip() or len(n) > 128 or any(ord(c) < 32 for c in n):
            raise Invalid(f"{what}: invalid project name {n!r}")
    return names


def _check_keys(d, allowed: set, what: str) -> Mapping:
    if not isinstance(d, Mapping):
        raise Invalid(f"{what} must be an object")
    extra = set(d) - allowed
    if extra:
        raise Invalid(f"{what}: unknown field(s) {', '.join(sorted(extra))}")
    return d


def parse_time(value, what: str) -> datetime | None:
    """None, an aware/naive datetime (naive = UTC), epoch seconds or an ISO 8601 string -> aware UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Invalid(f"{what} must be a time, got {value!r}")
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise Invalid(f"{what} must be an ISO 8601 time, got {value!r}") from None
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    raise Invalid(f"{what} must be a time, got {value!r}")


@dataclass(frozen=True)
class CeilingException:
    """Raises a role's classification ceiling to ``classification`` for some projects/assets,
    optionally until ``expires``. Empty ``projects`` and ``assets`` mean everywhere."""

    classification: str
    projects: tuple = ()
    assets: tuple = ()
    expires: datetime | None = None
    reason: str = ""

    def __post_init__(self):
        catalog.rank(self.classification)
        object.__setattr__(self, "projects", _project_names(self.projects, "exception projects"))
        object.__setattr__(self, "assets", _tuple(self.assets, "exception assets"))
        object.__setattr__(self, "expires", parse_time(self.expires, "exception expiry"))
        if not isinstance(self.reason, str) or len(self.reason) > 1024:
            raise Invalid("exception reason must be a string of at most 1024 characters")

    def to_dict(self) -> dict:
        return {"classification": self.classification, "projects": list(self.projects),
                "assets": list(self.assets),
                "expires": self.expires.isoformat() if self.expires else None, "reason": self.reason}

    @classmethod
    def from_dict(cls, d: Mapping) -> CeilingException:
        _check_keys(d, {"classification", "projects", "assets", "expires", "reason"}, "exception")
        if "classification" not in d:
            raise Invalid("exception: classification is required")
        return cls(**d)


@dataclass(frozen=True)
class Guardrails:
    """What mlgov enforces on top of the activities of a role.

    - ``classification_ceiling``: the most sensitive classification the role may consume
      (None: no ceiling); ``ceiling_exceptions`` raise it for named projects/assets.
    - ``max_grant_days``: grants used under this role expire after that many days.
    - ``separation_of_duties``: the role may not approve what its holder requested/authored/owns.
    - ``projects``: the projects the role applies to (empty: all projects).
    """

    classification_ceiling: str | None = None
    ceiling_exceptions: tuple = ()
    max_grant_days: int | None = None
    separation_of_duties: bool = True
    projects: tuple = ()

    def __post_init__(self):
        if self.classification_ceiling is not None:
            catalog.rank(self.classification_ceiling)
        excs = []
        for e in _as_tuple(self.ceiling_exceptions, "ceiling_exceptions"):
            excs.append(e if isinstance(e, CeilingException) else CeilingException.from_dict(e))
        if excs and self.classification_ceiling is None:
            raise Invalid("a ceiling exception needs a classification ceiling")
        for e in excs:
            if catalog.rank(e.classification) <= catalog.rank(self.classification_ceiling):
                raise Invalid(f"exception to {e.classification} does not raise the ceiling "
                              f"{self.classification_ceiling}")
        object.__setattr__(self, "ceiling_exceptions", tuple(excs))
        if self.max_grant_days is not None:
            if isinstance(self.max_grant_days, bool) or not isinstance(self.max_grant_days, int) \
                    or not 1 <= self.max_grant_days <= MAX_GRANT_DAYS:
                raise Invalid(f"max_grant_days must be an integer from 1 to {MAX_GRANT_DAYS}, "
                              f"got {self.max_grant_days!r}")
        if not isinstance(self.separation_of_duties, bool):
            raise Invalid("separation_of_duties must be true or false")
        object.__setattr__(self, "projects", _project_names(self.projects, "role projects"))

    def to_dict(self) -> dict:
        return {"classification_ceiling": self.classification_ceiling,
                "ceiling_exceptions": [e.to_dict() for e in self.ceiling_exceptions],
                "max_grant_days": self.max_grant_days,
                "separation_of_duties": self.separation_of_duties,
                "projects": list(self.projects)}

    @classmethod
    def from_dict(cls, d: Mapping) -> Guardrails:
        _check_keys(d, {"classification_ceiling", "ceiling_exceptions", "max_grant_days",
                        "separation_of_duties", "projects"}, "guardrails")
        return cls(**d)


def _as_tuple(value, what: str) -> tuple:
    if value is None:
        return ()
    if isinstance(value, (str, bytes, Mapping)):
        raise Invalid(f"{what} must be a list")
    try:
        return tuple(value)
    except TypeError:
        raise Invalid(f"{what} must be a list") from None


@dataclass(frozen=True)
class AwsSettings:
    """Network and encryption settings for the IAM export (SageMaker Role Manager step 1)."""

    vpc_subnets: tuple = ()
    vpc_security_groups: tuple = ()
    volume_kms_keys: tuple = ()
    output_kms_keys: tuple = ()
    s3_buckets: tuple = ()
    pass_role_arns: tuple = ()
    managed_policy_arns: tuple = ()
    tags: Mapping = field(default_factory=dict)
    trusted_services: tuple = ("sagemaker.amazonaws.com",)
    region: str = "*"       # fills the ARNs of the IAM export ("*": any)
    account_id: str = "*"

    def __post_init__(self):
        if not isinstance(self.region, str) or not REGION.match(self.region):
            raise Invalid(f"region: {self.region!r} is not an AWS region (or *)")
        if not isinstance(self.account_id, str) or not ACCOUNT.match(self.account_id):
            raise Invalid(f"account_id: {self.account_id!r} is not a 12-digit AWS account id (or *)")
        checks = (("vpc_subnets", SUBNET, "subnet id"), ("vpc_security_groups", SECURITY_GROUP, "security group id"),
                  ("volume_kms_keys", KMS_KEY, "KMS key ARN"), ("output_kms_keys", KMS_KEY, "KMS key ARN"),
                  ("s3_buckets", BUCKET, "S3 bucket name"), ("pass_role_arns", ROLE_ARN, "IAM role ARN"),
                  ("managed_policy_arns", POLICY_ARN, "managed policy ARN"),
                  ("trusted_services", SERVICE, "AWS service principal"))
        for name, pattern, what in checks:
            values = _tuple(getattr(self, name), name)
            for v in values:
                if not pattern.match(v):
                    raise Invalid(f"{name}: {v!r} is not a valid {what}")
            object.__setattr__(self, name, values)
        if bool(self.vpc_subnets) != bool(self.vpc_security_groups):
            raise Invalid("VPC subnets and security groups must be given together")
        if len(self.managed_policy_arns) > MAX_MANAGED_POLICIES:
            raise Invalid(f"at most {MAX_MANAGED_POLICIES} managed policies per role, "
                          f"got {len(self.managed_policy_arns)}")
        if not self.trusted_services:
            raise Invalid("trusted_services must name at least one AWS service")
        tags = self.tags if self.tags is not None else {}
        if not isinstance(tags, Mapping):
            raise Invalid("tags must be an object of key: value")
        if len(tags) > MAX_TAGS:
            raise Invalid(f"at most {MAX_TAGS} tags per role, got {len(tags)}")
        for k, v in tags.items():
            if not isinstance(k, str) or not TAG_KEY.match(k) or k.lower().startswith("aws:"):
                raise Invalid(f"invalid tag key {k!r}")
            if not isinstance(v, str) or not TAG_VALUE.match(v):
                raise Invalid(f"invalid value for tag {k}: {v!r}")
        object.__setattr__(self, "tags", dict(tags))

    def __hash__(self) -> int:  # tags is a dict: hash its items
        return hash(tuple((k, tuple(v.items()) if isinstance(v, dict) else v) for k, v in self.__dict__.items()))

    @property
    def kms_keys(self) -> tuple:
        return tuple(dict.fromkeys(self.volume_kms_keys + self.output_kms_keys))

    def to_dict(self) -> dict:
        return {"vpc_subnets": list(self.vpc_subnets), "vpc_security_groups": list(self.vpc_security_groups),
                "volume_kms_keys": list(self.volume_kms_keys), "output_kms_keys": list(self.output_kms_keys),
                "s3_buckets": list(self.s3_buckets), "pass_role_arns": list(self.pass_role_arns),
                "managed_policy_arns": list(self.managed_policy_arns), "tags": dict(self.tags),
                "trusted_services": list(self.trusted_services), "region": self.region,
                "account_id": self.account_id}

    @classmethod
    def from_dict(cls, d: Mapping) -> AwsSettings:
        _check_keys(d, {"vpc_subnets", "vpc_security_groups", "volume_kms_keys", "output_kms_keys",
                        "s3_buckets", "pass_role_arns", "managed_policy_arns", "tags", "trusted_services",
                        "region", "account_id"},
                    "aws settings")
        return cls(**d)


@dataclass(frozen=True)
class Role:
    """A named persona + chosen activities + guardrails + AWS settings."""

    name: str
    persona: str
    activities: tuple
    guardrails: Guardrails = field(default_factory=Guardrails)
    aws: AwsSettings = field(default_factory=AwsSettings)
    description: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not ROLE_NAME.match(self.name):
            raise Invalid(f"invalid role name {self.name!r}: use 1-64 letters, digits, '-', '_' or '.', "
                          f"starting with a letter or digit")
        p = catalog.persona(self.persona if isinstance(self.persona, str) else repr(self.persona))
        chosen = set(_tuple(self.activities, "activities"))
        for a in chosen:
            catalog.activity(a)
        if not chosen:
            raise Invalid(f"role {self.name} has no activities")
        if p.read_only:
            writes = [a for a in sorted(chosen) if catalog.activity(a).writes]
            if writes:
                raise Invalid(f"role {self.name}: persona {p.id} is read-only and may not have "
                              f"activity {writes[0]}")
        # catalog order, so equal roles compare equal whatever order activities were given in
        object.__setattr__(self, "activities", tuple(a.id for a in catalog.activities() if a.id in chosen))
        g = self.guardrails
        if isinstance(g, Mapping):
            g = Guardrails.from_dict(g)
        elif g is None:
            g = Guardrails()
        elif not isinstance(g, Guardrails):
            raise Invalid("guardrails must be a Guardrails or an object")
        object.__setattr__(self, "guardrails", g)
        aws = self.aws
        if isinstance(aws, Mapping):
            aws = AwsSettings.from_dict(aws)
        elif aws is None:
            aws = AwsSettings()
        elif not isinstance(aws, AwsSettings):
            raise Invalid("aws must be AwsSettings or an object")
        object.__setattr__(self, "aws", aws)
        if not isinstance(self.description, str) or len(self.description) > 1000:
            raise Invalid("role description must be a string of at most 1000 characters")

    @classmethod
    def from_persona(cls, name: str, persona: str, *, add: Iterable[str] = (), remove: Iterable[str] = (),
                     guardrails: Guardrails | Mapping | None = None, aws: AwsSettings | Mapping | None = None,
                     description: str = "") -> Role:
        """The persona's activities (plus ``add``, minus ``remove``) and its default guardrails."""
        p = catalog.persona(persona)
        add, remove = _tuple(add, "add"), _tuple(remove, "remove")
        for a in add + remove:
            catalog.activity(a)
        acts = [a for a in p.activities if a not in remove] + [a for a in add if a not in p.activities]
        if guardrails is None:
            guardrails = Guardrails.from_dict(p.guardrails)
        return cls(name=name, persona=persona, activities=tuple(acts), guardrails=guardrails,
                   aws=aws if aws is not None else AwsSettings(), description=description)

    def actions(self) -> frozenset:
        """The mlgov service actions this role's activities allow."""
        return frozenset(x for a in self.activities for x in catalog.activity(a).actions)

    def to_dict(self) -> dict:
        return {"name": self.name, "persona": self.persona, "activities": list(self.activities),
                "guardrails": self.guardrails.to_dict(), "aws": self.aws.to_dict(),
                "description": self.description}

    @classmethod
    def from_dict(cls, d: Mapping) -> Role:
        _check_keys(d, {"name", "persona", "activities", "guardrails", "aws", "description"}, "role")
        for key in ("name", "persona", "activities"):
            if key not in d:
                raise Invalid(f"role: {key} is required")
        return cls(name=d["name"], persona=d["persona"], activities=d["activities"],
                   guardrails=Guardrails.from_dict(d.get("guardrails") or {}),
                   aws=AwsSettings.from_dict(d.get("aws") or {}), description=d.get("description", ""))


@dataclass(frozen=True)
class Assignment:
    """A role given to one user or one group, optionally only within some projects."""

    role: str
    user: str | None = None
    group: str | None = None
    projects: tuple = ()

    def __post_init__(self):
        if not isinstance(self.role, str) or not ROLE_NAME.match(self.role):
            raise Invalid(f"invalid role name {self.role!r}")
        if (self.user is None) == (self.group is None):
            raise Invalid("an assignment names exactly one of user or group")
        who = self.user if self.user is not None else self.group
        if not isinstance(who, str) or not who.strip() or len(who) > 256:
            raise Invalid(f"invalid {'user' if self.user is not None else 'group'} name {who!r}")
        object.__setattr__(self, "projects", _project_names(self.projects, "assignment projects"))

    @property
    def subject(self) -> str:
        return f"user:{self.user}" if self.user is not None else f"group:{self.group}"

    def to_dict(self) -> dict:
        return {"role": self.role, "user": self.user, "group": self.group, "projects": list(self.projects)}

    @classmethod
    def from_dict(cls, d: Mapping) -> Assignment:
        _check_keys(d, {"role", "user", "group", "projects"}, "assignment")
        if "role" not in d:
            raise Invalid("assignment: role is required")
        return cls(**d)
