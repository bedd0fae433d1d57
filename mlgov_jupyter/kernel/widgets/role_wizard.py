"""``RoleWizard``: an ipywidgets form that builds a ``Role`` like the Python API does.

Name and persona; activities pre-ticked by the persona; guardrails; AWS settings; users and
groups to assign it to; a live preview of the mlgov (Cedar) policy and of the IAM export;
Save calls ``on_save(role)`` then ``on_assign([Assignment, ...])``.
The wizard only builds the Role through ``core.roles`` -- storing and assigning it is the
caller's (the service's) job::

    RoleWizard(on_save=lambda role: client.create_role(role.to_dict()))
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from mlgov_jupyter.core.errors import GovernanceError, Invalid
from mlgov_jupyter.core.roles import catalog
from mlgov_jupyter.core.roles.cedar import role_policies
from mlgov_jupyter.core.roles.iam import iam_export
from mlgov_jupyter.core.roles.model import Assignment, AwsSettings, CeilingException, Guardrails, Role

from .fallback import NOTE, StaticFallback

NO_LIMIT = "none"


def _items(text: str) -> list:
    """Comma, space or newline separated values."""
    return [t for t in text.replace(",", " ").split() if t]


def _tags(text: str) -> dict:
    tags = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise Invalid(f"tag line {line.strip()!r}: use key=value")
        tags[key.strip()] = value.strip()
    return tags


class RoleWizard(StaticFallback, w.VBox):
    def __init__(self, on_save: Callable[[Role], Any] | None = None, role: Role | None = None, *,
                 on_assign: Callable[[list], Any] | None = None, **kwargs):
        self.on_save = on_save
        self.on_assign = on_assign
        self.saved: Role | None = None
        style = {"description_width": "160px"}
        layout = w.Layout(width="640px")
        txt = lambda label, placeholder="": w.Text(description=label, placeholder=placeholder,
                                                   style=style, layout=layout)
        # step 1: who
        self.name = txt("Role name", "e.g. ds-no-pii")
        self.description = txt("Description")
        self.persona = w.Dropdown(description="Persona", style=style,
                                  options=[(p.title, p.id) for p in catalog.personas()], value="data-scientist")
        self.persona_help = w.HTML()
        # step 2: activities
        self.activity_boxes = {a.id: w.Checkbox(description=a.title, tooltip=a.description, indent=False,
                                                layout=w.Layout(width="300px"))
                               for a in catalog.activities()}
        mlgov = [self.activity_boxes[a.id] for a in catalog.activities() if not a.aws_only]
        aws_only = [self.activity_boxes[a.id] for a in catalog.activities() if a.aws_only]
        activities = w.VBox([w.HTML("<b>mlgov activities</b>"), w.GridBox(mlgov, layout=w.Layout(
            grid_template_columns="repeat(2, 300px)")), w.HTML("<b>AWS-only activities (IAM export)</b>"),
            w.GridBox(aws_only, layout=w.Layout(grid_template_columns="repeat(2, 300px)"))])
        # step 3: guardrails
        levels = [("no ceiling", NO_LIMIT)] + [(c, c) for c in catalog.CLASSIFICATIONS]
        self.ceiling = w.Dropdown(description="Classification ceiling", options=levels, value=NO_LIMIT, style=style)
        self.exception_level = w.Dropdown(description="Exception up to", style=style,
                                          options=[("no exception", NO_LIMIT)] + levels[1:], value=NO_LIMIT)
        self.exception_projects = txt("Exception projects", "all projects if empty")
        self.exception_assets = txt("Exception assets", "all assets if empty")
        self.exception_expires = txt("Exception expires", "ISO time, e.g. 2027-01-31T00:00:00Z")
        self.exception_reason = txt("Exception reason")
        self.max_grant_days = w.BoundedIntText(description="Max grant days", value=0, min=0, max=3650,
                                               style=style, tooltip="0: grants do not expire")
        self.separation_of_duties = w.Checkbox(description="Separation of duties (approver != requester/author)",
                                               value=True, indent=False)
        self.projects = txt("Projects", "all projects if empty")
        guardrails = w.VBox([self.ceiling, self.exception_level, self.exception_projects, self.exception_assets,
                             self.exception_expires, self.exception_reason, self.max_grant_days,
                             self.separation_of_duties, self.projects])
        # step 4: AWS
        self.subnets = txt("VPC subnets", "subnet-...")
        self.security_groups = txt("VPC security groups", "sg-...")
        self.volume_kms = txt("Volume KMS keys", "arn:aws:kms:...")
        self.output_kms = txt("Data (output) KMS keys", "arn:aws:kms:...")
        self.buckets = txt("S3 buckets")
        self.pass_roles = txt("Pass-role ARNs", "default: the role itself")
        self.region = txt("Region", "*")
        self.account = txt("Account id", "*")
        self.managed = w.Textarea(description="Extra managed policy ARNs", placeholder="one per line (at most 20)",
                                  style=style, layout=layout)
        self.tags = w.Textarea(description="Tags", placeholder="key=value, one per line", style=style, layout=layout)
        # step 5: who gets it
        self.assign_users = txt("Assign to users", "bob, carol")
        self.assign_groups = txt("Assign to groups", "JupyterHub groups")
        self.assign_projects = txt("Only in projects", "all projects if empty")
        assign = w.VBox([self.assign_users, self.assign_groups, self.assign_projects])
        aws = w.VBox([self.subnets, self.security_groups, self.volume_kms, self.output_kms, self.buckets,
                      self.pass_roles, self.region, self.account, self.managed, self.tags])
        steps = w.Accordion(children=[w.VBox([self.name, self.description, self.persona, self.persona_help]),
                                      activities, guardrails, aws, assign])
        for i, title in enumerate(("1. Role and persona", "2. ML activities", "3. Guardrails", "4. AWS settings",
                                   "5. Assign")):
            steps.set_title(i, title)
        steps.selected_index = 0
        # preview and save
        self.preview_policy = w.HTML()
        self.preview_iam = w.HTML()
        preview = w.Tab(children=[self.preview_policy, self.preview_iam])
        preview.set_title(0, "mlgov policy (Cedar)")
        preview.set_title(1, "IAM export")
        self.status = w.HTML()
        self.save_button = w.Button(description="Save role", button_style="primary", icon="check")
        self.save_button.on_click(lambda _b: self.save())
        super().__init__([w.HTML("<h3>New role</h3>"), steps, w.HTML("<b>Preview</b>"), preview,
                          w.HBox([self.save_button, self.status])], **kwargs)

        self._loading = False
        self.persona.observe(self._persona_changed, names="value")
        for widget in self._value_widgets():
            widget.observe(lambda _c: self.refresh(), names="value")
        if role is not None:
            self.load(role)
        else:
            self._persona_changed({"new": self.persona.value})

    def _value_widgets(self) -> list:
        return [self.name, self.description, *self.activity_boxes.values(), self.ceiling, self.exception_level,
                self.exception_projects, self.exception_assets, self.exception_expires, self.exception_reason,
                self.max_grant_days, self.separation_of_duties, self.projects, self.subnets,
                self.security_groups, self.volume_kms, self.output_kms, self.buckets, self.pass_roles,
                self.region, self.account, self.managed, self.tags, self.assign_users, self.assign_groups,
                self.assign_projects]

    # -- persona: pre-tick activities and default guardrails ------------------------------------

    def _persona_changed(self, change) -> None:
        p = catalog.persona(change["new"])
        self.persona_help.value = f"<i>{html.escape(p.description)}</i>"
        self._loading = True
        try:
            for act_id, box in self.activity_boxes.items():
                box.value = act_id in p.activities
                box.disabled = p.read_only and catalog.activity(act_id).writes
            if not self._loading_role:
                g = Guardrails.from_dict(p.guardrails)
                self.ceiling.value = g.classification_ceiling or NO_LIMIT
                self.max_grant_days.value = g.max_grant_days or 0
                self.separation_of_duties.value = g.separation_of_duties
        finally:
            self._loading = False
        self.refresh()

    _loading_role = False

    # -- the Role ---------------------------------------------------------------------------

    def role(self) -> Role:
        """The Role the form describes (raises ``Invalid`` like the Python API)."""
        exceptions = []
        if self.exception_level.value != NO_LIMIT:
            exceptions.append(CeilingException(
                classification=self.exception_level.value, projects=_items(self.exception_projects.value),
                assets=_items(self.exception_assets.value), expires=self.exception_expires.value.strip() or None,
                reason=self.exception_reason.value.strip()))
        guardrails = Guardrails(
            classification_ceiling=None if self.ceiling.value == NO_LIMIT else self.ceiling.value,
            ceiling_exceptions=tuple(exceptions), max_grant_days=self.max_grant_days.value or None,
            separation_of_duties=self.separation_of_duties.value, projects=_items(self.projects.value))
        aws = AwsSettings(
            vpc_subnets=_items(self.subnets.value), vpc_security_groups=_items(self.security_groups.value),
            volume_kms_keys=_items(self.volume_kms.value), output_kms_keys=_items(self.output_kms.value),
            s3_buckets=_items(self.buckets.value), pass_role_arns=_items(self.pass_roles.value),
            managed_policy_arns=_items(self.managed.value), tags=_tags(self.tags.value),
            region=self.region.value.strip() or "*", account_id=self.account.value.strip() or "*")
        return Role(name=self.name.value.strip(), persona=self.persona.value,
                    activities=tuple(a for a, box in self.activity_boxes.items() if box.value),
                    guardrails=guardrails, aws=aws, description=self.description.value.strip())

    def assignments(self, role: Role | None = None) -> list:
        """The assignments of step 5 for ``role`` (default: the form's role)."""
        name = (role or self.role()).name
        projects = _items(self.assign_projects.value)
        return ([Assignment(name, user=u, projects=projects) for u in _items(self.assign_users.value)]
                + [Assignment(name, group=g, projects=projects) for g in _items(self.assign_groups.value)])

    def load(self, role: Role) -> None:
        """Fill the form from an existing role (to edit it)."""
        self._loading_role = True
        try:
            self.persona.value = role.persona
            self._persona_changed({"new": role.persona})
        finally:
            self._loading_role = False
        self._loading = True
        try:
            self.name.value, self.description.value = role.name, role.description
            for act_id, box in self.activity_boxes.items():
                box.value = act_id in role.activities
            g = role.guardrails
            self.ceiling.value = g.classification_ceiling or NO_LIMIT
            e = g.ceiling_exceptions[0] if g.ceiling_exceptions else None
            self.exception_level.value = e.classification if e else NO_LIMIT
            self.exception_projects.value = ", ".join(e.projects) if e else ""
            self.exception_assets.value = ", ".join(e.assets) if e else ""
            self.exception_expires.value = e.expires.isoformat() if e and e.expires else ""
            self.exception_reason.value = e.reason if e else ""
            self.max_grant_days.value = g.max_grant_days or 0
            self.separation_of_duties.value = g.separation_of_duties
            self.projects.value = ", ".join(g.projects)
            a = role.aws
            self.subnets.value, self.security_groups.value = ", ".join(a.vpc_subnets), ", ".join(a.vpc_security_groups)
            self.volume_kms.value, self.output_kms.value = ", ".join(a.volume_kms_keys), ", ".join(a.output_kms_keys)
            self.buckets.value, self.pass_roles.value = ", ".join(a.s3_buckets), ", ".join(a.pass_role_arns)
            self.region.value, self.account.value = a.region, a.account_id
            self.managed.value = "\n".join(a.managed_policy_arns)
            self.tags.value = "\n".join(f"{k}={v}" for k, v in a.tags.items())
        finally:
            self._loading = False
        self.refresh()

    # -- preview and save -------------------------------------------------------------------

    def refresh(self) -> Role | None:
        """Recompute the preview; returns the Role, or None (and shows why) when the form is invalid."""
        if self._loading:
            return None
        try:
            role = self.role()
            export = iam_export(role)
            assignments = self.assignments(role)
        except GovernanceError as e:
            self.status.value = f"<span style='color:#b00020'>{html.escape(str(e))}</span>"
            self.save_button.disabled = True
            return None
        self.preview_policy.value = f"<pre>{html.escape(role_policies(role))}</pre>"
        self.preview_iam.value = f"<pre>{html.escape(json.dumps(export, indent=2))}</pre>"
        self.status.value = (f"{len(role.activities)} activities, "
                             f"{len(export['ManagedPolicies'])} generated IAM policies, "
                             f"{len(assignments)} assignments")
        self.save_button.disabled = False
        return role

    def _static_text(self) -> str:
        return f"Role wizard: {self.name.value or 'new role'} (needs a live kernel)"

    def _static_html(self) -> str:
        done = f"saved role {html.escape(self.saved.name)}" if self.saved is not None else "not saved"
        return (f"<div class='mlgov-role-wizard'><b>Role wizard</b>: {html.escape(self.name.value or 'new role')}"
                f" ({html.escape(str(self.persona.value))}), {done}<br>{self.status.value}"
                f"<details><summary>mlgov policy (Cedar)</summary>{self.preview_policy.value}</details>"
                + NOTE.format("Read-only copy: the wizard needs a live kernel (run the cell again).")
                + "</div>")

    def save(self) -> Role | None:
        role = self.refresh()
        if role is None:
            return None
        if self.on_save is not None or self.on_assign is not None:
            try:
                if self.on_save is not None:
                    self.on_save(role)
                if self.on_assign is not None:
                    self.on_assign(self.assignments(role))
            except GovernanceError as e:  # e.g. Conflict: the name is taken
                self.status.value = f"<span style='color:#b00020'>{html.escape(str(e))}</span>"
                return None
        self.saved = role
        self.status.value = f"saved role {html.escape(role.name)}"
        return role
