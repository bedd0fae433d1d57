"""The catalog of ML activities and personas, shipped as JSON package data.

An *activity* is something a practitioner does ("approve access requests"). It names the
mlgov service actions it allows (the strings of ``core.authz``) and the AWS IAM statements it
maps to, the way SageMaker Role Manager maps its ML activities. A *persona* is a named set of
activities with default guardrails. Both are read once from ``roles/data/*.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from mlgov_jupyter.core import authz
from mlgov_jupyter.core.errors import Invalid

# Classification levels, least to most sensitive. A ceiling allows its level and below.
CLASSIFICATIONS = ("public", "internal", "confidential", "pii")
CLASSIFICATION_RANK = {name: rank for rank, name in enumerate(CLASSIFICATIONS)}

# Actions every role-holder may be granted regardless of the resource's project
# (they are not about one project's content). Everything else is project-scoped.
OPEN_ACTIONS = frozenset(authz.ANYONE | {authz.CARD_READ, authz.MONITOR_READ, authz.ROLE_READ})

# Project-scoped action -> designations (on the resource's project) an activity needs,
# unless the activity says ``"membership": false``. ``authz.BY_DESIGNATION`` is the source of
# truth; the defaults below only fill in actions it does not (yet) list.
DESIGNATIONS_FOR: Mapping[str, frozenset] = {
    authz.CARD_CREATE: frozenset({"owner", "contributor", "steward"}),
    authz.CARD_EDIT: frozenset({"owner", "contributor", "steward"}),
    authz.CARD_SUBMIT: frozenset({"owner", "contributor", "steward"}),
    authz.CARD_APPROVE: frozenset({"owner", "steward"}),
    authz.MONITOR_RUN: frozenset({"owner", "contributor", "steward"}),
    authz.MONITOR_MANAGE: frozenset({"owner", "contributor", "steward"}),
    authz.ALERT_ACK: frozenset({"owner", "contributor", "steward"}),
    authz.ROLE_MANAGE: frozenset({"owner"}),
    **authz.BY_DESIGNATION,
}

# Approve actions: separation of duties applies (approver != requester/author/owner).
APPROVE_ACTIONS = frozenset({authz.CATALOG_DECIDE, authz.CARD_APPROVE})

# Every action the role manager knows, for matrix tests and validation.
ALL_ACTIONS = tuple(sorted(OPEN_ACTIONS | set(DESIGNATIONS_FOR)))

# How a denial names the action: "<user> may not <phrase>[ of project <p>]".
ACTION_PHRASES: Mapping[str, str] = {
    authz.PROJECT_CREATE: "create projects",
    authz.PROJECT_READ: "read projects",
    authz.PROJECT_MANAGE: "manage project",
    authz.CATALOG_SEARCH: "search the catalog",
    authz.CATALOG_READ: "read catalog entries",
    authz.CATALOG_PUBLISH: "publish assets",
    authz.CATALOG_SUBSCRIBE: "subscribe to assets",
    authz.CATALOG_DECIDE: "decide access requests, model aliases and deprecations",
    authz.CATALOG_REVOKE: "revoke access (subscriptions, unpublishing)",
    authz.CATALOG_CONSUME: "consume assets",
    authz.AUDIT_READ: "read the audit log",
    authz.AUDIT_VERIFY: "verify the audit log",
    authz.CARD_READ: "read model cards",
    authz.CARD_CREATE: "create model cards",
    authz.CARD_EDIT: "edit model cards",
    authz.CARD_SUBMIT: "submit model cards",
    authz.CARD_APPROVE: "approve model cards",
    authz.MONITOR_READ: "view monitoring",
    authz.MONITOR_RUN: "run checks",
    authz.MONITOR_MANAGE: "manage monitors",
    authz.ALERT_ACK: "acknowledge alerts",
    authz.ROLE_READ: "read roles",
    authz.ROLE_MANAGE: "manage roles",
}


def phrase(action: str, project: str | None) -> str:
    """'publish assets of project risk' (the project is left out when there is none)."""
    text = ACTION_PHRASES.get(action, action)
    if project and action not in OPEN_ACTIONS:
        if text.endswith(" project"):
            return f"{text} {project}"
        return f"{text} of project {project}"
    return text


@dataclass(frozen=True)
class IamStatement:
    """A template of one IAM statement of an activity.

    ``resources`` is ``"*"``, an ARN pattern, or a symbol filled from the role's AWS settings:
    ``s3-buckets``, ``s3-objects``, ``kms-keys``, ``pass-role``. ``vpc`` adds the VPC subnet and
    security-group conditions, ``kms`` the listed KMS key conditions (``volume``, ``output``).
    """

    sid: str
    actions: tuple
    resources: str = "*"
    vpc: bool = False
    kms: tuple = ()
    condition: Mapping = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Mapping) -> IamStatement:
        return cls(sid=d["sid"], actions=tuple(d["actions"]), resources=d.get("resources", "*"),
                   vpc=bool(d.get("vpc", False)), kms=tuple(d.get("kms", ())),
                   condition=d.get("condition", {}))


@dataclass(frozen=True)
class Activity:
    id: str
    title: str
    description: str
    actions: tuple            # mlgov service actions it allows
    writes: bool              # False: read-only activity (allowed for read-only personas)
    membership: bool = True   # False: project-scoped actions need no designation on the project
    aws_only: bool = False    # only meaningful for the IAM export (no mlgov action)
    uses: tuple = ()          # shared IAM statements (pass-role, ecr-pull, ...)
    iam: tuple = ()           # IamStatement templates

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "description": self.description,
                "actions": list(self.actions), "writes": self.writes, "membership": self.membership,
                "aws_only": self.aws_only, "uses": list(self.uses),
                "iam": [{"sid": s.sid, "actions": list(s.actions), "resources": s.resources,
                         "vpc": s.vpc, "kms": list(s.kms), "condition": dict(s.condition)} for s in self.iam]}


@dataclass(frozen=True)
class Persona:
    id: str
    title: str
    description: str
    activities: tuple
    read_only: bool = False
    guardrails: Mapping = field(default_factory=dict)  # defaults for Guardrails.from_dict

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "description": self.description,
                "activities": list(self.activities), "read_only": self.read_only,
                "guardrails": dict(self.guardrails)}


def _load(name: str) -> dict:
    return json.loads(resources.files("mlgov_jupyter.core.roles").joinpath("data", name).read_text("utf-8"))


@cache
def _catalog():
    raw = _load("activities.json")
    shared = {k: IamStatement.from_dict(v) for k, v in raw["shared_statements"].items()}
    acts = {}
    for a in raw["activities"]:
        acts[a["id"]] = Activity(
            id=a["id"], title=a["title"], description=a["description"], actions=tuple(a["actions"]),
            writes=bool(a["writes"]), membership=bool(a.get("membership", True)),
            aws_only=bool(a.get("aws_only", False)), uses=tuple(a.get("uses", ())),
            iam=tuple(IamStatement.from_dict(s) for s in a.get("iam", ())))
    pers = {}
    for p in _load("personas.json")["personas"]:
        ids = tuple(acts) if p["activities"] == "*" else tuple(p["activities"])
        pers[p["id"]] = Persona(id=p["id"], title=p["title"], description=p["description"],
                                activities=ids, read_only=bool(p.get("read_only", False)),
                                guardrails=dict(p.get("guardrails", {})))
    return acts, pers, shared


def activities() -> tuple:
    """All activities, in catalog order."""
    return tuple(_catalog()[0].values())


def activity(activity_id: str) -> Activity:
    try:
        return _catalog()[0][activity_id]
    except KeyError:
        raise Invalid(f"unknown activity {activity_id!r}; known: {', '.join(_catalog()[0])}") from None


def personas() -> tuple:
    return tuple(_catalog()[1].values())


def persona(persona_id: str) -> Persona:
    try:
        return _catalog()[1][persona_id]
    except KeyError:
        raise Invalid(f"unknown persona {persona_id!r}; known: {', '.join(_catalog()[1])}") from None


def shared_statement(key: str) -> IamStatement:
    return _catalog()[2][key]


def activities_for(action: str) -> tuple:
    """Ids of the activities that allow ``action``, in catalog order."""
    return tuple(a.id for a in activities() if action in a.actions)


@cache
def _iam_resources() -> dict:
    return _load("iam_resources.json")["actions"]


def iam_resources(iam_action: str) -> tuple:
    """ARN patterns (with {region}/{account}) of the resources an IAM action requires;
    () when the action supports only Resource "*"."""
    return tuple(_iam_resources().get(iam_action, ()))


def rank(classification: str) -> int:
    try:
        return CLASSIFICATION_RANK[classification]
    except KeyError:
        raise Invalid(f"unknown classification {classification!r}; "
                      f"use one of {', '.join(CLASSIFICATIONS)}") from None


def persona_allows(persona_id: str, action: str, designation: str | None) -> bool:
    """What the catalog says a holder of the persona's default role may do on a resource of a
    project where they hold ``designation`` (None: not a member). The expected value for
    permission-matrix tests (ignores guardrails, which need a concrete resource)."""
    for act_id in persona(persona_id).activities:
        act = activity(act_id)
        if action not in act.actions:
            continue
        if action in OPEN_ACTIONS or not act.membership or designation in DESIGNATIONS_FOR.get(action, ()):
            return True
    return False
