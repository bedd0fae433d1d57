"""The one facade every adapter calls. Each operation takes the acting user, is authorized by
the Authorizer, runs in one transaction and writes its audit event in that same transaction."""

from .audit import AuditService
from .base import Actor
from .cards import CardService
from .catalog import CatalogService
from .deployments import DeploymentService
from .lifecycle import LifecycleService
from .model_versions import ModelVersionService
from .monitoring import MonitoringService
from .monitors import MonitorService
from .notifications import NotificationService
from .roles import RoleService
from .uploads import UploadService
from .vending import VendingService


class GovernanceService(CatalogService, UploadService, CardService, MonitoringService, RoleService,
                        AuditService, ModelVersionService, NotificationService, DeploymentService, MonitorService,
                        LifecycleService, VendingService):
    """All operations; each capability is a mixin over ServiceBase."""


__all__ = ["Actor", "GovernanceService"]
