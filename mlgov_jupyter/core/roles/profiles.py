"""Project profiles: templates that give a new project its roles, guardrails and members.

``profile("regulated-pii").apply("risk", creator="alice")`` returns a ``ProjectSetup``: the
project-scoped roles (named ``<project>-<suffix>``), the assignments and the member
designations, which the service stores in one transaction (``%mlgov project new risk
--profile regulated-pii``). Shipped profiles live in ``roles/data/profiles.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from mlgov_jupyter.core.authz import DESIGNATIONS
from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.core.roles import catalog
from mlgov_jupyter.core.roles.model import (
    Assignment,
    AwsSettings,
    Guardrails,
    Role,
    _check_keys,
    _project_names,
    _tuple,
)


@dataclass(frozen=True)
class RoleTemplate:
    suffix: str
    persona: str
    guardrails: Mapping = field(default_factory=dict)
    add: tuple = ()
    remove: tuple = ()

    def __post_init__(self):
        catalog.persona(self.persona)
        Guardrails.from_dict(self.guardrails)  # validate now, not at apply time
        object.__setattr__(self, "add", _tuple(self.add, "add"))
        object.__setattr__(self, "remove", _tuple(self.remove, "remove"))
        for a in self.add + self.remove:
            catalog.activity(a)

    def to_dict(self) -> dict:
        return {"suffix": self.suffix, "persona": self.persona, "guardrails": dict(self.guardrails),
                "add": list(self.add), "remove": list(self.remove)}

    @classmethod
    def from_dict(cls, d: Mapping) -> RoleTemplate:
        _check_keys(d, {"suffix", "persona", "guardrails", "add", "remove"}, "profile role")
        return cls(**d)


@dataclass(frozen=True)
class Member:
    """``principal`` is ``creator``, ``user:<name>`` or ``group:<name>``; ``roles`` are suffixes."""

    principal: str
    designation: str
    roles: tuple = ()

    def __post_init__(self):
        kind, _, name = self.principal.partition(":")
        if not (self.principal == "creator" or (kind in ("user", "group") and name)):
            raise Invalid(f"profile member {self.principal!r}: use creator, user:NAME or group:NAME")
        if self.designation not in DESIGNATIONS:
            raise Invalid(f"profile member {self.principal}: unknown designation {self.designation!r}")
        object.__setattr__(self, "roles", _tuple(self.roles, "member roles"))

    def to_dict(self) -> dict:
        return {"principal": self.principal, "designation": self.designation, "roles": list(self.roles)}

    @classmethod
    def from_dict(cls, d: Mapping) -> Member:
        _check_keys(d, {"principal", "designation", "roles"}, "profile member")
        return cls(**d)


@dataclass(frozen=True)
class ProjectSetup:
    """What a profile gives one project: roles, assignments and member designations."""

    project: str
    profile: str
    roles: tuple
    assignments: tuple
    members: tuple  # ({"user": name} | {"group": name}) + {"designation": d}

    def to_dict(self) -> dict:
        return {"project": self.project, "profile": self.profile,
                "roles": [r.to_dict() for r in self.roles],
                "assignments": [a.to_dict() for a in self.assignments],
                "members": [dict(m) for m in self.members]}


@dataclass(frozen=True)
class ProjectProfile:
    id: str
    title: str
    description: str
    roles: tuple
    members: tuple

    def __post_init__(self):
        roles = tuple(r if isinstance(r, RoleTemplate) else RoleTemplate.from_dict(r) for r in self.roles)
        members = tuple(m if isinstance(m, Member) else Member.from_dict(m) for m in self.members)
        suffixes = [r.suffix for r in roles]
        if len(set(suffixes)) != len(suffixes):
            raise Invalid(f"profile {self.id}: role suffixes repeat")
        for m in members:
            for s in m.roles:
                if s not in suffixes:
                    raise Invalid(f"profile {self.id}: member {m.principal} names unknown role {s}")
        object.__setattr__(self, "roles", roles)
        object.__setattr__(self, "members", members)

    def apply(self, project: str, creator: str, *, aws: AwsSettings | Mapping | None = None,
              groups: Mapping[str, str] | None = None) -> ProjectSetup:
        """Instantiate for ``project`` created by ``creator``. ``groups`` renames the profile's
        groups (e.g. ``{"auditors": "risk-auditors"}``); ``aws`` sets the roles' AWS settings."""
        _project_names([project], "project")
        if not isinstance(creator, str) or not creator.strip():
            raise Invalid("a project profile needs the creator's user name")
        groups = dict(groups or {})
        roles = {}
        for t in self.roles:
            g = dict(t.guardrails)
            g["projects"] = [project]
            roles[t.suffix] = Role.from_persona(
                f"{project}-{t.suffix}", t.persona, add=t.add, remove=t.remove,
                guardrails=Guardrails.from_dict(g), aws=aws,
                description=f"{t.suffix} of project {project} (profile {self.id})")
        assignments, members = [], []
        for m in self.members:
            if m.principal == "creator":
                who = {"user": creator}
            else:
                kind, _, name = m.principal.partition(":")
                who = {kind: groups.get(name, name) if kind == "group" else name}
            members.append({**who, "designation": m.designation})
            for s in m.roles:
                assignments.append(Assignment(role=roles[s].name, projects=(project,), **who))
        return ProjectSetup(project=project, profile=self.id, roles=tuple(roles.values()),
                            assignments=tuple(assignments), members=tuple(members))

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "description": self.description,
                "roles": [r.to_dict() for r in self.roles], "members": [m.to_dict() for m in self.members]}

    @classmethod
    def from_dict(cls, d: Mapping) -> ProjectProfile:
        _check_keys(d, {"id", "title", "description", "roles", "members"}, "profile")
        for key in ("id", "roles", "members"):
            if key not in d:
                raise Invalid(f"profile: {key} is required")
        return cls(id=d["id"], title=d.get("title", d["id"]), description=d.get("description", ""),
                   roles=tuple(d["roles"]), members=tuple(d["members"]))


@cache
def _profiles() -> dict:
    raw = catalog._load("profiles.json")
    return {p["id"]: ProjectProfile.from_dict(p) for p in raw["profiles"]}


def profiles() -> tuple:
    return tuple(_profiles().values())


def profile(profile_id: str) -> ProjectProfile:
    try:
        return _profiles()[profile_id]
    except KeyError:
        raise Invalid(f"unknown project profile {profile_id!r}; known: {', '.join(_profiles())}") from None


def catalog_document() -> dict:
    """Everything a UI needs to build roles (the sidebar's Roles view, GET .../roles/catalog):
    activities, personas, project profiles, classification levels, service actions."""
    return {"activities": [a.to_dict() for a in catalog.activities()],
            "personas": [p.to_dict() for p in catalog.personas()],
            "profiles": [p.to_dict() for p in profiles()],
            "classifications": list(catalog.CLASSIFICATIONS),
            "actions": list(catalog.ALL_ACTIONS)}
