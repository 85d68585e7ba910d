"""The sweep's use case: copy what events missed, expire what the function made, report the RPO.

Invoked with {"action": "sweep"} (from a schedule, a cron `fn invoke`, or by hand). Same ports,
same per-destination fan-out, retry tokens and notices as the event path. Each phase is a function
that takes what the one before returned and returns a value of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from backup_copy.backups import LIVE_COPY_STATES, Backup, BackupCopy, BackupKind, RegionFailure
from backup_copy.copying import copy_to_destinations, filter_reason
from backup_copy.deadline import Deadline
from backup_copy.errors import ConfigurationError, Failed
from backup_copy.outcome import RpoLine, SourceCopy, SourceFailure, Status, SweepOutcome, SweepReport
from backup_copy.ports import BackupStore
from backup_copy.retention import RetentionResult, expire, marked, volume_of
from backup_copy.settings import Settings

# Time kept back from the deadline to finish the report and publish it.
SWEEP_RESERVE_SECONDS = 8.0

# Every backup found in each destination region, copies and all.
Copies = Mapping[str, tuple[Backup, ...]]


@dataclass(frozen=True)
class Estate:
    """What the listings found: the sources in the look-back window, the destinations' backups."""

    sources: tuple[Backup, ...]
    copies: Copies
    failures: tuple[SourceFailure, ...] = ()


@dataclass(frozen=True)
class CatchUp:
    """What catching up copied, failed, and left for the next sweep; `made` as a listing shows it."""

    copied: tuple[SourceCopy, ...] = ()
    failures: tuple[SourceFailure, ...] = ()
    left: tuple[str, ...] = ()
    made: tuple[Backup, ...] = ()


def run_sweep(settings: Settings, store: BackupStore, deadline: Deadline, now: datetime) -> SweepOutcome:
    """Catch up on missed copies, apply retention, and report the RPO per source volume."""
    region = sweep_region(settings)
    estate = list_estate(settings, store, region, deadline, now)
    caught_up = catch_up(settings, store, estate, deadline, now)
    copies = with_made(estate.copies, caught_up.made)
    retention = RetentionResult()
    if settings.retention_days is not None:
        if deadline.remaining() < SWEEP_RESERVE_SECONDS:
            retention = RetentionResult(notes=("time ran out before retention: it runs in the next sweep",))
        else:
            retention = expire(
                store,
                copies,
                days=settings.retention_days,
                keep=settings.retention_keep,
                dry_run=settings.dry_run,
                deadline=deadline,
                reserve=SWEEP_RESERVE_SECONDS,
                now=now,
            )
    gone = {expiry.id for expiry in retention.expired if expiry.deleted}
    notes = ("time ran out: the backups in 'left' are copied by the next sweep",) if caught_up.left else ()
    report = SweepReport(
        source_region=region,
        examined=len(estate.sources),
        copied=caught_up.copied,
        failures=estate.failures + caught_up.failures + retention.failures,
        left=caught_up.left,
        expired=retention.expired,
        rpo=rpo_lines(settings, copies, estate.sources, gone, now),
        notes=notes + retention.notes,
    )
    status, reason, error_class = verdict(settings, report)
    return SweepOutcome(status=status, report=report, reason=reason, error_class=error_class)


def sweep_region(settings: Settings) -> str:
    """The region whose backups the sweep copies; ConfigurationError if the keys do not say."""
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


def list_estate(
    settings: Settings, store: BackupStore, region: str, deadline: Deadline, now: datetime
) -> Estate:
    """List every destination, then the sources: AVAILABLE originals in the window, oldest first."""
    failures: list[SourceFailure] = []
    copies = {
        destination: _list_all(settings, store, destination, deadline, failures)
        for destination in settings.destination_regions
    }
    since = now - timedelta(hours=settings.sweep_lookback_hours)
    sources = [
        backup
        for backup in _list_all(settings, store, region, deadline, failures)
        if backup.lifecycle_state == "AVAILABLE"
        and not backup.is_copy
        and backup.time_created is not None
        and backup.time_created >= since
        and filter_reason(backup, settings) is None
    ]
    # Oldest first: they are the nearest to leaving the look-back window.
    sources.sort(key=lambda backup: backup.time_created or now)
    return Estate(tuple(sources), copies, tuple(failures))


def catch_up(
    settings: Settings, store: BackupStore, estate: Estate, deadline: Deadline, now: datetime
) -> CatchUp:
    """Copy each source that lacks a copy somewhere; what time does not allow is left."""
    copied: list[SourceCopy] = []
    failures: list[SourceFailure] = []
    made: list[Backup] = []
    listed = {region: {c.id for c in copies} for region, copies in estate.copies.items()}
    missing = [source for source in estate.sources if not _complete(estate.copies, source, settings)]
    for index, source in enumerate(missing):
        if deadline.remaining() < SWEEP_RESERVE_SECONDS:
            left = tuple(s.id for s in missing[index:])
            return CatchUp(tuple(copied), tuple(failures), left, tuple(made))
        fan_out = copy_to_destinations(source, settings, store, deadline)
        # Under DRY_RUN the planned copies are what the report is for.
        requested = [c for c in fan_out.copies if c.state == "PLANNED"] if settings.dry_run else fan_out.new
        copied += [SourceCopy(source.id, copy) for copy in requested]
        failures += [SourceFailure(source.id, failure) for failure in fan_out.failures]
        made += [
            _as_listed(source, copy, now)
            for copy in fan_out.copies
            if copy.id and copy.id not in listed.get(copy.region, set())
        ]
    return CatchUp(tuple(copied), tuple(failures), (), tuple(made))


def with_made(copies: Copies, made: Sequence[Backup]) -> Copies:
    """The destinations' listings with the copies this sweep requested added."""
    return {region: found + tuple(b for b in made if b.region == region) for region, found in copies.items()}


def verdict(settings: Settings, report: SweepReport) -> tuple[Status, str | None, str | None]:
    """The sweep's status, reason and error class."""
    if report.failures:
        reason = "; ".join(f"{f.subject}: {f.failure.region}: {f.failure.reason}" for f in report.failures)
        return Status.FAILED, reason, report.failures[0].failure.error_class
    if report.left:
        # Backups still without their copies: as loud as any failure, though the next sweep mends it.
        return (
            Status.FAILED,
            f"time ran out with {len(report.left)} backup(s) left for the next sweep",
            "transient",
        )
    if settings.dry_run:
        return Status.DRY_RUN, "DRY_RUN is on: nothing was copied or deleted", None
    if report.copied:
        return Status.COPIED, None, None
    return Status.ALREADY_COPIED, "every backup in the window has its copies", None


def rpo_lines(
    settings: Settings, copies: Copies, sources: Sequence[Backup], gone: set[str], now: datetime
) -> tuple[RpoLine, ...]:
    """Per source volume and destination: the newest AVAILABLE copy, its age, and a flag if late."""
    volumes = {source.volume_id or source.id for source in sources}
    for region in settings.destination_regions:
        volumes |= {volume_of(copy) for copy in marked(copies[region])}
    lines: list[RpoLine] = []
    for volume in sorted(volumes):
        for region in settings.destination_regions:
            ours = sorted(
                (c for c in marked(copies[region]) if volume_of(c) == volume and c.id not in gone),
                key=lambda c: c.time_created or now,
                reverse=True,
            )
            good = next((c for c in ours if c.lifecycle_state == "AVAILABLE"), None)
            latest = ours[0].lifecycle_state if ours else None
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
    return tuple(lines)


def _list_all(
    settings: Settings, store: BackupStore, region: str, deadline: Deadline, failures: list[SourceFailure]
) -> tuple[Backup, ...]:
    found: list[Backup] = []
    for compartment in sorted(settings.sweep_compartment_ids):
        for kind in BackupKind:
            try:
                found += store.list_backups(kind, compartment, region, deadline)
            except Failed as exc:
                failure = RegionFailure(region, f"listing failed: {exc.reason}", exc.error_class)
                failures.append(SourceFailure(compartment, failure))
    return tuple(found)


def _complete(copies: Copies, source: Backup, settings: Settings) -> bool:
    return all(
        any(c.source_backup_id == source.id and c.lifecycle_state in LIVE_COPY_STATES for c in copies[region])
        for region in settings.destination_regions
    )


def _as_listed(source: Backup, copy: BackupCopy, now: datetime) -> Backup:
    """A copy just requested, as the next listing would show it (for retention and the report)."""
    freeform, _ = source.copy_tags()
    return Backup(
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
