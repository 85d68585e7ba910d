"""What an invocation ends in: the status, and the outcome of an event or of a sweep.

The answer, the log line and the notice are all made from these (backup_copy.wire, .notice).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from backup_copy.backups import BackupCopy, BackupKind, RegionFailure
from backup_copy.errors import BackupCopyError


class Status(StrEnum):
    """The `status` of every answer."""

    COPIED = "copied"
    QUEUED = "queued"
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
class CopyOutcome:
    """What happened to one event (or one request body that was not an event we act on)."""

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
    # Destinations held back by OCI's copy limits, and why; the sweep copies them.
    waiting: tuple[RegionFailure, ...] = ()
    error_class: str | None = None

    @classmethod
    def from_error(
        cls,
        error: BackupCopyError,
        *,
        event_id: str | None = None,
        event_type: str | None = None,
        source: str | None = None,
        kind: BackupKind | None = None,
        source_name: str | None = None,
        source_region: str | None = None,
    ) -> CopyOutcome:
        """The outcome of an event that failed before any region was tried."""
        return cls(
            status=Status(error.status),
            source=source,
            reason=error.reason,
            event_id=event_id,
            event_type=event_type,
            kind=kind,
            source_name=source_name,
            source_region=source_region,
            error_class=error.error_class,
        )


@dataclass(frozen=True)
class Expiry:
    """A copy retention deleted (or, in a dry run, would delete)."""

    region: str
    id: str
    volume: str
    age_days: float
    deleted: bool


@dataclass(frozen=True)
class KeptCopy:
    """A copy of this deployment's backups, past RETENTION_DAYS, that retention may not delete, and why."""

    region: str
    id: str
    source: str
    reason: str


@dataclass(frozen=True)
class RpoLine:
    """The newest good copy of one source volume in one destination."""

    volume: str
    region: str
    newest_available_id: str | None
    age_hours: float | None
    latest_state: str | None
    flag: str | None
    # Copies of this volume's backups waiting on OCI's copy limits, and the oldest one's backup time.
    queued: int = 0
    queued_since: datetime | None = None


@dataclass(frozen=True)
class SourceCopy:
    """A copy the sweep requested, and the source backup it copies."""

    source: str
    copy: BackupCopy
    # Earlier copies of the source in that region that ended FAULTY: this copy is their retry.
    replaces: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueuedCopy:
    """A (source backup, destination) pair waiting on OCI's copy limits, and since when."""

    source: str
    region: str
    volume: str
    since: datetime | None
    reason: str


@dataclass(frozen=True)
class SourceFailure:
    """A failure the sweep met, and what it was about (a source backup, a copy, a compartment or a region)."""

    subject: str
    failure: RegionFailure

    @classmethod
    def internal(
        cls, subject: str, region: str, exc: Exception, *, during: str | None = None
    ) -> SourceFailure:
        """A bug met in one part of the sweep, as its entry (the caller logs the traceback)."""
        what = f"{during}: " if during else ""
        return cls(
            subject, RegionFailure(region, f"{what}internal error: {type(exc).__name__}: {exc}", "error")
        )


@dataclass(frozen=True)
class SweepReport:
    """What one sweep found, copied, left, expired and measured."""

    source_region: str
    examined: int
    copied: tuple[SourceCopy, ...] = ()
    failures: tuple[SourceFailure, ...] = ()
    left: tuple[str, ...] = ()
    queued: tuple[QueuedCopy, ...] = ()
    expired: tuple[Expiry, ...] = ()
    rpo: tuple[RpoLine, ...] = ()
    notes: tuple[str, ...] = ()
    # Copies left untagged (tags not set, or found without the marker): retention never deletes them.
    warnings: tuple[SourceFailure, ...] = ()
    kept: tuple[KeptCopy, ...] = ()

    @property
    def flagged(self) -> tuple[RpoLine, ...]:
        """The volume and region pairs past the RPO, or whose latest copy failed."""
        return tuple(line for line in self.rpo if line.flag)


@dataclass(frozen=True)
class SweepOutcome:
    """What one sweep ended in: its report, or (before it could start) only the reason it failed."""

    status: Status
    report: SweepReport | None = None
    reason: str | None = None
    error_class: str | None = None
    # A sweep is about no single backup and no event: the log context and answer leave these out.
    source: None = None
    event_id: None = None

    @classmethod
    def from_error(cls, error: BackupCopyError) -> SweepOutcome:
        """A sweep that failed before it could look at anything."""
        return cls(status=Status(error.status), reason=error.reason, error_class=error.error_class)

    @property
    def new_copies(self) -> tuple[BackupCopy, ...]:
        """The copies this sweep requested."""
        return tuple(item.copy for item in self.report.copied) if self.report else ()


Outcome = CopyOutcome | SweepOutcome
