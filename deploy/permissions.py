"""What OCI's verbs grant, and what each call of the function (and its scheduler) needs, region by region.

The verb tables are OCI's "Details for the Core Services" (volume-family) and "Details for
Notifications"; the per-call permissions are OCI's "Permissions Required for Each API Operation" and
"Copying a Boot Volume Backup Between Regions" (source: READ + COPY, destination: CREATE); the tag
grants are the IAM policy reference ("To apply, update, or remove defined tags for a resource, a user
must be granted permissions on the resource and permissions to use the tag namespace"). Custom
metrics: the Monitoring policy reference (`use metrics` grants METRIC_WRITE, which PostMetricData
needs; `target.metrics.namespace` narrows it). The scheduler: Resource Scheduler's example policies
(`any-user` with `request.principal.type = 'resourceschedule'` and the schedule's OCID) with the
Functions resource types it invokes through (`use fn-invocation`, `read fn-function`; which of them
the scheduler's call checks is unconfirmed: both are granted).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from backup_copy.backups import BackupKind
from backup_copy.metrics import NAMESPACE
from deploy.config import DeployConfig, region_key

VERBS = ("inspect", "read", "use", "manage")

# Each verb adds these to the verb before it (inspect < read < use < manage).
_ADDED_BY_VERB: dict[str, tuple[frozenset[str], ...]] = {
    "boot-volume-backups": (
        frozenset({"BOOT_VOLUME_BACKUP_INSPECT"}),
        frozenset({"BOOT_VOLUME_BACKUP_READ"}),
        frozenset({"BOOT_VOLUME_BACKUP_UPDATE", "BOOT_VOLUME_BACKUP_COPY"}),
        frozenset({"BOOT_VOLUME_BACKUP_CREATE", "BOOT_VOLUME_BACKUP_DELETE", "BOOT_VOLUME_BACKUP_MOVE"}),
    ),
    "volume-backups": (
        frozenset({"VOLUME_BACKUP_INSPECT"}),
        frozenset({"VOLUME_BACKUP_READ"}),
        frozenset({"VOLUME_BACKUP_UPDATE", "VOLUME_BACKUP_COPY"}),
        frozenset({"VOLUME_BACKUP_CREATE", "VOLUME_BACKUP_DELETE", "VOLUME_BACKUP_MOVE"}),
    ),
    "volume-group-backups": (
        frozenset({"VOLUME_GROUP_BACKUP_INSPECT"}),
        frozenset(),
        frozenset(),
        frozenset(
            {
                "VOLUME_GROUP_BACKUP_UPDATE",
                "VOLUME_GROUP_BACKUP_CREATE",
                "VOLUME_GROUP_BACKUP_DELETE",
                "VOLUME_GROUP_BACKUP_MOVE",
            }
        ),
    ),
    "volumes": (
        frozenset({"VOLUME_INSPECT"}),
        frozenset(),
        frozenset({"VOLUME_UPDATE", "VOLUME_WRITE"}),
        frozenset({"VOLUME_CREATE", "VOLUME_DELETE", "VOLUME_MOVE"}),
    ),
    "ons-topics": (
        frozenset({"ONS_TOPIC_INSPECT"}),
        frozenset({"ONS_TOPIC_READ"}),
        frozenset({"ONS_TOPIC_PUBLISH", "ONS_TOPIC_SUBSCRIBE"}),
        frozenset({"ONS_TOPIC_CREATE", "ONS_TOPIC_MOVE", "ONS_TOPIC_UPDATE", "ONS_TOPIC_DELETE"}),
    ),
}


def granted_permissions(resource_type: str, verb: str) -> frozenset[str]:
    """Every permission `verb` grants on `resource_type`; empty for a type this table does not know."""
    added = _ADDED_BY_VERB.get(resource_type)
    if added is None or verb not in VERBS:
        return frozenset()
    return frozenset().union(*added[: VERBS.index(verb) + 1])


def known_permissions(resource_type: str) -> frozenset[str]:
    """Every permission OCI documents for `resource_type`."""
    return granted_permissions(resource_type, "manage")


@dataclass(frozen=True)
class Principal:
    """Who asks: the function's dynamic group, or an OCI service acting for it."""

    kind: str  # "dynamic-group", "service", or "any-user" (narrowed by request.principal.* variables)
    name: str
    domain: str | None = None


@dataclass(frozen=True)
class Need:
    """One authorization check a call triggers, with the request variables OCI evaluates it against.

    `permission` is None where OCI documents no permission name for the check; then only a statement
    of at least `verb` whose condition holds without request.permission grants it.
    """

    call: str
    principal: Principal
    resource_type: str
    compartment_id: str
    permission: str | None
    context: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    verb: str = "manage"

    def describe(self) -> str:
        """One line for an error message."""
        what = self.permission or f"{self.verb} {self.resource_type}"
        where = ", ".join(f"{name}={value}" for name, value in sorted(self.context.items()))
        return f"{self.call}: {what} in {self.compartment_id} ({where})"


# Where a tag namespace lives is the tenancy's choice (Oracle-Tags is in the root compartment): no
# statement naming one compartment surely covers it, only a tenancy-wide one.
TAG_NAMESPACE_COMPARTMENT = "(the tag namespace's compartment)"
# Resource Scheduler acts as its schedule: a request principal of this type, with the schedule's OCID.
SCHEDULE_PRINCIPAL = "resourceschedule"


@dataclass(frozen=True)
class _KindCalls:
    noun: str  # as in GetBootVolumeBackup
    resource_type: str
    prefix: str  # as in BOOT_VOLUME_BACKUP_READ
    checks_volumes: bool  # get/list/update of (boot) volume backups also check VOLUME_INSPECT
    documented_copy: bool  # volume group backups have no documented copy permission
    # Deleting a volume group backup deletes its member backups: OCI's Core Services table says
    # DeleteVolumeGroupBackup "also need[s] delete volume backup or delete boot volume backup". A
    # group may hold both kinds, so both are needed.
    members: tuple[BackupKind, ...] = ()


_KINDS = {
    BackupKind.BOOT: _KindCalls("BootVolumeBackup", "boot-volume-backups", "BOOT_VOLUME_BACKUP", True, True),
    BackupKind.VOLUME: _KindCalls("VolumeBackup", "volume-backups", "VOLUME_BACKUP", True, True),
    BackupKind.VOLUME_GROUP: _KindCalls(
        "VolumeGroupBackup",
        "volume-group-backups",
        "VOLUME_GROUP_BACKUP",
        False,
        False,
        (BackupKind.BOOT, BackupKind.VOLUME),
    ),
}


def function_needs(config: DeployConfig) -> list[Need]:
    """Every check the function's calls trigger for the configured regions, topic and keys."""
    group = Principal("dynamic-group", config.dynamic_group_name, config.dynamic_group_domain)
    backups = config.backup_compartment_id
    source = region_key(config.source_region)
    needs: list[Need] = []

    def need(call: str, resource_type: str, permission: str | None, **context: str) -> None:
        needs.append(Need(call, group, resource_type, backups, permission, MappingProxyType(dict(context))))

    def tag_namespace_need(call: str, **context: str) -> None:
        needs.append(
            Need(
                call,
                group,
                "tag-namespaces",
                TAG_NAMESPACE_COMPARTMENT,
                None,
                MappingProxyType(dict(context)),
                "use",
            )
        )

    for kind in BackupKind:
        calls = _KINDS[kind]
        get, copy = f"Get{calls.noun}", f"Copy{calls.noun}"
        need(get, calls.resource_type, f"{calls.prefix}_INSPECT", **_at(source, get))
        # The sweep lists the source region's backups to catch up on missed events.
        listing = f"List{calls.noun}s"
        need(listing, calls.resource_type, f"{calls.prefix}_INSPECT", **_at(source, listing))
        if calls.checks_volumes:
            need(get, "volumes", "VOLUME_INSPECT", **_at(source, get))
        for destination in map(region_key, config.settings.destination_regions):
            if calls.documented_copy:
                need(copy, calls.resource_type, f"{calls.prefix}_READ", **_at(source, copy))
                need(
                    copy,
                    calls.resource_type,
                    f"{calls.prefix}_COPY",
                    **_at(source, copy),
                    **{"target.region": destination},
                )
            else:
                need(copy, calls.resource_type, None, **_at(source, copy))
            # The destination side of a copy is checked in the destination region; under which
            # operation name is not documented, so none is assumed.
            need(copy, calls.resource_type, f"{calls.prefix}_CREATE", **{"request.region": destination})
            calls_made = [(f"List{calls.noun}s", "INSPECT"), (f"Update{calls.noun}", "UPDATE")]
            if config.settings.retention_days is not None:
                calls_made.append((f"Delete{calls.noun}", "DELETE"))  # the sweep's retention
            for call, permission in calls_made:
                need(call, calls.resource_type, f"{calls.prefix}_{permission}", **_at(destination, call))
                if calls.checks_volumes:
                    need(call, "volumes", "VOLUME_INSPECT", **_at(destination, call))
                if permission == "DELETE":
                    for member in map(_KINDS.__getitem__, calls.members):
                        need(call, member.resource_type, f"{member.prefix}_DELETE", **_at(destination, call))
            # The update writes the source's defined tags (and replaces the copy's own, Oracle-Tags
            # defaults included): each namespace written needs `use tag-namespaces`. Without a list
            # of namespaces the need names none, so only an unnarrowed grant meets it.
            update = f"Update{calls.noun}"
            for namespace in config.tag_namespaces or (None,):
                named = {} if namespace is None else {"target.tag-namespace.name": namespace}
                tag_namespace_need(update, **_at(destination, update), **named)

    needs.append(
        Need(
            "PublishMessage",
            group,
            "ons-topics",
            config.topic_compartment_id,
            "ONS_TOPIC_PUBLISH",
            MappingProxyType(_at(region_key(config.topic_region), "PublishMessage")),
        )
    )
    # Events delivers to the function with its own service principal.
    needs.append(
        Need(
            "InvokeFunction",
            Principal("service", "cloudEvents"),
            "functions-family",
            config.function_compartment_id,
            None,
            MappingProxyType({}),
            "use",
        )
    )
    # The sweep posts its RPO and counts, into the function's own compartment, in the source region.
    needs.append(
        Need(
            "PostMetricData",
            group,
            "metrics",
            config.function_compartment_id,
            None,
            MappingProxyType({**_at(source, "PostMetricData"), "target.metrics.namespace": NAMESPACE}),
            "use",
        )
    )
    blockstorage = Principal("service", "blockstorage")
    for region, key in config.settings.destination_kms_key_ids.items():
        context = MappingProxyType({"request.region": region_key(region), "target.key.id": key})
        # Vault's permission names are not tracked here: OCI documents these grants by verb.
        needs.append(
            Need("Copy*Backup", blockstorage, "keys", config.key_compartment_id, None, context, "use")
        )
        needs.append(
            Need("Copy*Backup", group, "key-delegate", config.key_compartment_id, None, context, "use")
        )
    return needs


def scheduler_needs(config: DeployConfig, schedule_id: str) -> list[Need]:
    """What the sweep's schedule needs to start the function: the invocation and reading the function."""
    schedule = MappingProxyType(
        {"request.principal.type": SCHEDULE_PRINCIPAL, "request.principal.id": schedule_id}
    )
    anyone, compartment = Principal("any-user", ""), config.function_compartment_id
    return [
        Need("InvokeFunction", anyone, "fn-invocation", compartment, None, schedule, "use"),
        Need("GetFunction", anyone, "fn-function", compartment, None, schedule, "read"),
    ]


def _at(region: str, operation: str) -> dict[str, str]:
    return {"request.region": region, "request.operation": operation}
