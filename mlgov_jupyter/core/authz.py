"""The authorization seam: one call decides allow/deny for (principal, action, resource).

The service asks ``Authorizer.decide`` before every operation and nothing else decides.
``DesignationAuthorizer`` is the default policy, built on project designations
(owner, contributor, consumer, viewer, steward) and the global admin flag. The role
manager replaces it through the server's ``authorizer_class`` trait.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

DESIGNATIONS = ("owner", "steward", "contributor", "consumer", "viewer")

# Service actions. Every service operation names exactly one.
PROJECT_CREATE = "project:create"
PROJECT_READ = "project:read"
PROJECT_MANAGE = "project:manage"
CATALOG_SEARCH = "catalog:search"
CATALOG_READ = "catalog:read"
CATALOG_PUBLISH = "catalog:publish"
CATALOG_SUBSCRIBE = "catalog:subscribe"
CATALOG_DECIDE = "catalog:decide"  # approve/reject access requests
CATALOG_REVOKE = "catalog:revoke"
CATALOG_CONSUME = "catalog:consume"
AUDIT_READ = "audit:read"
AUDIT_VERIFY = "audit:verify"
# Added by the role manager (issue 5): cards, monitoring, alerts, roles.
CARD_READ = "card:read"
CARD_CREATE = "card:create"
CARD_EDIT = "card:edit"
CARD_SUBMIT = "card:submit"  # Draft -> PendingReview
CARD_APPROVE = "card:approve"  # PendingReview -> Approved (or back to Draft)
MONITOR_READ = "monitor:read"
MONITOR_RUN = "monitor:run"
MONITOR_MANAGE = "monitor:manage"
ALERT_ACK = "alert:ack"
ROLE_READ = "role:read"
ROLE_MANAGE = "role:manage"

ANYONE = frozenset({PROJECT_CREATE, PROJECT_READ, CATALOG_SEARCH, CATALOG_READ,
                    CATALOG_SUBSCRIBE, AUDIT_VERIFY, CARD_READ, MONITOR_READ})

# action -> designations (on the resource's project) that allow it
BY_DESIGNATION: Mapping[str, frozenset] = {
    PROJECT_MANAGE: frozenset({"owner"}),
    CATALOG_PUBLISH: frozenset({"owner", "contributor", "steward"}),
    CATALOG_DECIDE: frozenset({"owner", "steward"}),
    CATALOG_REVOKE: frozenset({"owner", "steward"}),
    CATALOG_CONSUME: frozenset({"owner", "contributor", "steward", "consumer"}),
    AUDIT_READ: frozenset({"owner", "steward"}),
    CARD_CREATE: frozenset({"owner", "contributor", "steward"}),
    CARD_EDIT: frozenset({"owner", "contributor", "steward"}),
    CARD_SUBMIT: frozenset({"owner", "contributor", "steward"}),
    CARD_APPROVE: frozenset({"owner", "steward"}),
    MONITOR_RUN: frozenset({"owner", "contributor", "steward", "consumer"}),
    MONITOR_MANAGE: frozenset({"owner", "contributor", "steward"}),
    ALERT_ACK: frozenset({"owner", "contributor", "steward"}),
}


@dataclass(frozen=True)
class Principal:
    """The acting user, with what the store knows about them."""

    name: str
    is_admin: bool = False
    groups: tuple = ()
    designations: Mapping[str, str] = field(default_factory=dict)  # project -> designation


@dataclass(frozen=True)
class Resource:
    """What an action is applied to. ``project`` scopes designation checks."""

    type: str
    name: str | None = None
    project: str | None = None
    classification: str | None = None
    owner: str | None = None
    attrs: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


class Authorizer:
    """Interface. Subclasses return a Decision with a reason fit for an error message."""

    def decide(self, principal: Principal, action: str, resource: Resource) -> Decision:
        raise NotImplementedError


class DesignationAuthorizer(Authorizer):
    """Admins may do everything; otherwise the project designation decides."""

    def decide(self, principal: Principal, action: str, resource: Resource) -> Decision:
        if principal.is_admin:
            return Decision(True, f"{principal.name} is an admin")
        if action in ANYONE:
            return Decision(True, f"{action} is open to every user")
        if action == CATALOG_CONSUME and resource.attrs.get("granted"):
            return Decision(True, f"{principal.name} holds an active grant on {resource.name}")
        allowed = BY_DESIGNATION.get(action)
        if allowed is None:
            return Decision(False, f"{principal.name} may not {action}: no rule allows it")
        if not resource.project:
            return Decision(False, f"{principal.name} may not {action}: only admins may, "
                                   f"outside a project")
        designation = principal.designations.get(resource.project)
        if designation in allowed:
            return Decision(True, f"{principal.name} is {designation} of project {resource.project}")
        held = f"is {designation}" if designation else "is not a member"
        return Decision(False, f"{principal.name} may not {action} in project {resource.project}: "
                               f"{held}; needs one of {', '.join(sorted(allowed))}")
