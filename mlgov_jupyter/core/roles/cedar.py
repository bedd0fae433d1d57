"""Roles -> Cedar policies (https://www.cedarpolicy.com), the policy mlgov enforces.

The text is what the wizard previews and what ``PolicyAuthorizer`` parses once. Every policy
carries an ``@id`` annotation that the authorizer maps back to a role, activity or guardrail
for the decision's reason. The request context the policies read:

- ``roles``: names of the caller's roles that apply to the request (assignment scope resolved)
- ``is_admin``, ``project`` ("" if none), ``designation`` (on that project, "" if none)
- ``classification`` (rank: public 0 < internal 1 < confidential 2 < pii 3), ``asset`` (name)
- ``self_involved``: the caller requested (access requests) or authored/owns (cards) the resource
- ``granted``: ``catalog:consume`` with an active grant (``Resource.attrs["granted"]``)
- ``grant_age`` (seconds since the grant, -1 unknown), ``grant_expired``, ``now`` (epoch s)
"""

from __future__ import annotations

from mlgov_jupyter.core.roles import catalog
from mlgov_jupyter.core.roles.model import Role

CONSUME = 'Action::"catalog:consume"'


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}


def _s(text: str) -> str:
    """``text`` as a Cedar string literal: quotes, backslashes and control characters escaped
    Cedar's way (``\\n``, ``\\u{85}``), every other character as it is. JSON's escapes are not
    all Cedar's: ``json.dumps("café")`` writes ``\\u00e9``, which Cedar refuses (red team R15 F8)."""
    return '"' + "".join(_ESCAPES.get(c) or (f"\\u{{{ord(c):x}}}" if ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0 else c)
                         for c in text) + '"'


def _set(items) -> str:
    return "[" + ", ".join(_s(i) for i in items) + "]"


def _actions(actions) -> str:
    return "[" + ", ".join(f"Action::{_s(a)}" for a in actions) + "]"


def role_condition(role: Role, scoped: bool, granted: bool = False) -> str:
    """Holding the role; for project-scoped actions, the role covering the project. With
    ``granted``, an active grant (personal, it follows the holder) also covers it."""
    cond = f"context.roles.contains({_s(role.name)})"
    if scoped and role.guardrails.projects:
        scope = f"{_set(role.guardrails.projects)}.contains(context.project)"
        cond += f" && (context.granted || {scope})" if granted else f" && {scope}"
    return cond


def _exception(e, now_key: str = "context.now") -> str:
    parts = [f"context.classification <= {catalog.rank(e.classification)}"]
    if e.projects:
        parts.append(f"{_set(e.projects)}.contains(context.project)")
    if e.assets:
        parts.append(f"{_set(e.assets)}.contains(context.asset)")
    if e.expires is not None:
        parts.append(f"{now_key} < {int(e.expires.timestamp())}")
    return "(" + " && ".join(parts) + ")"


def role_policy_list(role: Role) -> list:
    """The role's policies as (Cedar text, actions it can match) pairs: a permit per activity
    (and designation set), a forbid per guardrail. The first item is the header comment."""
    header = f"// role {role.name}: persona {role.persona}"
    aws_only = [a for a in role.activities if catalog.activity(a).aws_only]
    if aws_only:
        header += f"\n// AWS-only activities (IAM export, no mlgov action): {', '.join(aws_only)}"
    out = [(header, frozenset())]
    for act_id in role.activities:
        act = catalog.activity(act_id)
        open_actions = [a for a in act.actions if a in catalog.OPEN_ACTIONS]
        scoped = [a for a in act.actions if a not in catalog.OPEN_ACTIONS]
        ann = f'@id({_s(f"allow:{role.name}:{act.id}")})'
        if open_actions:
            out.append((f"{ann}\npermit (principal, action in {_actions(open_actions)}, resource)\n"
                        f"when {{ {role_condition(role, scoped=False)} }};", frozenset(open_actions)))
        groups: dict = {}
        for a in scoped:
            needs = catalog.DESIGNATIONS_FOR.get(a, frozenset({"owner"})) if act.membership else None
            groups.setdefault((needs, a == "catalog:consume"), []).append(a)
        groups = {needs: acts for (needs, _), acts in groups.items()}
        for needs, acts in groups.items():
            if acts == ["catalog:consume"]:  # a member of the project, or an active grant
                member = []
                if role.guardrails.projects:
                    member.append(f"{_set(role.guardrails.projects)}.contains(context.project)")
                if needs is not None:
                    member.append(f"{_set(sorted(needs))}.contains(context.designation)")
                cond = f"context.roles.contains({_s(role.name)})"
                if member:
                    cond += f" && (context.granted || ({' && '.join(member)}))"
                out.append((f"{ann}\npermit (principal, action in {_actions(acts)}, resource)\n"
                            f"when {{ {cond} }};", frozenset(acts)))
                continue
            cond = role_condition(role, scoped=True)
            if needs is not None:
                cond += f" && {_set(sorted(needs))}.contains(context.designation)"
            out.append((f"{ann}\npermit (principal, action in {_actions(acts)}, resource)\n"
                        f"when {{ {cond} }};", frozenset(acts)))
    g = role.guardrails
    held = role_condition(role, scoped=True)
    held_or_granted = role_condition(role, scoped=True, granted=True)
    consume = frozenset({"catalog:consume"})
    if g.classification_ceiling is not None:
        text = (f'@id({_s(f"ceiling:{role.name}")})\n'
                f"forbid (principal, action == {CONSUME}, resource)\n"
                f"when {{ {held_or_granted} && context.classification > {catalog.rank(g.classification_ceiling)} }}")
        if g.ceiling_exceptions:
            text += "\nunless { " + " || ".join(_exception(e) for e in g.ceiling_exceptions) + " }"
        out.append((text + ";", consume))
    if g.max_grant_days is not None:
        out.append((f'@id({_s(f"max-grant:{role.name}")})\n'
                    f"forbid (principal, action == {CONSUME}, resource)\n"
                    f"when {{ {held_or_granted} && context.grant_age > {g.max_grant_days * 86400} }};", consume))
    if g.separation_of_duties:
        out.append((f'@id({_s(f"sod:{role.name}")})\n'
                    f"forbid (principal, action in {_actions(sorted(catalog.APPROVE_ACTIONS))}, resource)\n"
                    f"when {{ {held} && context.self_involved }};", catalog.APPROVE_ACTIONS))
    return out


def role_policies(role: Role) -> str:
    """The Cedar policies of one role, as the wizard previews them."""
    return "\n\n".join(text for text, _ in role_policy_list(role)) + "\n"


def base_policies(admin_separation_of_duties: bool = True) -> str:
    """Policies independent of roles: admins, expired grants, admin separation of duties."""
    out = ['@id("admin")\npermit (principal, action, resource)\nwhen { context.is_admin };',
           f'@id("grant-expired")\nforbid (principal, action == {CONSUME}, resource)\n'
           f"when {{ context.grant_expired }};"]
    if admin_separation_of_duties:
        out.append(f'@id("admin-sod")\nforbid (principal, action in '
                   f"{_actions(sorted(catalog.APPROVE_ACTIONS))}, resource)\n"
                   f"when {{ context.is_admin && context.self_involved }};")
    return "// mlgov base policies\n" + "\n\n".join(out) + "\n"


CONTEXT_TYPE = {"type": "Record", "attributes": {
    "roles": {"type": "Set", "element": {"type": "String"}},
    "is_admin": {"type": "Boolean"}, "project": {"type": "String"}, "designation": {"type": "String"},
    "classification": {"type": "Long"}, "asset": {"type": "String"}, "self_involved": {"type": "Boolean"},
    "granted": {"type": "Boolean"}, "grant_age": {"type": "Long"}, "grant_expired": {"type": "Boolean"},
    "now": {"type": "Long"},
}}


def schema() -> dict:
    """The Cedar schema of mlgov requests: ``User`` principals, ``Resource`` resources, one
    action per service action, the context above. Policies are validated against it."""
    applies = {"principalTypes": ["User"], "resourceTypes": ["Resource"], "context": CONTEXT_TYPE}
    return {"": {"entityTypes": {"User": {}, "Resource": {}},
                 "actions": {a: {"appliesTo": applies} for a in catalog.ALL_ACTIONS}}}
