"""Role manager operations: roles and assignments in the store (the policy every call is decided
by), previews of the mlgov and AWS IAM policies, projects created from a profile."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..core import authz
from ..core import models as m
from ..core.authz import Resource
from ..core.errors import Conflict, Invalid, NotFound
from ..store import tables as t
from .base import DEFAULT_ROLE, POLICY_VERSION, Actor, ServiceBase


def _role(definition: dict):
    from ..core.roles import Role

    if not isinstance(definition, dict):
        raise Invalid("role must be a JSON object")
    return Role.from_dict(definition)


def role_view(row_or_role, created_by: str | None = None) -> dict:
    from ..core.roles import iam_export, role_policies

    role = _role(row_or_role.definition) if hasattr(row_or_role, "definition") else row_or_role
    return {"name": role.name, "role": role.to_dict(), "mlgov_policy": role_policies(role),
            "iam": iam_export(role), "created_by": getattr(row_or_role, "created_by", created_by)}


class RoleService(ServiceBase):
    """Every change of roles or assignments first locks the one policy_state row (``_manage``):
    changes are made one at a time on PostgreSQL too (SQLite's write transactions already are),
    so what a change checks (the role exists, is not assigned, is not assigned twice) still holds
    when it commits (red team R15 F1, F4, F5); and ``_bump_policy`` builds the policy the change
    leaves before it commits, so no change can leave one that Cedar refuses (R15 F8)."""

    def _bump_policy(self, s: Session) -> None:
        s.info.pop(POLICY_VERSION, None)  # read again by the next decision in this transaction
        s.flush()
        try:
            self._build_policy(s)
        except Invalid as exc:
            raise Invalid(f"this change would leave roles that make no valid policy ({exc.message}); "
                          f"nothing was changed") from None
        s.execute(update(t.PolicyState).where(t.PolicyState.id == 1)
                  .values(version=t.PolicyState.version + 1))

    @staticmethod
    def _lock_policy(s: Session) -> None:
        """One role change at a time: the policy_state row locked until commit."""
        s.execute(select(t.PolicyState.id).where(t.PolicyState.id == 1).with_for_update())

    def _manage(self, s: Session, actor: Actor, name: str | None = None) -> None:
        """Locks the policy (one role change at a time), then authorizes."""
        self._lock_policy(s)
        self._authorize(s, actor, authz.ROLE_MANAGE, Resource(type="role", name=name))

    def role_catalog(self, actor: Actor) -> dict:
        from ..core.roles import catalog_document

        with self.store.transaction(write=False) as s:
            self._authorize(s, actor, authz.ROLE_READ, Resource(type="role"))
        return catalog_document()

    def preview_role(self, actor: Actor, body: m.RoleBody) -> dict:
        """The mlgov policy and IAM export a role would have, without saving it."""
        with self.store.transaction(write=False) as s:
            self._authorize(s, actor, authz.ROLE_READ, Resource(type="role"))
        return role_view(_role(body.role))

    def list_roles(self, actor: Actor) -> dict:
        with self.store.transaction(write=False) as s:
            self._authorize(s, actor, authz.ROLE_READ, Resource(type="role"))
            rows = s.execute(select(t.RoleRow).order_by(t.RoleRow.name)).scalars().all()
            assigned = s.execute(select(t.RoleAssignment).order_by(t.RoleAssignment.id)).scalars().all()
            out = []
            for row in rows:
                role = _role(row.definition)
                out.append({"name": role.name, "persona": role.persona, "description": role.description,
                            "activities": list(role.activities),
                            "guardrails": role.guardrails.to_dict(), "created_by": row.created_by,
                            "assigned_to": [_assignment(a) for a in assigned if a.role == row.name]})
            return {"roles": out}

    def get_role(self, actor: Actor, name: str) -> dict:
        with self.store.transaction(write=False) as s:
            self._authorize(s, actor, authz.ROLE_READ, Resource(type="role", name=name))
            return role_view(self._role_row(s, name))

    def _role_row(self, s: Session, name: str) -> t.RoleRow:
        row = s.execute(select(t.RoleRow).where(t.RoleRow.name == name)).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no role named {name!r} (see %mlgov role list)")
        return row

    def save_role(self, actor: Actor, body: m.RoleBody, name: str | None = None) -> dict:
        """Create (name None) or replace a role; the policy changes for everyone at once."""
        role = _role(body.role)
        if role.name == DEFAULT_ROLE:
            raise Conflict(f"{DEFAULT_ROLE} is built in and cannot be defined")
        if name is not None and role.name != name:
            raise Invalid(f"the role body names {role.name!r}, not {name!r}")
        with self.store.transaction() as s:
            self._manage(s, actor, role.name)
            row = s.execute(select(t.RoleRow).where(t.RoleRow.name == role.name)).scalar_one_or_none()
            if name is None and row is not None:
                raise Conflict(f"role {role.name!r} already exists")
            if name is not None and row is None:
                raise NotFound(f"no role named {name!r}")
            if row is None:
                row = t.RoleRow(name=role.name, definition=role.to_dict(), created_by=actor.name)
                s.add(row)
            else:
                row.definition, row.updated_at = role.to_dict(), datetime.now(timezone.utc)
            self._bump_policy(s)
            self._audit(s, actor, "role.update" if name else "role.create", "role", role.name,
                        {"role": role.to_dict()})
            s.flush()
            return role_view(row)

    def delete_role(self, actor: Actor, name: str) -> dict:
        with self.store.transaction() as s:
            self._manage(s, actor, name)
            row = self._role_row(s, name)
            if s.execute(select(t.RoleAssignment.id).where(t.RoleAssignment.role == name)).first():
                raise Conflict(f"role {name!r} is still assigned; remove its assignments first")
            s.delete(row)
            self._bump_policy(s)
            self._audit(s, actor, "role.delete", "role", name)
            return {"deleted": name}

    def list_assignments(self, actor: Actor) -> dict:
        with self.store.transaction(write=False) as s:
            self._authorize(s, actor, authz.ROLE_READ, Resource(type="role"))
            rows = s.execute(select(t.RoleAssignment).order_by(t.RoleAssignment.id)).scalars()
            return {"assignments": [_assignment(a) for a in rows]}

    def assign(self, actor: Actor, body: m.AssignmentCreate) -> dict:
        from ..core.roles import Assignment

        Assignment(role=body.role, user=body.user, group=body.group, projects=body.projects)  # validates
        with self.store.transaction() as s:
            self._manage(s, actor, body.role)
            a = self._add_assignment(s, actor, body.role, body.user, body.group, body.projects)
            return _assignment(a)

    def _add_assignment(self, s: Session, actor: Actor, role: str, user, group, projects) -> t.RoleAssignment:
        self._role_row(s, role)
        dup = s.execute(select(t.RoleAssignment.id).where(
            t.RoleAssignment.role == role, t.RoleAssignment.user == user,
            t.RoleAssignment.group_name == group)).first()
        if dup:
            raise Conflict(f"role {role!r} is already assigned to {user or 'group ' + str(group)}")
        a = t.RoleAssignment(role=role, user=user, group_name=group, projects=list(projects),
                             created_by=actor.name)
        s.add(a)
        s.flush()
        self._bump_policy(s)
        self._audit(s, actor, "role.assign", "role", role,
                    {"user": user, "group": group, "projects": list(projects), "assignment": a.id})
        return a

    def unassign(self, actor: Actor, assignment_id: int) -> dict:
        with self.store.transaction() as s:
            self._lock_policy(s)
            a = s.get(t.RoleAssignment, assignment_id)
            if a is None:
                raise NotFound(f"no role assignment {assignment_id}")
            self._manage(s, actor, a.role)
            s.execute(delete(t.RoleAssignment).where(t.RoleAssignment.id == assignment_id))
            self._bump_policy(s)
            self._audit(s, actor, "role.unassign", "role", a.role,
                        {"user": a.user, "group": a.group_name, "assignment": assignment_id})
            return {"deleted": assignment_id}

    def create_project_from_profile(self, actor: Actor, body: m.ProjectFromProfile) -> dict:
        """A governed project in one step: the profile's roles, assignments and members."""
        from ..core.roles import profile

        setup = profile(body.profile).apply(body.name, actor.name)
        with self.store.transaction() as s:
            self._manage(s, actor)
            p = self._create_project(s, actor, body.name, body.description)
            for role in setup.roles:
                if s.execute(select(t.RoleRow.id).where(t.RoleRow.name == role.name)).first():
                    raise Conflict(f"role {role.name!r} already exists")
                s.add(t.RoleRow(name=role.name, definition=role.to_dict(), created_by=actor.name))
                self._audit(s, actor, "role.create", "role", role.name,
                            {"role": role.to_dict(), "profile": body.profile})
            s.flush()
            for a in setup.assignments:
                self._add_assignment(s, actor, a.role, a.user, a.group, a.projects)
            for member in setup.members:
                if member.get("user") and member["user"] != actor.name:
                    s.add(t.Membership(project_id=p.id, user=member["user"],
                                       designation=member["designation"]))
                    self._audit(s, actor, "project.member.set", "project", body.name,
                                {**member, "project": body.name})
            self._bump_policy(s)
            s.flush()
            from .. import views

            return {"project": views.project(p, self._members(s, p.id)), "profile": body.profile,
                    "roles": [r.name for r in setup.roles],
                    "assignments": [a.to_dict() for a in setup.assignments]}


def _assignment(a: t.RoleAssignment) -> dict:
    return {"id": a.id, "role": a.role, "user": a.user, "group": a.group_name,
            "projects": list(a.projects or []), "created_by": a.created_by}
