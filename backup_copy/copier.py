"""The copy decision: what to copy where, over two small ports (the backup store and the notifier).

Pure logic: no SDK, no environment. The OCI gateway implements the ports in production; tests use
hand-written fakes that record what they were asked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from backup_copy.deadline import Deadline
from backup_copy.errors import (
    BackupCopyError,
    ConfigurationError,
    Failed,
    PermanentError,
    TransientError,
)
from backup_copy.events import BackupCreatedEvent, BackupKind
from backup_copy.settings import Settings

if TYPE_CHECKING:
    from backup_copy.sweep import SweepReport

# A copy in one of these states exists or is on its way: a second one would be a duplicate.
LIVE_COPY_STATES = frozenset({"REQUEST_RECEIVED", "CREATING", "AVAILABLE"})
# A source in one of these may still become AVAILABLE: worth a redelivery, not a verdict.
PENDING_SOURCE_STATES = frozenset({"REQUEST_RECEIVED", "CREATING"})
MAX_RETRY_TOKEN = 64
# The freeform tag set on every copy: marks it as made by backup-copy and names its source, so
# operators can find (and clean up) copies, and a redelivery knows the tags are already there.
MARKER_TAG = "backup-copy-source"
# And the volume (or volume group) the source was taken of: retention keeps copies per volume.
VOLUME_TAG = "backup-copy-volume"


class Status(StrEnum):
    """The `status` of every answer."""

    COPIED = "copied"
    ALREADY_COPIED = "already_copied"
    IGNORED = "ignored"
    DRY_RUN = "dry_run"
    REJECTED = "rejected"
    FAILED = "failed"

    @property
    def http_status(self) -> int:
        """200 for deliberate outcomes, 502 for anything that kept a backup from being copied."""
        return 502 if self in (Status.REJECTED, Status.FAILED) else 200


@dataclass(frozen=True)
class SourceBackup:
    """The backup as OCI describes it now (read before copying)."""

    id: str
    kind: BackupKind
    region: str
    compartment_id: str
    display_name: str
    lifecycle_state: str
    source_backup_id: str | None = None
    freeform_tags: Mapping[str, str] = field(default_factory=dict)
    defined_tags: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    source_type: str | None = None
    volume_id: str | None = None
    time_created: datetime | None = None

    def copy_tags(self) -> tuple[dict[str, str], dict[str, dict[str, object]]]:
        """The tags every copy of this backup carries: the source's own, plus the markers."""
        freeform = {**self.freeform_tags, MARKER_TAG: self.id}
        if self.volume_id:
            freeform[VOLUME_TAG] = self.volume_id
        return freeform, {namespace: dict(values) for namespace, values in self.defined_tags.items()}


@dataclass(frozen=True)
class BackupCopy:
    """One copy in a destination region: found there, just requested, or (dry run) planned."""

    region: str
    id: str | None
    state: str
    work_request_id: str | None = None
    # Whether the copy already carries the marker tag (and so the source's tags).
    marked: bool = field(default=False, compare=False)
    display_name: str | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, str | None]:
        """The wire form of the contract: {region, id, state, workRequestId}."""
        return {
            "region": self.region,
            "id": self.id,
            "state": self.state,
            "workRequestId": self.work_request_id,
        }


@dataclass(frozen=True)
class CopyRequest:
    """What is asked of OCI for one destination."""

    destination_region: str
    display_name: str
    kms_key_id: str | None
    retry_token: str


@dataclass(frozen=True)
class RegionFailure:
    """A destination whose copy did not happen (or, as a warning, whose tags were not set), and why."""

    region: str
    reason: str
    error_class: str

    def to_json(self) -> dict[str, str]:
        """The wire form."""
        return {"region": self.region, "reason": self.reason, "class": self.error_class}


class BackupStore(Protocol):
    """Block Storage, as far as this function needs it."""

    def get_backup(self, kind: BackupKind, backup_id: str, region: str, deadline: Deadline) -> SourceBackup:
        """Read a backup in its region."""
        ...

    def find_copies(self, source: SourceBackup, region: str, deadline: Deadline) -> list[BackupCopy]:
        """Every copy of `source` in `region`, whatever its state."""
        ...

    def copy_backup(self, source: SourceBackup, request: CopyRequest, deadline: Deadline) -> BackupCopy:
        """Ask the source region to copy `source` to the request's destination."""
        ...

    def tag_copy(self, source: SourceBackup, copy: BackupCopy, deadline: Deadline) -> None:
        """Set the source's tags and the marker on a copy, in the copy's region."""
        ...

    def list_backups(
        self, kind: BackupKind, compartment_id: str, region: str, deadline: Deadline
    ) -> list[SourceBackup]:
        """Every backup of a kind in a compartment and region, whatever its state."""
        ...

    def delete_backup(self, kind: BackupKind, backup_id: str, region: str, deadline: Deadline) -> None:
        """Delete a backup in its region."""
        ...


class Notifier(Protocol):
    """Notifications, as far as this function needs them."""

    def publish(self, topic_id: str, title: str, body: str, deadline: Deadline) -> str:
        """Publish one message; returns its id."""
        ...


class Gateway(BackupStore, Notifier, Protocol):
    """Everything the function asks of OCI."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one event: the answer, the log line and the notice are made from this."""

    status: Status
    source: str | None = None
    copies: tuple[BackupCopy, ...] = ()
    reason: str | None = None
    event_id: str | None = None
    event_type: str | None = None
    kind: BackupKind | None = None
    source_name: str | None = None
    source_region: str | None = None
    new_copies: tuple[BackupCopy, ...] = ()
    failures: tuple[RegionFailure, ...] = ()
    warnings: tuple[RegionFailure, ...] = ()
    error_class: str | None = None
    # A sweep's report (backup_copy.sweep.SweepReport); None for an event.
    report: SweepReport | None = None

    @classmethod
    def from_error(
        cls,
        error: BackupCopyError,
        *,
        event: BackupCreatedEvent | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """The outcome of an event that failed before any region was tried."""
        return cls(
            status=Status(error.status),
            source=event.data.resource_id if event else None,
            reason=error.reason,
            event_id=event.event_id if event else event_id,
            event_type=event.event_type if event else None,
            kind=event.kind if event else None,
            source_name=event.data.resource_name if event else None,
            source_region=event.backup.region if event else None,
            error_class=error.error_class,
        )

    def to_json(self) -> dict[str, object]:
        """The function's answer: status, source, copies, and a reason when nothing was copied."""
        answer: dict[str, object] = {
            "status": self.status.value,
            "source": self.source,
            "copies": [copy.to_json() for copy in self.copies],
        }
        if self.reason is not None:
            answer["reason"] = self.reason
        if self.failures:
            answer["failures"] = [failure.to_json() for failure in self.failures]
        if self.warnings:
            answer["warnings"] = [warning.to_json() for warning in self.warnings]
        if self.event_id is not None:
            answer["eventId"] = self.event_id
        if self.report is not None:
            answer["sweep"] = self.report.to_json()
        return answer


def retry_token(source_id: str, region: str, failed_copies: Sequence[str] = ()) -> str:
    """The copy's opc-retry-token: the same source and destination always give the same token.

    Derived from what is copied where, never from the event id, so a redelivered event (a new
    delivery, the same backup) replays the first request instead of making a second copy.
    `failed_copies` are the ids of earlier copies in the destination that failed: after a FAULTY
    copy a new request must not be answered with the old one, and ids (not a count) keep that true
    when OCI stops listing an old failure.
    """
    failed = ",".join(sorted(failed_copies))
    digest = hashlib.sha256(f"{source_id}|{region}|{failed}".encode()).hexdigest()
    return f"backup-copy-{digest}"[:MAX_RETRY_TOKEN]


def copy_backup(
    event: BackupCreatedEvent, settings: Settings, store: BackupStore, deadline: Deadline
) -> Outcome:
    """Copy the event's backup to every destination that lacks a live copy of it."""
    backup = event.backup
    if backup.region in settings.destination_regions:
        raise ConfigurationError(
            f"DESTINATION_REGIONS names {backup.region}, the backup's own region: "
            "a backup cannot be copied to the region it is in"
        )
    source = store.get_backup(event.kind, backup.value, backup.region, deadline)
    base = Outcome(
        status=Status.IGNORED,
        source=source.id,
        event_id=event.event_id,
        event_type=event.event_type,
        kind=event.kind,
        source_name=source.display_name,
        source_region=source.region,
    )
    if source.source_backup_id:
        return replace(
            base,
            reason=(
                f"this {event.kind.label} is itself a copy of {source.source_backup_id}; "
                "copies are not copied again"
            ),
        )
    filtered = filter_reason(source, settings)
    if filtered:
        return replace(base, reason=filtered)
    _check_copyable(source)

    fan_out = copy_to_destinations(source, settings, store, deadline)
    if fan_out.failures:
        status = Status.FAILED
        reason: str | None = "; ".join(f"{failure.region}: {failure.reason}" for failure in fan_out.failures)
        error_class: str | None = fan_out.failures[0].error_class
    elif settings.dry_run:
        status, reason, error_class = Status.DRY_RUN, "DRY_RUN is on: nothing was copied", None
    elif fan_out.new:
        status, reason, error_class = Status.COPIED, None, None
    else:
        status, reason, error_class = Status.ALREADY_COPIED, "every destination already has a copy", None
    return replace(
        base,
        status=status,
        copies=fan_out.copies,
        new_copies=fan_out.new,
        failures=fan_out.failures,
        warnings=fan_out.warnings,
        reason=reason,
        error_class=error_class,
    )


@dataclass(frozen=True)
class FanOut:
    """One source's copies across every destination: found, new, failed, and tag warnings."""

    copies: tuple[BackupCopy, ...] = ()
    new: tuple[BackupCopy, ...] = ()
    failures: tuple[RegionFailure, ...] = ()
    warnings: tuple[RegionFailure, ...] = ()


def copy_to_destinations(
    source: SourceBackup, settings: Settings, store: BackupStore, deadline: Deadline
) -> FanOut:
    """Give every destination a live, tagged copy of `source`; each region stands on its own."""
    copies: list[BackupCopy] = []
    new: list[BackupCopy] = []
    failures: list[RegionFailure] = []
    warnings: list[RegionFailure] = []
    for region in settings.destination_regions:
        try:
            copy, made = _copy_to(region, source, settings, store, deadline)
        except Failed as exc:
            failures.append(RegionFailure(region=region, reason=exc.reason, error_class=exc.error_class))
            continue
        copies.append(copy)
        if made:
            new.append(copy)
        if (
            copy.id
            and not copy.marked
            and not settings.dry_run
            and (made or _named_by_us(copy, source, settings))
        ):
            # Tags are worth a warning, never a second copy: the copy stands whatever happens here.
            # A found copy is tagged only if it bears the name this function gives its copies: the
            # marker must never adopt a copy someone else made (retention deletes marked copies).
            try:
                store.tag_copy(source, copy, deadline)
            except Failed as exc:
                warnings.append(
                    RegionFailure(region=region, reason=f"tags not set: {exc.reason}", error_class="tags")
                )
    return FanOut(tuple(copies), tuple(new), tuple(failures), tuple(warnings))


def filter_reason(source: SourceBackup, settings: Settings) -> str | None:
    """Why the configured filters leave this backup out, or None if they let it through."""
    if settings.compartment_ids and source.compartment_id not in settings.compartment_ids:
        return f"compartment {source.compartment_id} is not in COMPARTMENT_IDS"
    if source.source_type and source.source_type.upper() not in settings.source_types:
        allowed = ", ".join(sorted(settings.source_types))
        return f"source type {source.source_type} is not in SOURCE_TYPES ({allowed})"
    if settings.required_tag:
        key, value = settings.required_tag
        if source.freeform_tags.get(key) != value:
            return f"the backup lacks the freeform tag {key}={value} (REQUIRED_TAG)"
    return None


def _check_copyable(source: SourceBackup) -> None:
    state = source.lifecycle_state
    if state == "AVAILABLE":
        return
    if state in PENDING_SOURCE_STATES:
        raise TransientError(
            f"the backup is {state}, not yet AVAILABLE; a redelivery of the event will copy it",
            operation="get",
            region=source.region,
        )
    raise PermanentError(
        f"the backup is {state}: only an AVAILABLE backup can be copied",
        operation="get",
        region=source.region,
    )


def _copy_name(source: SourceBackup, region: str, settings: Settings) -> str:
    return settings.display_name(
        name=source.display_name,
        source_region=source.region,
        destination_region=region,
        source_id=source.id,
        kind=source.kind.label,
    )


def _named_by_us(copy: BackupCopy, source: SourceBackup, settings: Settings) -> bool:
    return copy.display_name == _copy_name(source, copy.region, settings)


def _copy_to(
    region: str, source: SourceBackup, settings: Settings, store: BackupStore, deadline: Deadline
) -> tuple[BackupCopy, bool]:
    """The live copy in `region` (found or new), and whether this call made it."""
    found = store.find_copies(source, region, deadline)
    live = [copy for copy in found if copy.state in LIVE_COPY_STATES]
    if live:
        return live[0], False
    if settings.dry_run:
        return BackupCopy(region=region, id=None, state="PLANNED"), False
    request = CopyRequest(
        destination_region=region,
        display_name=_copy_name(source, region, settings),
        kms_key_id=settings.destination_kms_key_ids.get(region),
        retry_token=retry_token(source.id, region, [copy.id for copy in found if copy.id]),
    )
    return store.copy_backup(source, request, deadline), True


def new_backup_ids(copies: Sequence[BackupCopy]) -> list[str]:
    """The OCIDs of copies that exist (planned copies have none)."""
    return [copy.id for copy in copies if copy.id]
