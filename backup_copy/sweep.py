"""The sweep's use case: copy what events missed, expire what the function made, report the RPO.

Invoked with {"action": "sweep"} (from a schedule, a cron `fn invoke`, or by hand). Same ports,
retry tokens, tags and notices as the event path; each copy is decided from the sweep's listings.
Each phase is a function that takes what the one before returned and returns a value of its own.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from backup_copy.backups import (
    IN_FLIGHT_STATES,
    LIVE_COPY_STATES,
    MARKER_TAG,
    VOLUME_TAG,
    Backup,
    BackupCopy,
    BackupKind,
)
from backup_copy.copying import copy_to
from backup_copy.deadline import Deadline
from backup_copy.errors import ConfigurationError
from backup_copy.listing import Copies, Estate, counted, list_estate, volume_key
from backup_copy.outcome import (
    QueuedCopy,
    RpoLine,
    SourceCopy,
    SourceFailure,
    Status,
    SweepOutcome,
    SweepReport,
)
from backup_copy.ports import BackupStore
from backup_copy.retention import Original, RetentionResult, Scope, data_order, expire
from backup_copy.settings import Settings
from backup_copy.shares import RegionShares

log = logging.getLogger(__name__)
# Time kept back from the deadline to finish the report and publish it.
SWEEP_RESERVE_SECONDS = 8.0


@dataclass(frozen=True)
class CatchUp:
    """What catching up copied, failed, and left for the next sweep; `made` as a listing shows it."""

    copied: tuple[SourceCopy, ...] = ()
    failures: tuple[SourceFailure, ...] = ()
    left: tuple[str, ...] = ()
    made: tuple[Backup, ...] = ()
    queued: tuple[QueuedCopy, ...] = ()
    # Tags not set on a copy this sweep made, or a live copy found unmarked: it is never deleted.
    warnings: tuple[SourceFailure, ...] = ()


def run_sweep(settings: Settings, store: BackupStore, deadline: Deadline, now: datetime) -> SweepOutcome:
    """Catch up on missed copies, apply retention, and report the RPO per source volume.

    Each source, destination and phase stands alone: what fails in one, even a bug, is an entry in
    the report, and the sweep goes on to publish the report with everything done before and after.
    """
    region = sweep_region(settings)
    # One region down must not take every other region's time: each call gets a share of it, and a
    # region that keeps failing is skipped (shares.py). Every phase calls the store through it.
    shares = RegionShares(store, (region, *settings.destination_regions), reserve=SWEEP_RESERVE_SECONDS)
    skipped = shares.skipped
    failures: list[SourceFailure] = []
    try:
        estate = list_estate(settings, shares, region, deadline, now, skipped=skipped)
    except Exception as exc:  # a bug: nothing to copy or expire, but the report still goes out
        failures.append(_bug(region, region, exc, during="listing failed"))
        estate = Estate((), dict.fromkeys(settings.destination_regions, ()))
    failures += estate.failures
    try:
        caught_up = catch_up(settings, shares, estate, deadline, now, skipped=skipped)
    except Exception as exc:
        failures.append(_bug(region, region, exc, during="catch-up failed"))
        caught_up = CatchUp()
    failures += caught_up.failures
    copies = with_made(estate.copies, caught_up.made)
    called = {r: found for r, found in copies.items() if r not in skipped}
    retention = _retention(settings, shares, region, called, estate.originals, deadline=deadline, now=now)
    failures += retention.failures
    gone = {expiry.id for expiry in retention.expired if expiry.deleted}
    try:
        rpo = rpo_lines(
            settings, copies, estate.sources, gone, now, originals=estate.originals, queued=caught_up.queued
        )
    except Exception as exc:
        failures.append(_bug(region, region, exc, during="RPO report failed"))
        rpo = ()
    notes = ("time ran out: the backups in 'left' are copied by the next sweep",) if caught_up.left else ()
    skips, skip_notes = shares.report()
    failures += skips
    report = SweepReport(
        source_region=region,
        examined=len(estate.sources),
        copied=caught_up.copied,
        failures=tuple(failures),
        left=caught_up.left,
        queued=caught_up.queued,
        warnings=caught_up.warnings,
        expired=retention.expired,
        kept=retention.kept,
        rpo=rpo,
        notes=notes + skip_notes + retention.notes,
    )
    status, reason, error_class = verdict(settings, report)
    return SweepOutcome(status=status, report=report, reason=reason, error_class=error_class)


def _retention(
    settings: Settings,
    store: BackupStore,
    region: str,
    copies: Copies,
    originals: Mapping[str, Original],
    *,
    deadline: Deadline,
    now: datetime,
) -> RetentionResult:
    """Expire this deployment's old copies, one destination at a time: a bug in one spares the others."""
    if settings.retention_days is None:
        return RetentionResult()
    if deadline.remaining() < SWEEP_RESERVE_SECONDS:
        return RetentionResult(notes=("time ran out before retention: it runs in the next sweep",))
    scope = Scope(settings.deployment, region, settings.sweep_compartment_ids)
    results: list[RetentionResult] = []
    for destination, found in copies.items():
        try:
            result = expire(
                store,
                {destination: found},
                originals,
                scope,
                days=settings.retention_days,
                keep=settings.retention_keep,
                dry_run=settings.dry_run,
                deadline=deadline,
                reserve=SWEEP_RESERVE_SECONDS,
                now=now,
            )
        except Exception as exc:
            result = RetentionResult(
                failures=(_bug(destination, destination, exc, during="retention failed"),)
            )
        results.append(result)
    return RetentionResult(
        expired=tuple(item for result in results for item in result.expired),
        failures=tuple(item for result in results for item in result.failures),
        # Time running out says so once, whichever destination it ran out in.
        notes=tuple(dict.fromkeys(note for result in results for note in result.notes)),
        kept=tuple(item for result in results for item in result.kept),
    )


def _bug(subject: str, region: str, exc: Exception, *, during: str | None = None) -> SourceFailure:
    """A bug met in one part of the sweep: its traceback logged once, and its entry in the report."""
    log.exception("unexpected error", extra={"fields": {"subject": subject, "region": region}})
    return SourceFailure.internal(subject, region, exc, during=during)


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


def catch_up(
    settings: Settings,
    store: BackupStore,
    estate: Estate,
    deadline: Deadline,
    now: datetime,
    *,
    skipped: Container[str] = frozenset(),
) -> CatchUp:
    """Run the copy queue: request each missing (backup, destination) copy that OCI's limits allow now.

    OCI copies one backup per boot volume at a time from a source region, and up to ten copies per
    tenancy ("Copying a Boot Volume Backup Between Regions", Limitations). So a boot volume with a
    copy in flight waits; otherwise its newest backup's first missing destination is requested, and
    the rest of its pairs wait for a later sweep. Volumes go most overdue first (oldest missing
    backup), while fewer than SWEEP_MAX_COPIES_IN_FLIGHT copies are in flight. A refusal for the
    limits queues the pair too. What time does not allow is left for the next sweep; a pair with a
    region in `skipped` (the sweep stopped calling it, and reports it once) waits for the next one.
    Whether a pair has a copy, and its retry token, come from the listings: a copy is one request,
    and one tag write, with no lookup before it (but where a listing was not read whole).
    """
    live = _live_pairs(estate.copies)
    in_flight = _in_flight_volumes(estate)
    running = sum(in_flight.values())
    missing: dict[str, list[tuple[Backup, list[str]]]] = defaultdict(list)
    for source in sorted(estate.sources, key=lambda s: s.time_created or now, reverse=True):
        regions = [r for r in settings.destination_regions if (source.id, r) not in live]
        if regions:
            missing[volume_key(source)].append((source, regions))
    # Most overdue volume first: the one whose oldest missing backup is oldest.
    order = sorted(missing, key=lambda v: min(s.time_created or now for s, _ in missing[v]))

    found = found_copies(
        estate, {(s.id, r) for pairs in missing.values() for s, regions in pairs for r in regions}
    )
    run = _QueueRun(settings, store, deadline, now, estate.unread, found, in_flight, running, skipped)
    for volume in order:
        for source, regions in missing[volume]:
            for region in regions:
                run.pair(source, region, volume)
    return CatchUp(
        tuple(run.copied),
        tuple(run.failures),
        tuple(run.left),
        tuple(run.made),
        tuple(run.queued),
        tuple(run.warnings),
    )


@dataclass
class _QueueRun:
    """One pass over the queue: what it requested, queued, failed and left, and what is in flight."""

    settings: Settings
    store: BackupStore
    deadline: Deadline
    now: datetime
    unread: Container[tuple[str, str, BackupKind]]
    found: Mapping[tuple[str, str], Sequence[BackupCopy]]
    in_flight: defaultdict[str, int]
    running: int
    skipped: Container[str]
    copied: list[SourceCopy] = field(default_factory=list)
    failures: list[SourceFailure] = field(default_factory=list)
    made: list[Backup] = field(default_factory=list)
    queued: list[QueuedCopy] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    warnings: list[SourceFailure] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)

    def pair(self, source: Backup, region: str, volume: str) -> None:
        """Request the copy of `source` to `region` if OCI's limits allow it now; else queue it."""
        try:
            self._pair(source, region, volume)
        except Exception as exc:  # a bug in this pair: the others are still tried
            self.failures.append(_bug(source.id, region, exc))

    def _pair(self, source: Backup, region: str, volume: str) -> None:
        if region in self.skipped or source.region in self.skipped:
            return
        if self.deadline.remaining() < SWEEP_RESERVE_SECONDS:
            if source.id not in self.left:
                self.left.append(source.id)
            return
        hold = _hold_reason(self.settings, source, self.in_flight, self.running)
        if hold is not None:
            # A few reasons for thousands of pairs in a large backlog: one string each.
            hold = self.reasons.setdefault(hold, hold)
            self.queued.append(QueuedCopy(source.id, region, volume, source.time_created, hold))
            return
        found = self.found.get((source.id, region), ())
        # A listing cut short may miss a copy: then, and only then, the copies are looked up.
        unread = (region, source.compartment_id, source.kind) in self.unread
        result = copy_to(
            region, source, self.settings, self.store, self.deadline, found=None if unread else found
        )
        if result.failure is not None:
            self.failures.append(SourceFailure(source.id, result.failure))
        if result.warning is not None:
            self.warnings.append(SourceFailure(source.id, result.warning))
        if result.waiting is not None:
            self.queued.append(
                QueuedCopy(source.id, region, volume, source.time_created, result.waiting.reason)
            )
            # Something of this volume's is in flight that the listings could not show.
            self.in_flight[volume] += 1
        copy = result.copy
        if copy is None or copy.id is None:
            if copy is not None and copy.state == "PLANNED":
                self.copied.append(SourceCopy(source.id, copy))
            return
        if result.made:
            faulty = tuple(c.id for c in found if c.id and c.state == "FAULTY")
            self.copied.append(SourceCopy(source.id, copy, faulty))
        # A copy the listing did not show (just made, or made since the listing) joins it, so the
        # limits, retention and the RPO report see it; as ours only if our request made and tagged it.
        tagged = result.made and result.warning is None
        self.made.append(_as_listed(source, copy, self.now, by=self.settings.deployment if tagged else None))
        if copy.state in IN_FLIGHT_STATES:
            self.in_flight[volume] += 1
            self.running += 1


def found_copies(
    estate: Estate, pairs: Container[tuple[str, str]]
) -> dict[tuple[str, str], list[BackupCopy]]:
    """Of each (source, destination) in `pairs`, the source's copies there, as the event path finds them.

    That lookup lists the source's compartment in the destination and finds every copy of the
    source, gone ones too: so does this, from the listings, and the retry token is the same.
    """
    sources = {source.id: source for source in estate.sources}
    found: defaultdict[tuple[str, str], list[BackupCopy]] = defaultdict(list)
    for region, copies in estate.copies.items():
        for copy in copies:
            source = sources.get(copy.source_backup_id or "")
            if (
                source is not None
                and (source.id, region) in pairs
                and copy.compartment_id == source.compartment_id
            ):
                found[(source.id, region)].append(copy.found_copy())
    for region, by_source in estate.gone.items():
        for source_id, ids in by_source.items():
            if (source_id, region) in pairs:
                # Only the id is kept of a gone copy: TERMINATING or TERMINATED, the same to a request.
                found[(source_id, region)] += [BackupCopy(region, copy_id, "TERMINATED") for copy_id in ids]
    return found


def _live_pairs(copies: Copies) -> set[tuple[str, str]]:
    """Every (source backup, destination) that has a live copy, from the destinations' listings."""
    return {
        (copy.source_backup_id, region)
        for region, found in copies.items()
        for copy in found
        if copy.source_backup_id and copy.lifecycle_state in LIVE_COPY_STATES
    }


def _in_flight_volumes(estate: Estate) -> defaultdict[str, int]:
    """Copies in flight from the source region, per source volume (whoever requested them)."""
    counts: defaultdict[str, int] = defaultdict(int)
    for found in estate.copies.values():
        for copy in found:
            original = estate.originals.get(copy.source_backup_id or "")
            if original is not None and copy.lifecycle_state in IN_FLIGHT_STATES:
                counts[original.volume] += 1
    return counts


def _hold_reason(
    settings: Settings, source: Backup, in_flight: Mapping[str, int], running: int
) -> str | None:
    """Why OCI's copy limits would refuse a copy of `source` now, or None if one may start."""
    if settings.dry_run:
        return None
    if running >= settings.sweep_max_copies_in_flight:
        return (
            f"{running} copies are in flight from {source.region}, the most SWEEP_MAX_COPIES_IN_FLIGHT "
            "allows (OCI: up to ten per tenancy)"
        )
    # Documented for boot volumes; for the other kinds a refusal for the limits queues just the same.
    if source.kind is BackupKind.BOOT and in_flight.get(volume_key(source), 0) > 0:
        return f"a copy of this boot volume is in flight from {source.region}; OCI copies one at a time"
    return None


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
    if report.queued:
        return Status.QUEUED, f"{len(report.queued)} copy(ies) wait on OCI's copy limits", None
    return Status.ALREADY_COPIED, "every backup in the window has its copies", None


def rpo_lines(
    settings: Settings,
    copies: Copies,
    sources: Sequence[Backup],
    gone: set[str],
    now: datetime,
    *,
    originals: Mapping[str, Original],
    queued: Sequence[QueuedCopy] = (),
) -> tuple[RpoLine, ...]:
    """Per source volume and destination: the newest AVAILABLE copy, its data's age, what waits, a flag.

    Ages are the source backup's (when the data was taken): a copy made today of a three-day-old
    backup holds three-day-old data. A copy counts when its marker names its source and the sweep
    listed that source (any deployment's: the data is there); copies made by hand do not.
    """
    # Grouped once, so the report is linear in sources and copies, not volumes times copies.
    window_of: defaultdict[str, list[Backup]] = defaultdict(list)
    for source in sources:
        window_of[volume_key(source)].append(source)
    counted_of: defaultdict[tuple[str, str], list[tuple[Backup, Original]]] = defaultdict(list)
    for region in settings.destination_regions:
        for pair in _counted(copies[region], originals, gone):
            counted_of[(pair[1].volume, region)].append(pair)
    volumes = set(window_of) | {volume for volume, _ in counted_of}
    waiting: defaultdict[tuple[str, str], list[datetime | None]] = defaultdict(list)
    for item in queued:
        waiting[(item.volume, item.region)].append(item.since)
    lines: list[RpoLine] = []
    for volume in sorted(volumes):
        window = window_of.get(volume, [])
        for region in settings.destination_regions:
            ours = sorted(
                counted_of.get((volume, region), []),
                key=lambda pair: data_order(pair[0], pair[1], now),
                reverse=True,
            )
            times = waiting.get((volume, region), [])
            lines.append(
                _rpo_line(settings, volume, region, ours=ours, window=window, queued_times=times, now=now)
            )
    return tuple(lines)


def _rpo_line(
    settings: Settings,
    volume: str,
    region: str,
    *,
    ours: Sequence[tuple[Backup, Original]],
    window: Sequence[Backup],
    queued_times: Sequence[datetime | None],
    now: datetime,
) -> RpoLine:
    """One volume in one destination; `ours` are its counted copies there, newest data first."""
    rpo = settings.rpo_hours
    good = next(((c, o) for c, o in ours if c.lifecycle_state == "AVAILABLE"), None)
    latest = ours[0][0].lifecycle_state if ours else None
    taken = good[1].time_created if good else None
    age = _hours(now - taken) if taken else None
    flags = ["latest copy is FAULTY"] if latest == "FAULTY" else []
    if good is None:
        # A volume whose first copy is on its way is not past its RPO until the oldest backup
        # waiting for a copy is: a copy just requested is not an alarm.
        oldest = _oldest_waiting(ours, window, now)
        if oldest is None:
            flags.append("no AVAILABLE copy")
        elif _hours(now - oldest) > rpo:
            when = oldest.isoformat(timespec="minutes")
            flags.append(f"no AVAILABLE copy of backups waiting since {when}, past RPO_HOURS={rpo:g}")
    elif age is not None and age > rpo:
        flags.append(f"newest copy older than RPO_HOURS={rpo:g}")
    since = min((t for t in queued_times if t is not None), default=None)
    if since is not None and _hours(now - since) > rpo:
        flags.append(f"queued since {since.isoformat(timespec='minutes')}, past RPO_HOURS={rpo:g}")
    return RpoLine(
        volume,
        region,
        good[0].id if good else None,
        age,
        latest,
        "; ".join(flags) or None,
        len(queued_times),
        since,
    )


def _oldest_waiting(
    ours: Sequence[tuple[Backup, Original]], window: Sequence[Backup], now: datetime
) -> datetime | None:
    """With no AVAILABLE copy: when the oldest backup waiting for one was taken, None if none is.

    Waiting: every backup of the volume in the look-back window (the sweep copies it, or it is in
    flight or queued), and any whose copy is being made here.
    """
    times = [source.time_created or now for source in window]
    times += [o.time_created or now for c, o in ours if c.lifecycle_state in IN_FLIGHT_STATES]
    return min(times, default=None)


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _counted(
    copies: Sequence[Backup], originals: Mapping[str, Original], gone: set[str]
) -> list[tuple[Backup, Original]]:
    """The copies the RPO report counts, each with its source: marked with it, listed, not gone."""
    return [
        (copy, original)
        for copy in copies
        if (original := counted(copy, originals)) is not None and copy.id not in gone
    ]


def _as_listed(source: Backup, copy: BackupCopy, now: datetime, *, by: str | None) -> Backup:
    """A copy the listing missed, as the next listing would show it (for retention and the report).

    Only a copy this sweep's own request returned and tagged (`by` names the deployment) carries
    every marker. A found copy the lookup saw marked keeps the marker, but who made it is unknown
    here, so retention leaves it to a later listing; a copy someone else made stays unmarked.
    """
    if by is not None:
        freeform = source.copy_tags(by)[0]
    elif copy.marked:
        freeform = {MARKER_TAG: source.id, **({VOLUME_TAG: source.volume_id} if source.volume_id else {})}
    else:
        freeform = {}
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
