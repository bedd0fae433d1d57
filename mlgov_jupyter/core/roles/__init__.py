"""Role manager core: ML activities and personas (package data), roles with guardrails,
the Cedar-backed ``PolicyAuthorizer``, project profiles and the AWS IAM export.

Pure: no tornado, IPython or ipywidgets imports.
"""

from mlgov_jupyter.core.roles.catalog import (
    ALL_ACTIONS,
    CLASSIFICATIONS,
    Activity,
    Persona,
    activities,
    activities_for,
    activity,
    persona,
    personas,
)
from mlgov_jupyter.core.roles.cedar import base_policies, role_policies
from mlgov_jupyter.core.roles.iam import iam_export, iam_policies, iam_statements, trust_policy
from mlgov_jupyter.core.roles.model import Assignment, AwsSettings, CeilingException, Guardrails, Role
from mlgov_jupyter.core.roles.policy import PolicyAuthorizer, grant_expiry
from mlgov_jupyter.core.roles.profiles import ProjectProfile, ProjectSetup, catalog_document, profile, profiles

__all__ = [
    "ALL_ACTIONS",
    "CLASSIFICATIONS",
    "Activity",
    "Assignment",
    "AwsSettings",
    "CeilingException",
    "Guardrails",
    "Persona",
    "PolicyAuthorizer",
    "ProjectProfile",
    "ProjectSetup",
    "Role",
    "activities",
    "activities_for",
    "activity",
    "base_policies",
    "catalog_document",
    "grant_expiry",
    "iam_export",
    "iam_policies",
    "iam_statements",
    "persona",
    "personas",
    "profile",
    "profiles",
    "role_policies",
    "trust_policy",
]
