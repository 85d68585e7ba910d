"""A local stand-in for the OCI APIs the function calls: Block Storage backups, Notifications, metrics."""

from devkit.standin.credentials import ResourcePrincipal, make_resource_principal
from devkit.standin.monitoring import PostedMetric
from devkit.standin.ocids import make_ocid, region_key
from devkit.standin.server import RecordedRequest, StandIn
from devkit.standin.state import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Backup,
    BackupKind,
    CopyEnd,
    Fault,
    Garbage,
    KindName,
    Message,
    RouteName,
)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "Backup",
    "BackupKind",
    "CopyEnd",
    "Fault",
    "Garbage",
    "KindName",
    "Message",
    "PostedMetric",
    "RecordedRequest",
    "ResourcePrincipal",
    "RouteName",
    "StandIn",
    "make_ocid",
    "make_resource_principal",
    "region_key",
]
