"""The stand-in's regional state and the behaviour of each operation, without any HTTP."""

import base64
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

import oci

from devkit.standin import monitoring, wire
from devkit.standin.ocids import make_ocid

Clock = Callable[[], datetime]
KindName = Literal["boot", "volume", "volume_group"]
RouteName = Literal["get", "list", "update", "delete", "copy", "publish", "metrics"]
CopyEnd = Literal["AVAILABLE", "FAULTY"]

MAX_MESSAGE_BODY_BYTES = 64 * 1024
# Oracle's reference of the Block Storage API (20160918) for ListBootVolumeBackups, ListVolumeBackups
# and ListVolumeGroupBackups, query parameter `limit`: "1 is the minimum, 1000 is the maximum.
# Default Value: 100" (docs.oracle.com/en/engineered-systems/private-cloud-appliance/3.0-latest/
# ceapi/op-20160918-volumebackups-get.html and its boot volume and volume group siblings). The SDK's
# docstrings of those calls (oci 2.189.0) state no range, only "Example: `50`".
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# COMMITTED: a volume group backup's state between CREATING and AVAILABLE (the SDK's VolumeGroupBackup
# lifecycle states); a group copy in it is still being made.
_IN_PROGRESS = frozenset({"CREATING", "REQUEST_RECEIVED", "COMMITTED"})
_GONE = frozenset({"TERMINATING", "TERMINATED"})
# OCI docs, "Copying a Boot Volume Backup Between Regions", Limitations: "up to ten concurrent
# volume-backup copies per tenancy from a source region".
DEFAULT_MAX_COPIES_IN_FLIGHT = 10


class BackupKind(StrEnum):
    """The three kinds of block volume backup the function copies."""

    BOOT = "boot"
    VOLUME = "volume"
    VOLUME_GROUP = "volume_group"


@dataclass(frozen=True)
class KindSpec:
    """How one kind of backup appears in the Block Storage API and the SDK."""

    kind: BackupKind
    collection: str
    ocid_type: str
    model: str
    copy_details: str
    update_details: str
    source_filter: str | None
    parent_field: str
    parent_filter: str
    parent_ocid_type: str


SPECS: dict[BackupKind, KindSpec] = {
    BackupKind.BOOT: KindSpec(
        BackupKind.BOOT,
        "bootVolumeBackups",
        "bootvolumebackup",
        "BootVolumeBackup",
        "CopyBootVolumeBackupDetails",
        "UpdateBootVolumeBackupDetails",
        "sourceBootVolumeBackupId",
        "boot_volume_id",
        "bootVolumeId",
        "bootvolume",
    ),
    BackupKind.VOLUME: KindSpec(
        BackupKind.VOLUME,
        "volumeBackups",
        "volumebackup",
        "VolumeBackup",
        "CopyVolumeBackupDetails",
        "UpdateVolumeBackupDetails",
        "sourceVolumeBackupId",
        "volume_id",
        "volumeId",
        "volume",
    ),
    BackupKind.VOLUME_GROUP: KindSpec(
        BackupKind.VOLUME_GROUP,
        "volumeGroupBackups",
        "volumegroupbackup",
        "VolumeGroupBackup",
        "CopyVolumeGroupBackupDetails",
        "UpdateVolumeGroupBackupDetails",
        # The SDK's list_volume_group_backups has no source filter.
        None,
        "volume_group_id",
        "volumeGroupId",
        "volumegroup",
    ),
}
SPEC_BY_COLLECTION = {spec.collection: spec for spec in SPECS.values()}
_PARENT_NOUNS = {
    BackupKind.BOOT: "boot volume",
    BackupKind.VOLUME: "volume",
    BackupKind.VOLUME_GROUP: "volume group",
}


class ApiError(Exception):
    """An OCI error answer: HTTP status, OCI error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def not_found(what: str) -> ApiError:
    """OCI's answer for a resource that is missing or not visible to the caller."""
    return ApiError(
        404, "NotAuthorizedOrNotFound", f"Authorization failed or requested resource not found: {what}"
    )


def invalid(message: str) -> ApiError:
    """OCI's answer for a bad parameter."""
    return ApiError(400, "InvalidParameter", message)


@dataclass(frozen=True)
class Backup:
    """A snapshot of one backup as the stand-in holds it."""

    kind: BackupKind
    region: str
    id: str
    compartment_id: str
    display_name: str
    lifecycle_state: str
    time_created: datetime
    source_backup_id: str | None = None
    kms_key_id: str | None = None
    freeform_tags: Mapping[str, str] = field(default_factory=dict)
    defined_tags: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    source_type: str = "MANUAL"
    type: str = "FULL"
    size_in_gbs: int = 50
    parent_id: str | None = None
    available_at: datetime | None = None
    # Set on the copies the stand-in makes; a seeded copy's source region is found from its source.
    source_region: str | None = None
    # Where the copy delay ends: OCI copies can also end FAULTY.
    finishes_as: CopyEnd = "AVAILABLE"
    # When a volume group copy moves from CREATING to COMMITTED (None: it never does).
    committed_at: datetime | None = None
    # Volume group membership (SDK: volume_group_backup_id on a boot volume or volume backup,
    # volume_backup_ids on the group): copying the group copies its members.
    volume_group_backup_id: str | None = None
    member_ids: tuple[str, ...] = ()
    # A boot volume backup of a Marketplace image: OCI refuses to copy it across regions.
    marketplace_image: bool = False
    # The SDK models' deletion locks (None: not set, as OCI leaves them); either refuses a delete.
    is_retention_lock_enabled: bool | None = None
    is_prevent_deletion_enabled: bool | None = None

    def to_model(self) -> Any:
        """The SDK model object for this backup, as the service would return it."""
        spec = SPECS[self.kind]
        common: dict[str, Any] = {
            "id": self.id,
            "compartment_id": self.compartment_id,
            "display_name": self.display_name,
            "lifecycle_state": self.lifecycle_state,
            "time_created": self.time_created,
            "time_request_received": self.time_created,
            "freeform_tags": dict(self.freeform_tags),
            "defined_tags": {ns: dict(values) for ns, values in self.defined_tags.items()},
            "source_type": self.source_type,
            "type": self.type,
            "size_in_gbs": self.size_in_gbs,
            "unique_size_in_gbs": self.size_in_gbs,
            "is_retention_lock_enabled": self.is_retention_lock_enabled,
            "is_prevent_deletion_enabled": self.is_prevent_deletion_enabled,
            spec.parent_field: self.parent_id,
        }
        if self.kind is BackupKind.BOOT:
            return oci.core.models.BootVolumeBackup(
                **common,
                system_tags={},
                kms_key_id=self.kms_key_id,
                source_boot_volume_backup_id=self.source_backup_id,
                volume_group_backup_id=self.volume_group_backup_id,
            )
        if self.kind is BackupKind.VOLUME:
            return oci.core.models.VolumeBackup(
                **common,
                system_tags={},
                kms_key_id=self.kms_key_id,
                source_volume_backup_id=self.source_backup_id,
                volume_group_backup_id=self.volume_group_backup_id,
            )
        return oci.core.models.VolumeGroupBackup(
            **common,
            volume_backup_ids=list(self.member_ids),
            source_volume_group_backup_id=self.source_backup_id,
        )


@dataclass(frozen=True)
class Message:
    """One message published to a topic."""

    topic_id: str
    region: str
    title: str | None
    body: str
    message_id: str
    message_type: str | None


@dataclass(frozen=True)
class Fault:
    """A scripted answer: the next `count` requests to `route` (in `region`, if set) get this error."""

    route: RouteName
    status: int
    code: str
    message: str = "Injected by the OCI stand-in"
    region: str | None = None
    count: int = 1

    def matches(self, route: str, region: str) -> bool:
        """Whether this fault answers a request to `route` in `region`."""
        return self.route == route and self.region in (None, region)


@dataclass(frozen=True)
class Garbage:
    """A scripted answer whose body is not OCI's: the next `count` requests to `route` get `body`.

    Not an answer OCI documents: what a proxy in the way or a service fault can send, a 200 with
    `{}`, an empty body, text that is not JSON, a list where an object belongs, or a proxy's own
    error page (`status` 404 with HTML). The operation does not run.
    """

    route: RouteName
    body: bytes
    status: int = 200
    region: str | None = None
    count: int = 1

    def matches(self, route: str, region: str) -> bool:
        """Whether this answer is due to a request to `route` in `region`."""
        return self.route == route and self.region in (None, region)


# Either kind of scripted answer: an error, or a garbage 200.
Scripted = Fault | Garbage


@dataclass(frozen=True)
class Reply:
    """A successful answer: status, body, extra headers."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CopyLimitRefusal:
    """How the stand-in refuses a copy over a limit; `message` None names the limit hit."""

    # Unconfirmed: configurable. OCI documents the limits but not the status and code of the refusal;
    # its error table lists LimitExceeded as 400, and 409 Conflict/IncorrectState and 429 are plausible.
    status: int = 400
    code: str = "LimitExceeded"
    message: str | None = None


@dataclass(frozen=True)
class Refusal:
    """How the stand-in answers a request OCI refuses with an undocumented status and code."""

    status: int
    code: str
    message: str


# Unconfirmed, so configurable: OCI documents that it refuses these, not how.
# "Copying a Boot Volume Backup Between Regions", Limitations: only boot volumes of platform images
# (or custom images built from them) can be copied; Marketplace-image boot volumes are refused.
MARKETPLACE_REFUSAL = Refusal(
    400,
    "InvalidParameter",
    "Boot volume backups created from Marketplace images (listings) cannot be copied to another region",
)
# The SDK's backup models: is_retention_lock_enabled / is_prevent_deletion_enabled prevent deletion.
DELETION_LOCK_REFUSAL = Refusal(
    409, "Conflict", "The backup has a retention lock or prevent deletion enabled and cannot be deleted"
)


@dataclass(frozen=True)
class _RememberedCall:
    fingerprint: tuple[str, bytes]
    reply: Reply
    # The backup the call created, if any: once it is deleted, the token is invalidated.
    created_id: str | None = None


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode("ascii")


def _page_offset(token: str) -> int:
    try:
        prefix, _, number = base64.urlsafe_b64decode(token.encode("ascii")).decode().partition(":")
        offset = int(number)
    except (ValueError, UnicodeError) as exc:
        raise invalid(f"Invalid page token: {token}") from exc
    if prefix != "offset" or offset < 0:
        raise invalid(f"Invalid page token: {token}")
    return offset


def _first(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


class Cloud:
    """Every region's backups and topics, the retry-token memory, the fault script. Thread-safe."""

    def __init__(
        self,
        regions: list[str],
        copy_delay_seconds: float,
        clock: Clock,
        *,
        one_copy_per_volume: bool = True,
        every_kind_one_at_a_time: bool = False,
        max_copies_in_flight: int | None = DEFAULT_MAX_COPIES_IN_FLIGHT,
        copy_tags_of_every_kind: bool = False,
    ) -> None:
        self.regions = tuple(regions)
        self.copy_delay = timedelta(seconds=copy_delay_seconds)
        self.clock = clock
        self._one_copy_per_volume = one_copy_per_volume
        self._every_kind_one_at_a_time = every_kind_one_at_a_time
        self._max_copies_in_flight = _checked_cap(max_copies_in_flight)
        self._refusal = CopyLimitRefusal()
        self._marketplace_refusal = MARKETPLACE_REFUSAL
        self._deletion_lock_refusal = DELETION_LOCK_REFUSAL
        self._copy_tags_of_every_kind = copy_tags_of_every_kind
        self._copy_outcome: CopyEnd = "AVAILABLE"
        self._lock = threading.RLock()
        self._backups: dict[str, dict[str, Backup]] = {region: {} for region in regions}
        self._topics: dict[str, set[str]] = {region: set() for region in regions}
        self._messages: list[Message] = []
        self._metrics: list[monitoring.PostedMetric] = []
        self._retry_tokens: dict[tuple[str, str, str], _RememberedCall] = {}
        self._faults: list[Scripted] = []
        self._latency: dict[str | None, float] = {}
        self._trickle: dict[str | None, float] = {}

    # Test-facing set-up and inspection.

    def seed(self, backup: Backup) -> None:
        """Store a backup as given; a member of a volume group backup joins its group's members."""
        self._require_region(backup.region)
        with self._lock:
            group_id = backup.volume_group_backup_id
            if group_id is not None:
                group = self._backups[backup.region].get(group_id)
                if (
                    group is None
                    or group.kind is not BackupKind.VOLUME_GROUP
                    or backup.kind is BackupKind.VOLUME_GROUP
                ):
                    raise ValueError(f"{group_id} is not a volume group backup in {backup.region}")
                if backup.id not in group.member_ids:
                    members = (*group.member_ids, backup.id)
                    self._backups[backup.region][group_id] = replace(group, member_ids=members)
            self._backups[backup.region][backup.id] = backup

    def add_topic(self, region: str) -> str:
        """Create a topic in `region` and return its id."""
        self._require_region(region)
        topic_id = make_ocid("onstopic", region)
        with self._lock:
            self._topics[region].add(topic_id)
        return topic_id

    def backups(self, region: str, kind: BackupKind | None) -> list[Backup]:
        """Snapshots of the backups in `region` (of `kind`, if given), oldest first."""
        self._require_region(region)
        with self._lock:
            found = [self._current(b) for b in self._backups[region].values()]
        chosen = [b for b in found if kind is None or b.kind is kind]
        return sorted(chosen, key=lambda b: b.time_created)

    def find_backup(self, backup_id: str) -> Backup | None:
        """The backup with this id in any region."""
        with self._lock:
            for stored in self._backups.values():
                if backup_id in stored:
                    return self._current(stored[backup_id])
        return None

    def messages(self, topic_id: str | None) -> list[Message]:
        """Messages published (to `topic_id`, if given), in order."""
        with self._lock:
            return [m for m in self._messages if topic_id in (None, m.topic_id)]

    def metrics(self, region: str | None) -> list[monitoring.PostedMetric]:
        """Metric objects Monitoring kept (in `region`, if given), in order."""
        with self._lock:
            return [m for m in self._metrics if region in (None, m.region)]

    def script_faults(self, faults: list[Scripted]) -> None:
        """Append faults to the script."""
        for fault in faults:
            if fault.count < 1:
                raise ValueError(f"a fault's count must be at least 1: {fault}")
        with self._lock:
            self._faults.extend(faults)

    def pending_faults(self) -> list[Scripted]:
        """The faults not yet consumed, with their remaining counts."""
        with self._lock:
            return list(self._faults)

    def clear_faults(self) -> None:
        """Drop the rest of the fault script."""
        with self._lock:
            self._faults.clear()

    def take_fault(self, route: str, region: str) -> Scripted | None:
        """The first scripted fault that matches this request, consumed once."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(route, region):
                    if fault.count == 1:
                        del self._faults[index]
                    else:
                        self._faults[index] = replace(fault, count=fault.count - 1)
                    return fault
        return None

    def set_latency(self, seconds: float, route: str | None) -> None:
        """Delay answers to `route` (all routes when None) by `seconds`."""
        with self._lock:
            self._latency[route] = seconds

    def latency(self, route: str) -> float:
        """The delay for `route`: its own setting, else the global one."""
        with self._lock:
            return self._latency.get(route, self._latency.get(None, 0.0))

    def set_trickle(self, seconds_per_byte: float, route: str | None) -> None:
        """Send the body of answers to `route` (all routes when None) one byte per `seconds_per_byte`."""
        with self._lock:
            self._trickle[route] = seconds_per_byte

    def trickle(self, route: str) -> float:
        """The pause between body bytes for `route`: its own setting, else the global one (0: none)."""
        with self._lock:
            return self._trickle.get(route, self._trickle.get(None, 0.0))

    def forget_retry_tokens(self) -> None:
        """Act as if OCI's 24-hour retry-token window had passed."""
        with self._lock:
            self._retry_tokens.clear()

    def set_copy_limits(
        self,
        one_copy_per_volume: bool,
        max_copies_in_flight: int | None,
        every_kind_one_at_a_time: bool = False,
    ) -> None:
        """Switch the per-volume limit and set the per-region cap (None: no cap)."""
        cap = _checked_cap(max_copies_in_flight)
        with self._lock:
            self._one_copy_per_volume = one_copy_per_volume
            self._every_kind_one_at_a_time = every_kind_one_at_a_time
            self._max_copies_in_flight = cap

    def set_copy_limit_refusal(self, refusal: CopyLimitRefusal) -> None:
        """Answer copies over a limit with this status, code and message."""
        with self._lock:
            self._refusal = refusal

    def set_marketplace_refusal(self, refusal: Refusal) -> None:
        """Answer a copy of a Marketplace image's boot volume backup with this refusal."""
        with self._lock:
            self._marketplace_refusal = refusal

    def set_deletion_lock_refusal(self, refusal: Refusal) -> None:
        """Answer a delete of a backup with a retention lock or prevent-deletion with this refusal."""
        with self._lock:
            self._deletion_lock_refusal = refusal

    def set_tag_copying(self, every_kind: bool) -> None:
        """Whether boot volume and volume group copies carry their source's tags (volume copies do)."""
        with self._lock:
            self._copy_tags_of_every_kind = every_kind

    def set_copy_outcome(self, state: CopyEnd) -> None:
        """The state copies made from now on reach when their delay has passed."""
        with self._lock:
            self._copy_outcome = _checked_end(state)

    def copies_in_flight(self, source_region: str | None) -> list[Backup]:
        """Copies still being made (from `source_region`, if given), oldest first."""
        with self._lock:
            everything = [self._current(b) for stored in self._backups.values() for b in stored.values()]
            found = [
                b
                for b in everything
                if b.lifecycle_state in _IN_PROGRESS
                and b.source_backup_id is not None
                and (region := self._source_region(b)) is not None
                and source_region in (None, region)
            ]
        return sorted(found, key=lambda b: b.time_created)

    def finish_copy(self, backup_id: str, state: CopyEnd) -> Backup:
        """End a backup still being made (a copy, usually) in `state`, whatever its delay says."""
        end = _checked_end(state)
        with self._lock:
            for stored in self._backups.values():
                if backup_id in stored:
                    backup = self._current(stored[backup_id])
                    break
            else:
                raise KeyError(backup_id)
            if backup.lifecycle_state not in _IN_PROGRESS:
                raise ValueError(f"backup {backup_id} is {backup.lifecycle_state}, not being made")
            done = replace(backup, lifecycle_state=end, available_at=None, committed_at=None)
            self._backups[backup.region][backup_id] = done
        return done

    def finish_all_copies(self, state: CopyEnd) -> list[Backup]:
        """End every copy in flight, from any region, in `state`."""
        end = _checked_end(state)
        with self._lock:
            return [self.finish_copy(b.id, end) for b in self.copies_in_flight(None)]

    # Block Storage operations.

    def get(self, region: str, spec: KindSpec, backup_id: str) -> Reply:
        """GET one backup."""
        return Reply(200, wire.to_json(self._lookup(region, spec, backup_id).to_model()))

    def list_backups(self, region: str, spec: KindSpec, query: Mapping[str, list[str]]) -> Reply:
        """GET a page of backups, filtered as the API's query parameters say."""
        compartment_id = _first(query, "compartmentId")
        if not compartment_id:
            raise ApiError(400, "MissingParameter", "compartmentId is required")
        filters: dict[str, Callable[[Backup], str | None]] = {
            "lifecycleState": lambda b: b.lifecycle_state.upper(),
            "displayName": lambda b: b.display_name,
            spec.parent_filter: lambda b: b.parent_id,
        }
        if spec.source_filter:
            filters[spec.source_filter] = lambda b: b.source_backup_id
        wanted = {name: value for name in filters if (value := _first(query, name)) is not None}
        # The SDK's list_*_backups docs: "The state value is case-insensitive."
        if "lifecycleState" in wanted:
            wanted["lifecycleState"] = wanted["lifecycleState"].upper()
        found = [
            b
            for b in self.backups(region, spec.kind)
            if b.compartment_id == compartment_id
            and all(filters[name](b) == value for name, value in wanted.items())
        ]
        sort_by = _first(query, "sortBy") or "TIMECREATED"
        if sort_by not in ("TIMECREATED", "DISPLAYNAME"):
            raise invalid(f"Invalid sortBy: {sort_by}")
        order = _first(query, "sortOrder") or ("DESC" if sort_by == "TIMECREATED" else "ASC")
        if order not in ("ASC", "DESC"):
            raise invalid(f"Invalid sortOrder: {order}")
        if sort_by == "TIMECREATED":
            found.sort(key=lambda b: b.time_created, reverse=order == "DESC")
        else:
            # The same docs: "The DISPLAYNAME sort order is case sensitive."
            found.sort(key=lambda b: b.display_name, reverse=order == "DESC")

        limit_text = _first(query, "limit")
        try:
            limit = int(limit_text) if limit_text is not None else DEFAULT_PAGE_SIZE
        except ValueError as exc:
            raise invalid(f"Invalid limit: {limit_text}") from exc
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise invalid(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        page = _first(query, "page")
        offset = _page_offset(page) if page else 0
        chunk = found[offset : offset + limit]
        headers = {}
        if offset + limit < len(found):
            headers["opc-next-page"] = _page_token(offset + limit)
        return Reply(200, wire.to_json([b.to_model() for b in chunk]), headers)

    def update(self, region: str, spec: KindSpec, backup_id: str, body: bytes) -> Reply:
        """PUT a new display name or tags."""
        details = self._parse(body, spec.update_details)
        with self._lock:
            backup = self._lookup(region, spec, backup_id)
            if backup.lifecycle_state in _GONE:
                raise ApiError(409, "IncorrectState", f"Backup {backup_id} is {backup.lifecycle_state}")
            changes: dict[str, Any] = {}
            if details.display_name is not None:
                changes["display_name"] = self._display_name(details.display_name)
            if details.freeform_tags is not None:
                changes["freeform_tags"] = dict(details.freeform_tags)
            if details.defined_tags is not None:
                changes["defined_tags"] = dict(details.defined_tags)
            if getattr(details, "kms_key_id", None) is not None:
                changes["kms_key_id"] = details.kms_key_id
            updated = replace(backup, **changes)
            self._backups[region][backup_id] = updated
        return Reply(200, wire.to_json(updated.to_model()))

    def delete(self, region: str, spec: KindSpec, backup_id: str) -> Reply:
        """DELETE: the backup goes straight to TERMINATED (OCI passes through TERMINATING)."""
        with self._lock:
            backup = self._lookup(region, spec, backup_id)
            # Assumption: deleting a terminated backup succeeds and changes nothing; one still
            # being created cannot be deleted yet.
            if backup.lifecycle_state in _IN_PROGRESS:
                raise ApiError(409, "IncorrectState", f"Backup {backup_id} is {backup.lifecycle_state}")
            # Simplified: a lock refuses every delete, whatever its retention period says.
            if backup.is_retention_lock_enabled or backup.is_prevent_deletion_enabled:
                refusal = self._deletion_lock_refusal
                raise ApiError(refusal.status, refusal.code, f"{refusal.message}: {backup_id}")
            # A volume group backup goes with its members (OCI: DeleteVolumeGroupBackup needs the
            # members' *_DELETE permissions too).
            for gone in (backup_id, *backup.member_ids):
                member = self._backups[region].get(gone)
                if member is not None:
                    self._backups[region][gone] = replace(member, lifecycle_state="TERMINATED")
        return Reply(204)

    def copy(self, region: str, spec: KindSpec, backup_id: str, body: bytes) -> Reply:
        """POST .../actions/copy, sent to the source region: creates the copy in the destination."""
        details = self._parse(body, spec.copy_details)
        with self._lock:
            source = self._lookup(region, spec, backup_id)
            destination = details.destination_region
            if not destination:
                raise invalid("destinationRegion is required")
            if destination == region:
                raise invalid("The destination region must differ from the source region")
            if destination not in self.regions:
                raise invalid(f"Invalid destination region: {destination}")
            if source.lifecycle_state != "AVAILABLE":
                raise ApiError(
                    409,
                    "IncorrectState",
                    f"Backup {backup_id} is {source.lifecycle_state}; only AVAILABLE backups copy",
                )
            if source.marketplace_image:
                refusal = self._marketplace_refusal
                raise ApiError(refusal.status, refusal.code, f"{refusal.message}: {backup_id}")
            # Checked here, under the lock that also stores the copy, so concurrent requests cannot
            # both slip under a limit; a retry-token replay never gets here (StandIn.answer).
            self._check_copy_limits(region, source)
            now = self.clock()
            name = details.display_name
            # OCI documents that a volume backup's tags are copied with it ("Copying a Volume Backup
            # Between Regions"); for boot volume and volume group backups it is unconfirmed, so
            # copy_tags_of_every_kind decides, and by default they arrive untagged.
            tagged = spec.kind is BackupKind.VOLUME or self._copy_tags_of_every_kind
            copy = Backup(
                kind=spec.kind,
                region=destination,
                id=make_ocid(spec.ocid_type, destination),
                compartment_id=source.compartment_id,
                display_name=source.display_name if name is None else self._display_name(name),
                lifecycle_state="CREATING",
                time_created=now,
                source_backup_id=source.id,
                kms_key_id=details.kms_key_id,
                freeform_tags=dict(source.freeform_tags) if tagged else {},
                defined_tags={ns: dict(v) for ns, v in source.defined_tags.items()} if tagged else {},
                source_type=source.source_type,
                type=source.type,
                size_in_gbs=source.size_in_gbs,
                parent_id=source.parent_id,
                available_at=now + self.copy_delay,
                source_region=region,
                finishes_as=self._copy_outcome,
                # A group copy is COMMITTED for the second half of its delay; when OCI commits a
                # group backup is not documented, only that COMMITTED comes between the two.
                committed_at=now + self.copy_delay / 2 if spec.kind is BackupKind.VOLUME_GROUP else None,
            )
            self._backups[destination][copy.id] = copy
        work_request = make_ocid("coreservicesworkrequest", region)
        return Reply(200, wire.to_json(copy.to_model()), {"opc-work-request-id": work_request})

    # Notifications.

    def publish(self, region: str, topic_id: str, body: bytes, message_type: str | None) -> Reply:
        """POST a message to a topic."""
        with self._lock:
            if topic_id not in self._topics[region]:
                raise not_found(f"topic {topic_id}")
        details = self._parse(body, "MessageDetails")
        if details.body is None:
            raise ApiError(400, "MissingParameter", "body is required")
        text = str(details.body)
        if len(text.encode("utf-8")) > MAX_MESSAGE_BODY_BYTES:
            raise invalid(f"The message body exceeds {MAX_MESSAGE_BODY_BYTES} bytes")
        message = Message(topic_id, region, details.title, text, str(uuid.uuid4()), message_type)
        with self._lock:
            self._messages.append(message)
        result = oci.ons.models.PublishResult(message_id=message.message_id, time_stamp=self.clock())
        return Reply(200, wire.to_json(result))

    def post_metrics(self, region: str, body: bytes) -> Reply:
        """POST custom metrics (PostMetricData): keep the valid ones, list the others."""
        details = self._parse(body, "PostMetricDataDetails")
        try:
            kept, failed = monitoring.accept(region, details, self.clock())
        except monitoring.Refused as exc:
            raise invalid(str(exc)) from None
        with self._lock:
            self._metrics.extend(kept)
        summary = oci.monitoring.models.PostMetricDataResponseDetails(
            failed_metrics_count=len(failed), failed_metrics=failed
        )
        return Reply(200, wire.to_json(summary))

    # Retry tokens.

    def remembered(self, key: tuple[str, str, str], fingerprint: tuple[str, bytes]) -> Reply | None:
        """The reply already given for this retry token, if any."""
        with self._lock:
            call = self._retry_tokens.get(key)
        if call is None:
            return None
        if call.fingerprint != fingerprint:
            # Assumption: OCI refuses a token reused for a different request with 409.
            raise ApiError(409, "InvalidatedRetryToken", "The retry token was used for a different request")
        if call.created_id is not None:
            created = self.find_backup(call.created_id)
            if created is None or created.lifecycle_state in _GONE:
                # OCI's error table: 409 InvalidatedRetryToken when the entity the token created has
                # since been deleted.
                raise ApiError(
                    409,
                    "InvalidatedRetryToken",
                    f"The resource {call.created_id} created with this retry token has since been deleted",
                )
        return call.reply

    def remember(
        self,
        key: tuple[str, str, str],
        fingerprint: tuple[str, bytes],
        reply: Reply,
        created_id: str | None = None,
    ) -> None:
        """Keep a successful reply for its retry token, with the id of what it created."""
        with self._lock:
            self._retry_tokens[key] = _RememberedCall(fingerprint, reply, created_id)

    def forget_backup(self, backup_id: str) -> None:
        """Drop a backup from every listing and lookup, as OCI does with a deleted one after a while."""
        with self._lock:
            for stored in self._backups.values():
                stored.pop(backup_id, None)

    # Internals.

    def _require_region(self, region: str) -> None:
        if region not in self._backups:
            raise ValueError(f"region {region} is not served; served: {', '.join(self.regions)}")

    def _current(self, backup: Backup) -> Backup:
        # Copies move on when read: no background work, and an injected clock decides.
        now = self.clock()
        if backup.lifecycle_state in ("CREATING", "COMMITTED") and backup.available_at is not None:
            if now >= backup.available_at:
                moved = replace(
                    backup, lifecycle_state=backup.finishes_as, available_at=None, committed_at=None
                )
            elif backup.committed_at is not None and now >= backup.committed_at:
                moved = replace(backup, lifecycle_state="COMMITTED", committed_at=None)
            else:
                return backup
            with self._lock:
                if self._backups[backup.region].get(backup.id) == backup:
                    self._backups[backup.region][backup.id] = moved
            return moved
        return backup

    def _source_region(self, copy: Backup) -> str | None:
        if copy.source_region is not None:
            return copy.source_region
        for region, stored in self._backups.items():
            if copy.source_backup_id in stored:
                return region
        return None

    def _check_copy_limits(self, region: str, source: Backup) -> None:
        in_flight = self.copies_in_flight(region)
        refusal = self._refusal
        limited = source.kind is BackupKind.BOOT or self._every_kind_one_at_a_time
        if self._one_copy_per_volume and limited:
            # OCI docs, "Copying a Boot Volume Backup Between Regions", Limitations: "you can only copy
            # one backup per boot volume at a time from a specific source region". For volumes and
            # volume groups it is unconfirmed: every_kind_one_at_a_time applies it to them too.
            busy = [b for b in in_flight if b.parent_id == source.parent_id]
            if busy and source.parent_id is not None:
                noun = _PARENT_NOUNS[source.kind]
                raise ApiError(
                    refusal.status,
                    refusal.code,
                    refusal.message
                    or f"Only one copy per {noun} can be in progress from a source region: {noun} "
                    f"{source.parent_id} already has copy {busy[0].id} in progress from {region}",
                )
        cap = self._max_copies_in_flight
        # OCI docs, same page: "up to ten concurrent volume-backup copies per tenancy from a source
        # region". The stand-in serves one tenancy, so the cap counts every copy from the region.
        if cap is not None and len(in_flight) >= cap:
            raise ApiError(
                refusal.status,
                refusal.code,
                refusal.message or f"The limit of {cap} concurrent copies from {region} is reached",
            )

    def _lookup(self, region: str, spec: KindSpec, backup_id: str) -> Backup:
        with self._lock:
            stored = self._backups[region].get(backup_id)
        if stored is None or stored.kind is not spec.kind:
            raise not_found(f"{spec.model} {backup_id}")
        return self._current(stored)

    @staticmethod
    def _parse(body: bytes, type_name: str) -> Any:
        try:
            return wire.from_json(body, type_name)
        except ValueError as exc:
            raise invalid(str(exc)) from exc

    @staticmethod
    def _display_name(name: object) -> str:
        text = str(name)
        if not 1 <= len(text) <= 255:
            raise invalid("displayName must be 1 to 255 characters")
        return text


def _checked_cap(cap: int | None) -> int | None:
    if cap is not None and cap < 0:
        raise ValueError(f"the cap of copies in flight must be 0 or more, or None for none: {cap}")
    return cap


def _checked_end(state: str) -> CopyEnd:
    if state == "AVAILABLE":
        return "AVAILABLE"
    if state == "FAULTY":
        return "FAULTY"
    raise ValueError(f"a copy ends AVAILABLE or FAULTY, not {state}")


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)
