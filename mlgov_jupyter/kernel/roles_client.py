"""Role manager methods of the client: roles, assignments, previews, projects from profiles."""

from __future__ import annotations

from urllib.parse import quote


class RolesClient:
    """Mixed into Client; uses its ``_call``."""

    def role_catalog(self) -> dict:
        return self._call("GET", "roles/catalog")

    def roles(self) -> list[dict]:
        return self._call("GET", "roles")["roles"]

    def role(self, name: str) -> dict:
        """The role with its mlgov (Cedar) policy and its AWS IAM export."""
        return self._call("GET", f"roles/{quote(name, safe='')}")

    def preview_role(self, role) -> dict:
        return self._call("POST", "roles/preview", body={"role": _dict(role)})

    def create_role(self, role) -> dict:
        """Save a Role (or its dict); e.g. Role.from_persona("ds-no-pii", "data-scientist",
        guardrails=Guardrails(classification_ceiling="confidential"))."""
        return self._call("POST", "roles", body={"role": _dict(role)})

    def update_role(self, role) -> dict:
        role = _dict(role)
        return self._call("PUT", f"roles/{quote(role['name'], safe='')}", body={"role": role})

    def delete_role(self, name: str) -> dict:
        return self._call("DELETE", f"roles/{quote(name, safe='')}")

    def assignments(self) -> list[dict]:
        return self._call("GET", "assignments")["assignments"]

    def assign_role(self, role: str, user: str | None = None, group: str | None = None,
                    projects=()) -> dict:
        body = {"role": role, "user": user, "group": group, "projects": list(projects)}
        return self._call("POST", "assignments", body={k: v for k, v in body.items() if v is not None})

    def unassign_role(self, assignment_id: int) -> dict:
        return self._call("DELETE", f"assignments/{int(assignment_id)}")

    def create_project_from_profile(self, name: str, profile: str, description: str = "") -> dict:
        return self._call("POST", "projects/from-profile",
                          body={"name": name, "profile": profile, "description": description})


def _dict(role) -> dict:
    return role.to_dict() if hasattr(role, "to_dict") else dict(role)
