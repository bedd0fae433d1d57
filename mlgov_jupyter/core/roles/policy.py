"""``PolicyAuthorizer``: the role manager's ``Authorizer``, evaluated with Cedar.

Semantics (one call decides; deny wins over allow):

1. The caller's roles come from assignments to the user and to each of their groups (under
   JupyterHub, the hub groups); an assignment limited to projects applies only to resources
   of those projects. Open actions (catalog search, ...) are not about a project, and an active
   grant (``catalog:consume`` with ``attrs["granted"]``) is personal: for those every role
   held counts, so every held role's guardrails follow the holder to granted data.
2. A role *permits* an action when one of its activities allows it and, for project-scoped
   actions, the role covers the resource's project and -- unless the activity says
   ``membership: false`` -- the caller holds a designation on that project that the action
   needs (the designation semantics of ``DesignationAuthorizer``).
3. Admins (``Principal.is_admin``) are permitted everything.
4. Guardrails *forbid*, and a forbid beats any permit: the classification ceiling on
   ``catalog:consume``, the maximum grant age, separation of duties on approve actions
   (of every role held, and for admins), expired grants, and any extra Cedar policy.
5. A policy that fails to evaluate denies (fail closed); policies are type-checked against
   ``cedar.schema()`` at construction, so that does not happen with valid input.

Resource fields read: ``project``, ``classification`` (None: ``unclassified_as``), ``name``
(ceiling exceptions by asset), ``owner`` (card author for ``card:approve``) and ``attrs``:
``requester`` (``catalog:decide``), ``author``/``submitted_by`` (cards), ``granted``,
``granted_at`` and ``grant_expires`` (``catalog:consume``; datetime, epoch or ISO 8601).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

import cedarpy

from mlgov_jupyter.core import authz
from mlgov_jupyter.core.authz import Authorizer, Decision, Principal, Resource
from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.core.roles import catalog, cedar
from mlgov_jupyter.core.roles.model import Assignment, Role, parse_time

_SCHEMA = json.dumps(cedar.schema())

# Separation of duties: who may not approve. "owner" is Resource.owner, the rest are attrs.
# An access request is about an asset whose owner approves it: only the requester is barred.
INVOLVED = {
    authz.CATALOG_DECIDE: ("requester", "requested_by"),
    authz.CARD_APPROVE: ("author", "owner", "created_by", "submitted_by"),
}
PERMITS_KEPT = 65536  # remembered permits per authorizer (cleared when full; a new policy version starts afresh)
INVOLVED_DEFAULT = ("requester", "requested_by", "author", "owner", "created_by", "submitted_by")


class PolicyAuthorizer(Authorizer):
    """Decide from roles, assignments and project designations. Immutable: build a new one
    when roles or assignments change (the Cedar text is parsed once, here)."""

    def __init__(self, roles: Iterable[Role] = (), assignments: Iterable[Assignment] = (), *,
                 extra_policies: str = "", admin_separation_of_duties: bool = True,
                 unclassified_as: str = "internal", clock: Callable[[], float] = time.time):
        self.roles: dict = {}
        for r in roles:
            r = r if isinstance(r, Role) else Role.from_dict(r)
            if r.name in self.roles:
                raise Invalid(f"duplicate role {r.name}")
            self.roles[r.name] = r
        self.assignments: tuple = tuple(a if isinstance(a, Assignment) else Assignment.from_dict(a)
                                        for a in assignments)
        self._by_user: dict = {}
        self._by_group: dict = {}
        for a in self.assignments:
            if a.role not in self.roles:
                raise Invalid(f"assignment of unknown role {a.role} to {a.subject}")
            index = self._by_user if a.user is not None else self._by_group
            index.setdefault(a.user if a.user is not None else a.group, []).append(
                (a.role, frozenset(a.projects)))
        if not isinstance(extra_policies, str):
            raise Invalid("extra_policies must be Cedar policy text")
        self.extra_policies = extra_policies
        self.admin_separation_of_duties = bool(admin_separation_of_duties)
        self.unclassified_as = unclassified_as
        self._unclassified_rank = catalog.rank(unclassified_as)
        self.clock = clock
        self._base_text = cedar.base_policies(self.admin_separation_of_duties)
        if self.extra_policies.strip():
            self._base_text += "\n// extra policies\n" + self.extra_policies.strip() + "\n"
        self._role_policies = {name: cedar.role_policy_list(r) for name, r in self.roles.items()}
        self.policy_text = "\n".join(
            [self._base_text, *("\n\n".join(t for t, _ in pl) + "\n" for pl in self._role_policies.values())])
        # The whole text is parsed here, once, so errors surface at construction. Cedar
        # evaluates every policy of a set, one after the other, so a decision evaluates only
        # the policies that can match it: those of the roles that apply to the request (every
        # role policy is conditioned on holding its role) and that name the action, plus the
        # base and extra policies. Such sets are parsed on first use and cached.
        try:
            cedarpy.PolicySet.from_str(self.policy_text)
        except ValueError as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else "parse error"
            raise Invalid(f"invalid Cedar policy: {first}") from None
        # Type-check against the request schema: a policy that would fail to evaluate (a
        # misspelt context attribute, an unknown action) is refused now, not at request time.
        checked = cedarpy.validate_policies(self.policy_text, _SCHEMA)
        if not checked.validation_passed:
            first = re.sub(r"^\[[^\]]*\] for policy `[^`]*`, ", "", str(checked.errors[0]))
            raise Invalid(f"invalid Cedar policy: {first}")
        self._sets: dict = {}
        self._permits: dict = {}  # request (principal, action, resource id, roles, context) -> permit ids
        # the context that keys a remembered permit: all of it but the roles (keyed apart), and
        # the clock only where a policy reads it (a ceiling exception that expires)
        self._keyed = tuple(k for k in cedar.CONTEXT_TYPE["attributes"] if k != "roles"
                            and (k != "now" or re.search(r"\bnow\b", self.policy_text)))
        self._entities = cedarpy.Entities.from_json_str("[]")

    def _policy_set(self, roles: tuple, action: str):
        key = (tuple(sorted(roles)), action)
        ps = self._sets.get(key)
        if ps is None:
            texts = [self._base_text]
            for r in key[0]:
                texts += [t for t, acts in self._role_policies[r] if action in acts]
            ps = cedarpy.PolicySet.from_str("\n".join(texts))
            if len(self._sets) >= 65536:
                self._sets.clear()
            self._sets[key] = ps
        return ps

    # -- configuration ---------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {"roles": [r.to_dict() for r in self.roles.values()],
                "assignments": [a.to_dict() for a in self.assignments],
                "extra_policies": self.extra_policies,
                "admin_separation_of_duties": self.admin_separation_of_duties,
                "unclassified_as": self.unclassified_as}

    @classmethod
    def from_dict(cls, d: Mapping, clock: Callable[[], float] = time.time) -> PolicyAuthorizer:
        allowed = {"roles", "assignments", "extra_policies", "admin_separation_of_duties", "unclassified_as"}
        if not isinstance(d, Mapping) or set(d) - allowed:
            raise Invalid(f"authorizer config: unknown field(s) {', '.join(sorted(set(d) - allowed))}"
                          if isinstance(d, Mapping) else "authorizer config must be an object")
        return cls(roles=[Role.from_dict(r) for r in d.get("roles", ())],
                   assignments=[Assignment.from_dict(a) for a in d.get("assignments", ())],
                   extra_policies=d.get("extra_policies", ""),
                   admin_separation_of_duties=d.get("admin_separation_of_duties", True),
                   unclassified_as=d.get("unclassified_as", "internal"), clock=clock)

    # -- queries ------------------------------------------------------------------------------

    def held(self, principal: Principal) -> list:
        """(role name, assignment projects) pairs the principal holds, user's first then groups'."""
        out = list(self._by_user.get(principal.name, ()))
        for g in principal.groups:
            out += self._by_group.get(g, ())
        return out

    def roles_of(self, principal: Principal, project: str | None = None) -> list:
        """Names of the roles that apply to ``principal`` in ``project`` (None: unscoped only)."""
        names = []
        for role, projects in self.held(principal):
            if (not projects or project in projects) and role not in names:
                names.append(role)
        return names

    # -- the decision ------------------------------------------------------------------------

    def decide(self, principal: Principal, action: str, resource: Resource) -> Decision:
        """Cedar's decision on the request (context: roles, designation, classification rank,
        grant, time); a permit is remembered per request (at most ``PERMITS_KEPT``)."""
        project = resource.project or ""
        attrs = resource.attrs or {}
        granted = action == authz.CATALOG_CONSUME and bool(attrs.get("granted"))
        # open actions are not about a project; an active grant is personal: in both cases every
        # role held counts (so every held role's guardrails apply to granted data)
        anywhere = granted or action in catalog.OPEN_ACTIONS
        roles = []
        for role, projects in self.held(principal):
            if (anywhere or not projects or project in projects) and role not in roles:
                roles.append(role)
        if resource.classification is None:
            rank = self._unclassified_rank
        else:
            rank = catalog.rank(resource.classification)
        now = self.clock()
        involved = self._involvement(principal, action, resource)
        granted_at = parse_time(attrs.get("granted_at"), "granted_at")
        expires = parse_time(attrs.get("grant_expires"), "grant_expires")
        context = {
            "roles": roles, "is_admin": bool(principal.is_admin), "project": project,
            "designation": (principal.designations or {}).get(project, "") or "",
            "classification": rank, "asset": resource.name or "",
            "self_involved": involved is not None, "granted": granted,
            "grant_age": int(now - granted_at.timestamp()) if granted_at else -1,
            "grant_expired": bool(expires and now >= expires.timestamp()),
            "now": int(now),
        }
        request = {"principal": {"type": "User", "id": principal.name},
                   "action": {"type": "Action", "id": action},
                   "resource": {"type": "Resource", "id": resource.name or resource.type or "-"},
                   "context": context}
        # Cedar's answer is a function of the request alone (policy set and entities are this
        # authorizer's, fixed): a permit is remembered under the request itself, context included,
        # so a repeated call (the sidebar's search, a page of reads) skips Cedar, exactly
        key = (principal.name, action, request["resource"]["id"], tuple(roles),
               *(context[k] for k in self._keyed))
        ids = self._permits.get(key)
        what = catalog.phrase(action, resource.project)
        if ids is not None:
            return Decision(True, f"{principal.name} may {what}: {self._allow_reason(principal, list(ids))}")
        result = cedarpy.is_authorized(request, self._policy_set(tuple(roles), action), self._entities)
        if result.diagnostics.errors:  # a policy failed to evaluate: fail closed, say why
            return Decision(False, f"{principal.name} may not {catalog.phrase(action, resource.project)}: "
                                   f"policy error: {str(result.diagnostics.errors[0]).splitlines()[0]}")
        ids = sorted(set(result.diagnostics.id_annotations_by_reason.values()))
        if result.allowed:
            if len(self._permits) >= PERMITS_KEPT:
                self._permits.clear()
            self._permits[key] = tuple(ids)
            return Decision(True, f"{principal.name} may {what}: {self._allow_reason(principal, ids)}")
        if ids:  # forbids fired
            reasons = [self._forbid_reason(i, principal, resource, context, involved) for i in ids]
            return Decision(False, f"{principal.name} may not {what}: {'; '.join(dict.fromkeys(reasons))}")
        return Decision(False, f"{principal.name} may not {what}: "
                               f"{self._no_permit_reason(principal, action, resource, context)}")

    @staticmethod
    def _involvement(principal: Principal, action: str, resource: Resource) -> str | None:
        if action not in catalog.APPROVE_ACTIONS:
            return None
        attrs = resource.attrs or {}
        for key in INVOLVED.get(action, INVOLVED_DEFAULT):
            value = resource.owner if key == "owner" else attrs.get(key)
            if value is not None and value == principal.name:
                return key.replace("_", " ")
        return None

    # -- reasons ------------------------------------------------------------------------------

    def _allow_reason(self, principal: Principal, ids: list) -> str:
        if "admin" in ids:
            return f"{principal.name} is an admin"
        grants = [i.split(":", 2) for i in ids if i.startswith("allow:")]
        if grants:
            return "; ".join(f"role {r} grants activity {a}" for _, r, a in grants)
        return "policy " + ", ".join(ids) + " permits it"

    def _forbid_reason(self, pid: str, principal: Principal, resource: Resource, context: dict,
                       involved: str | None) -> str:
        kind, _, role_name = pid.partition(":")
        role = self.roles.get(role_name)
        if kind == "ceiling" and role:
            level = resource.classification or f"unclassified (treated as {self.unclassified_as})"
            return (f"role {role_name} has a classification ceiling of "
                    f"{role.guardrails.classification_ceiling} and the asset is {level}")
        if kind == "max-grant" and role:
            return (f"role {role_name} allows grants of at most {role.guardrails.max_grant_days} days "
                    f"and this grant is {context['grant_age'] // 86400} days old")
        if kind == "sod" and role:
            return (f"role {role_name} requires separation of duties and {principal.name} is the "
                    f"{involved or 'requester'}")
        if pid == "admin-sod":
            return f"separation of duties: {principal.name} is the {involved or 'requester'}"
        if pid == "grant-expired":
            exp = parse_time((resource.attrs or {}).get("grant_expires"), "grant_expires")
            return f"the grant expired at {exp.isoformat() if exp else 'an earlier time'}"
        return f"policy {pid} forbids it"

    def _no_permit_reason(self, principal: Principal, action: str, resource: Resource, context: dict) -> str:
        held = self.held(principal)
        if not held:
            return f"{principal.name} holds no role"
        grants = catalog.activities_for(action)
        if not grants:
            return f"no activity allows {action}"
        project = resource.project
        open_action = action in catalog.OPEN_ACTIONS or context["granted"]
        reasons = []
        seen = set()
        for role_name, projects in held:
            if (role_name, projects) in seen:
                continue
            seen.add((role_name, projects))
            role = self.roles[role_name]
            if not open_action:
                if projects and project not in projects:
                    reasons.append(f"role {role_name} is assigned for project {', '.join(sorted(projects))} only")
                    continue
                if role.guardrails.projects and project not in role.guardrails.projects:
                    reasons.append(f"role {role_name} is scoped to project "
                                   f"{', '.join(role.guardrails.projects)} only")
                    continue
            have = [a for a in grants if a in role.activities]
            if not have:
                reasons.append(f"role {role_name} lacks activity {grants[0]}")
                continue
            needs = catalog.DESIGNATIONS_FOR.get(action, frozenset({"owner"}))
            designation = context["designation"]
            held_as = (f"is {designation} of project {project}" if designation
                       else f"is not a member of project {project}" if project
                       else "acts outside a project")
            reasons.append(f"role {role_name} grants activity {have[0]} but {principal.name} {held_as}; "
                           f"needs one of {', '.join(sorted(needs))}")
        return "; ".join(dict.fromkeys(reasons)) or "no policy allows it"


def grant_expiry(roles: Iterable[Role], granted_at: datetime | float | str) -> datetime | None:
    """When a grant made at ``granted_at`` expires under the strictest ``max_grant_days`` of
    ``roles`` (None: no role limits it). The service can stamp it on the grant."""
    from datetime import timedelta
    start = parse_time(granted_at, "granted_at")
    days = [r.guardrails.max_grant_days for r in roles if r.guardrails.max_grant_days]
    return start + timedelta(days=min(days)) if days and start else None
