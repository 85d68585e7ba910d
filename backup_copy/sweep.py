"""The sweep: copy what events missed, expire what the function made, report the RPO.

Invoked with {"action": "sweep"} (from a schedule, a cron `fn invoke`, or by hand). Same ports,
same per-destination fan-out, retry tokens and notices as the event path; pure logic over them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from backup_copy.copier import (
    LIVE_COPY_STATES,
    MARKER_TAG,
    VOLUME_TAG,
    BackupCopy,
    BackupStore,
    Outcome,
    RegionFailure,
    SourceBackup,
    Status,
    copy_to_destinations,
    filter_reason,
)
from backup_copy.deadline import Deadline
from backup_copy.errors import ConfigurationError, Failed
from backup_copy.events import BackupKind
from backup_copy.settings import Settings

# Time kept back from the deadline to finish the report and publish it.
SWEEP_RESERVE_SECONDS = 8.0
_GONE = frozenset({"TERMINATING", "TERMINATED"})


@dataclass(frozen=True)
class Expiry:
    """A copy retention deleted (or, in a dry run, would delete)."""

    region: str
    id: str
    volume: str
    age_days: float
    deleted: bool

    def to_json(self) -> dict[str, object]:
        """The wire form."""
        return {
            "region": self.region,
            "id": self.id,
            "volume": self.volume,
            "ageDays": round(self.age_days, 2),
            "deleted": self.deleted,
        }


@dataclass(frozen=True)
class RpoLine:
    """The newest good copy of one source volume in one destination."""

    volume: str
    region: str
    newest_available_id: str | None
    age_hours: float | None
    latest_state: str | None
    flag: str | None

    def to_json(self) -> dict[str, object]:
        """The wire form."""
        return {
            "volume": self.volume,
            "region": self.region,
            "newestAvailableId": self.newest_available_id,
            "ageHours": None if self.age_hours is None else round(self.age_hours, 2),
            "latestState": self.latest_state,
            "flag": self.flag,
        }


@dataclass(frozen=True)
class SweepReport:
    """What one sweep found, copied, left, expired and measured."""

    source_region: str
    examined: int
    copied: tuple[tuple[str, BackupCopy], ...] = ()
    failures: tuple[tuple[str, RegionFailure], ...] = ()
    left: tuple[str, ...] = ()
    expired: tuple[Expiry, ...] = ()
    rpo: tuple[RpoLine, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def flagged(self) -> tuple[RpoLine, ...]:
        """The volume and region pairs past the RPO, or whose latest copy failed."""
        return tuple(line for line in self.rpo if line.flag)

    def title(self, dry_run: bool) -> str:
        """A subject line a person can act on."""
        verb = "would copy" if dry_run else "copied"
        parts = [f"{verb} {len(self.copied)}"]
        if self.expired:
            parts.append(f"{'would delete' if dry_run else 'deleted'} {len(self.expired)}")
        if self.failures:
            parts.append(f"{len(self.failures)} FAILED")
        if self.left:
            parts.append(f"{len(self.left)} left for the next run")
        parts.append(f"{len(self.flagged)} past RPO" if self.flagged else "RPO met")
        return f"Backup sweep of {self.source_region}: " + ", ".join(parts)

    def to_json(self) -> dict[str, object]:
        """The report, for the answer and the notice."""
        return {
            "sourceRegion": self.source_region,
            "examined": self.examined,
            "copied": [{"source": source, **copy.to_json()} for source, copy in self.copied],
            "failures": [{"source": source, **failure.to_json()} for source, failure in self.failures],
            "left": list(self.left),
            "expired": [expiry.to_json() for expiry in self.expired],
            "rpo": [line.to_json() for line in self.rpo],
            "notes": list(self.notes),
        }


@dataclass
class _Listing:
    """Backups found in the destinations, grouped for the lookups the sweep makes."""

    copies: dict[str, list[SourceBackup]] = field(default_factory=lambda: defaultdict(list))

    def has_live_copy(self, source_id: str, region: str) -> bool:
        return any(
            c.source_backup_id == source_id and c.lifecycle_state in LIVE_COPY_STATES
            for c in self.copies[region]
        )


def sweep(settings: Settings, store: BackupStore, deadline: Deadline, now: datetime) -> Outcome:
    """Catch up on missed copies, apply retention, and report the RPO per source volume."""
    region = _sweep_region(settings)
    failures: list[tuple[str, RegionFailure]] = []
    notes: list[str] = []
    listing = _Listing()
    for destination in settings.destination_regions:
        for backup in _list_all(settings, store, destination, deadline, failures):
            listing.copies[destination].append(backup)

    since = now - timedelta(hours=settings.sweep_lookback_hours)
    sources = [
        backup
        for backup in _list_all(settings, store, region, deadline, failures)
        if backup.lifecycle_state == "AVAILABLE"
        and not backup.source_backup_id
        and backup.time_created is not None
        and backup.time_created >= since
        and filter_reason(backup, settings) is None
    ]
    # Oldest first: they are the nearest to leaving the look-back window.
    sources.sort(key=lambda backup: backup.time_created or now)

    copied, left = _catch_up(
        settings, store, deadline=deadline, now=now, sources=sources, listing=listing, failures=failures
    )
    if left:
        notes.append("time ran out: the backups in 'left' are copied by the next sweep")

    expired: list[Expiry] = []
    if settings.retention_days is not None:
        if deadline.remaining() < SWEEP_RESERVE_SECONDS:
            notes.append("time ran out before retention: it runs in the next sweep")
        else:
            expired = _expire(
                settings, store, listing, deadline=deadline, now=now, failures=failures, notes=notes
            )
    gone = {expiry.id for expiry in expired if expiry.deleted}
    rpo = _rpo(settings, listing, sources, gone, now)

    report = SweepReport(
        source_region=region,
        examined=len(sources),
        copied=tuple(copied),
        failures=tuple(failures),
        left=tuple(left),
        expired=tuple(expired),
        rpo=tuple(rpo),
        notes=tuple(notes),
    )
    status, reason, error_class = _verdict(settings, copied, failures, left)
    return Outcome(
        status=status,
        copies=tuple(copy for _, copy in copied),
        new_copies=tuple(copy for _, copy in copied),
        reason=reason,
        error_class=error_class,
        source_region=region,
        event_type="sweep",
        report=report,
    )


def _sweep_region(settings: Settings) -> str:
    region = settings.sweep_source_region
    if region is None:
        raise ConfigurationError(
            "SWEEP_REGION: is not set, and the function's own region "
            "(OCI_RESOURCE_PRINCIPAL_REGION) is unknown"
        )
    if not settings.sweep_compartment_ids:
        raise ConfigurationError("SWEEP_COMPARTMENT_IDS: is required but not set (the compartments to sweep)")
    if region in settings.destination_regions:
        raise ConfigurationError(f"DESTINATION_REGIONS names {region}, the sweep's own region")
    return region


def _catch_up(
    settings: Settings,
    store: BackupStore,
    *,
    deadline: Deadline,
    now: datetime,
    sources: list[SourceBackup],
    listing: _Listing,
    failures: list[tuple[str, RegionFailure]],
) -> tuple[list[tuple[str, BackupCopy]], list[str]]:
    """Copy each source that lacks a copy somewhere; what time does not allow is left."""
    copied: list[tuple[str, BackupCopy]] = []
    for index, source in enumerate(sources):
        if _complete(listing, source, settings):
            continue
        if deadline.remaining() < SWEEP_RESERVE_SECONDS:
            return copied, [s.id for s in sources[index:] if not _complete(listing, s, settings)]
        fan_out = copy_to_destinations(source, settings, store, deadline)
        # Under DRY_RUN the planned copies are what the report is for.
        made = [c for c in fan_out.copies if c.state == "PLANNED"] if settings.dry_run else fan_out.new
        copied += [(source.id, copy) for copy in made]
        failures += [(source.id, failure) for failure in fan_out.failures]
        for copy in fan_out.copies:
            if copy.id and copy.id not in {c.id for c in listing.copies[copy.region]}:
                listing.copies[copy.region].append(_as_backup(source, copy, now))
    return copied, []


def _verdict(
    settings: Settings,
    copied: list[tuple[str, BackupCopy]],
    failures: list[tuple[str, RegionFailure]],
    left: list[str],
) -> tuple[Status, str | None, str | None]:
    if failures:
        reason = "; ".join(f"{source}: {f.region}: {f.reason}" for source, f in failures)
        return Status.FAILED, reason, failures[0][1].error_class
    if left:
        # Backups still without their copies: as loud as any failure, though the next sweep mends it.
        return Status.FAILED, f"time ran out with {len(left)} backup(s) left for the next sweep", "transient"
    if settings.dry_run:
        return Status.DRY_RUN, "DRY_RUN is on: nothing was copied or deleted", None
    if copied:
        return Status.COPIED, None, None
    return Status.ALREADY_COPIED, "every backup in the window has its copies", None


def _list_all(
    settings: Settings,
    store: BackupStore,
    region: str,
    deadline: Deadline,
    failures: list[tuple[str, RegionFailure]],
) -> list[SourceBackup]:
    found: list[SourceBackup] = []
    for compartment in sorted(settings.sweep_compartment_ids):
        for kind in BackupKind:
            try:
                found += store.list_backups(kind, compartment, region, deadline)
            except Failed as exc:
                failures.append(
                    (compartment, RegionFailure(region, f"listing failed: {exc.reason}", exc.error_class))
                )
    return found


def _complete(listing: _Listing, source: SourceBackup, settings: Settings) -> bool:
    return all(listing.has_live_copy(source.id, d) for d in settings.destination_regions)


def _as_backup(source: SourceBackup, copy: BackupCopy, now: datetime) -> SourceBackup:
    """A copy just requested, as the next listing would show it (for retention and the report)."""
    freeform, _ = source.copy_tags()
    return SourceBackup(
        id=str(copy.id),
        kind=source.kind,
        region=copy.region,
        compartment_id=source.compartment_id,
        display_name=source.display_name,
        lifecycle_state=copy.state,
        source_backup_id=source.id,
        freeform_tags=freeform,
        volume_id=source.volume_id,
        time_created=now,
    )


def _volume_of(copy: SourceBackup) -> str:
    return copy.freeform_tags.get(VOLUME_TAG) or copy.freeform_tags.get(MARKER_TAG) or copy.id


def _marked(copies: list[SourceBackup]) -> list[SourceBackup]:
    """Only what this function made, and is not already gone: nothing else is ever deleted."""
    return [c for c in copies if MARKER_TAG in c.freeform_tags and c.lifecycle_state not in _GONE]


def _expire(
    settings: Settings,
    store: BackupStore,
    listing: _Listing,
    *,
    deadline: Deadline,
    now: datetime,
    failures: list[tuple[str, RegionFailure]],
    notes: list[str],
) -> list[Expiry]:
    assert settings.retention_days is not None  # noqa: S101  # checked by the caller
    cutoff = now - timedelta(days=settings.retention_days)
    expired: list[Expiry] = []
    for region in settings.destination_regions:
        by_volume: dict[str, list[SourceBackup]] = defaultdict(list)
        for copy in _marked(listing.copies[region]):
            by_volume[_volume_of(copy)].append(copy)
        for volume, copies in sorted(by_volume.items()):
            copies.sort(key=lambda c: c.time_created or now, reverse=True)
            keep = {c.id for c in copies[: settings.retention_keep]}
            newest_available = next((c for c in copies if c.lifecycle_state == "AVAILABLE"), None)
            if newest_available is not None:
                keep.add(newest_available.id)
            for copy in copies:
                if copy.id in keep or copy.lifecycle_state not in ("AVAILABLE", "FAULTY"):
                    continue
                if deadline.remaining() < SWEEP_RESERVE_SECONDS:
                    notes.append("time ran out during retention: the next sweep deletes the rest")
                    return expired
                if copy.time_created is None or copy.time_created >= cutoff:
                    continue
                age = (now - copy.time_created).total_seconds() / 86400
                if settings.dry_run:
                    expired.append(Expiry(region, copy.id, volume, age, deleted=False))
                    continue
                try:
                    store.delete_backup(copy.kind, copy.id, region, deadline)
                except Failed as exc:
                    failures.append(
                        (copy.id, RegionFailure(region, f"delete failed: {exc.reason}", exc.error_class))
                    )
                    continue
                expired.append(Expiry(region, copy.id, volume, age, deleted=True))
    return expired


def _rpo(
    settings: Settings, listing: _Listing, sources: list[SourceBackup], gone: set[str], now: datetime
) -> list[RpoLine]:
    volumes = {source.volume_id or source.id for source in sources}
    for region in settings.destination_regions:
        volumes |= {_volume_of(copy) for copy in _marked(listing.copies[region])}
    lines: list[RpoLine] = []
    for volume in sorted(volumes):
        for region in settings.destination_regions:
            copies = sorted(
                (c for c in _marked(listing.copies[region]) if _volume_of(c) == volume and c.id not in gone),
                key=lambda c: c.time_created or now,
                reverse=True,
            )
            good = next((c for c in copies if c.lifecycle_state == "AVAILABLE"), None)
            latest = copies[0].lifecycle_state if copies else None
            age = (now - good.time_created).total_seconds() / 3600 if good and good.time_created else None
            if good is None:
                flag: str | None = "no AVAILABLE copy"
            elif age is not None and age > settings.rpo_hours:
                flag = f"newest copy older than RPO_HOURS={settings.rpo_hours:g}"
            else:
                flag = None
            if latest == "FAULTY":
                flag = "latest copy is FAULTY" + (f"; {flag}" if flag else "")
            lines.append(RpoLine(volume, region, good.id if good else None, age, latest, flag))
    return lines
