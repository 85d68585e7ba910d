"""Retention: which of this deployment's copies have expired, and their deletion.

The only code that deletes backups. A copy may be deleted only when `refusal` finds nothing
against it: it is a copy, its marker names its own source, it carries this deployment's identity,
and its source is an original the sweep listed in its region and compartments. Among those, per
volume and destination, ranked by when the source was taken (the data's time, not the copy's),
it never deletes the newest RETENTION_KEEP nor the newest AVAILABLE copy. `choose` is pure,
`expire` acts on what it chose.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from backup_copy.backups import DEPLOYMENT_TAG, GONE_STATES, MARKER_TAG, Backup, RegionFailure
from backup_copy.deadline import Deadline
from backup_copy.errors import Failed, RegionSkipped
from backup_copy.outcome import Expiry, KeptCopy, SourceFailure
from backup_copy.ports import BackupStore

log = logging.getLogger(__name__)
# States a copy may be deleted in: finished, well or badly. One still being made (REQUEST_RECEIVED,
# CREATING, or a volume group copy COMMITTED) is left alone.
_DELETABLE_STATES = frozenset({"AVAILABLE", "FAULTY"})


@dataclass(frozen=True, slots=True)
class Original:
    """What the sweep keeps of one original backup it listed: whose data, where, and taken when.

    One per original in the sweep's region, in the look-back window or not: slots, so that tens of
    thousands of them stay small.
    """

    volume: str
    region: str
    compartment_id: str
    time_created: datetime | None


@dataclass(frozen=True)
class Scope:
    """This deployment: its identity on its copies, and the region and compartments it sweeps."""

    deployment: str
    region: str
    compartments: frozenset[str]


@dataclass(frozen=True)
class Candidate:
    """A copy retention would delete, and why it qualifies."""

    copy: Backup
    volume: str
    age_days: float


@dataclass(frozen=True)
class RetentionResult:
    """What one retention pass deleted (or planned), what failed, kept, and could not finish."""

    expired: tuple[Expiry, ...] = ()
    failures: tuple[SourceFailure, ...] = ()
    notes: tuple[str, ...] = ()
    kept: tuple[KeptCopy, ...] = ()


def refusal(copy: Backup, originals: Mapping[str, Original], scope: Scope) -> str | None:
    """Why retention may not delete `copy`; None only for a copy provably this deployment's own.

    Every test is needed: native backups carry the marker too (people copy tags, and OCI copies a
    volume's tags onto its backups), and several deployments, one per source region, may copy into
    one destination with different RETENTION_DAYS.
    """
    source_id = copy.source_backup_id
    if not source_id:
        return "not a copy: OCI names no source backup"
    return _tags_refusal(copy, source_id, scope) or _source_refusal(originals.get(source_id), scope)


def _tags_refusal(copy: Backup, source_id: str, scope: Scope) -> str | None:
    # The marker must name the copy's own source: OCI copies a volume backup's tags with it, so a
    # copy someone made of one of this function's copies arrives wearing another source's marker.
    marker = copy.freeform_tags.get(MARKER_TAG)
    if marker is None:
        return f"no {MARKER_TAG} marker: not made by this function"
    if marker != source_id:
        return f"its {MARKER_TAG} marker names {marker}, not its source {source_id}"
    made_by = copy.freeform_tags.get(DEPLOYMENT_TAG)
    if made_by is None:
        return f"no {DEPLOYMENT_TAG} tag: which deployment made it is unknown"
    if made_by != scope.deployment:
        return f"made by deployment {made_by}, not {scope.deployment}"
    return None


def _source_refusal(original: Original | None, scope: Scope) -> str | None:
    if original is None:
        return f"its source is not listed in {scope.region} in SWEEP_COMPARTMENT_IDS"
    if original.region != scope.region:
        return f"its source is in {original.region}, not {scope.region}"
    if original.compartment_id not in scope.compartments:
        return f"its source is in {original.compartment_id}, not in SWEEP_COMPARTMENT_IDS"
    return None


def data_order(copy: Backup, original: Original, now: datetime) -> tuple[datetime, datetime]:
    """How copies rank, newest first: by when the source was taken, then by when the copy was made.

    A copy remade after a FAULTY one is younger than the copies of newer backups, but its data is
    not. An unknown time ranks as the newest, so it is kept rather than guessed at.
    """
    return (original.time_created or now, copy.time_created or now)


def choose(
    copies: Sequence[Backup],
    originals: Mapping[str, Original],
    scope: Scope,
    *,
    days: float,
    keep: int,
    now: datetime,
) -> list[Candidate]:
    """The copies in one region that have expired, per volume: only copies `refusal` clears."""
    cutoff = now - timedelta(days=days)
    by_volume: dict[str, list[tuple[Backup, Original]]] = defaultdict(list)
    for copy, original in _proven(copies, originals, scope):
        by_volume[original.volume].append((copy, original))
    chosen: list[Candidate] = []
    for volume, group in sorted(by_volume.items()):
        group.sort(key=lambda pair: data_order(pair[0], pair[1], now), reverse=True)
        kept = {copy.id for copy, _ in group[:keep]}
        newest_available = next((copy for copy, _ in group if copy.lifecycle_state == "AVAILABLE"), None)
        if newest_available is not None:
            kept.add(newest_available.id)
        for copy, original in group:
            taken = original.time_created
            if copy.id in kept or taken is None or not _expirable(copy, original, cutoff):
                continue
            chosen.append(Candidate(copy, volume, (now - taken).total_seconds() / 86400))
    return chosen


def unproven(
    copies: Sequence[Backup],
    originals: Mapping[str, Original],
    scope: Scope,
    *,
    days: float,
    now: datetime,
) -> list[KeptCopy]:
    """Copies of this deployment's data past the cutoff that retention may not delete, and why.

    This deployment's data: a copy of an original the sweep listed, or one whose tags name this
    deployment and its own source, whose source is no longer listed (deleted, most likely); for
    those the copy's own age stands in, since its data is at least as old.
    """
    cutoff = now - timedelta(days=days)
    kept: list[KeptCopy] = []
    for copy in copies:
        reason = _kept_reason(copy, originals, scope, cutoff)
        if reason is not None:
            kept.append(KeptCopy(copy.region, copy.id, str(copy.source_backup_id), reason))
    return kept


def named_past_cutoff(
    copy: Backup, originals: Mapping[str, Original], scope: Scope, *, days: float, now: datetime
) -> bool:
    """Whether `choose` may delete `copy` or `unproven` list it, whichever other copies there are.

    Its rank among its volume's copies decides the rest; a copy this says no to is one they pass over
    unless it ranks first (the sweep's listing keeps those too, and drops the others as they come).
    """
    if copy.lifecycle_state in GONE_STATES or not copy.source_backup_id:
        return False
    cutoff = now - timedelta(days=days)
    if refusal(copy, originals, scope) is None:
        return _expirable(copy, originals[copy.source_backup_id], cutoff)
    return _kept_reason(copy, originals, scope, cutoff) is not None


def _expirable(copy: Backup, original: Original, cutoff: datetime) -> bool:
    """A proven copy retention may delete unless it ranks among those kept: done, and its data old."""
    taken = original.time_created
    return copy.lifecycle_state in _DELETABLE_STATES and taken is not None and taken < cutoff


def _kept_reason(
    copy: Backup, originals: Mapping[str, Original], scope: Scope, cutoff: datetime
) -> str | None:
    """Why a copy of this deployment's data past the cutoff is kept; None for any other copy."""
    source_id = copy.source_backup_id
    if not source_id or copy.lifecycle_state in GONE_STATES:
        return None
    original = originals.get(source_id)
    tags = _tags_refusal(copy, source_id, scope)
    if original is not None:
        taken = original.time_created
    elif tags is None:
        taken = copy.time_created
    else:
        return None
    # What refusal() would say, without testing the tags a second time.
    reason = tags or _source_refusal(original, scope)
    return reason if reason is not None and taken is not None and taken < cutoff else None


def expire(
    store: BackupStore,
    copies_by_region: Mapping[str, Sequence[Backup]],
    originals: Mapping[str, Original],
    scope: Scope,
    *,
    days: float,
    keep: int,
    dry_run: bool,
    deadline: Deadline,
    reserve: float,
    now: datetime,
) -> RetentionResult:
    """Delete (or, in a dry run, list) every expired copy, while the deadline leaves `reserve`."""
    expired: list[Expiry] = []
    failures: list[SourceFailure] = []
    kept = tuple(
        item
        for copies in copies_by_region.values()
        for item in unproven(copies, originals, scope, days=days, now=now)
    )
    for region, copies in copies_by_region.items():
        for candidate in choose(copies, originals, scope, days=days, keep=keep, now=now):
            copy = candidate.copy
            if deadline.remaining() < reserve:
                notes = ("time ran out during retention: the next sweep deletes the rest",)
                return RetentionResult(tuple(expired), tuple(failures), notes, kept)
            if not dry_run:
                try:
                    store.delete_backup(copy.kind, copy.id, region, deadline)
                except RegionSkipped:
                    # The sweep stopped calling this region (it reports that once): the rest wait too.
                    break
                except Failed as exc:
                    failure = RegionFailure(region, f"delete failed: {exc.reason}", exc.error_class)
                    failures.append(SourceFailure(copy.id, failure))
                    continue
                except Exception as exc:  # a bug: this copy stays, the others are still deleted
                    log.exception("unexpected error", extra={"fields": {"copy": copy.id, "region": region}})
                    failures.append(SourceFailure.internal(copy.id, region, exc, during="delete failed"))
                    continue
            expired.append(Expiry(region, copy.id, candidate.volume, candidate.age_days, deleted=not dry_run))
    return RetentionResult(tuple(expired), tuple(failures), kept=kept)


def _proven(
    copies: Iterable[Backup], originals: Mapping[str, Original], scope: Scope
) -> list[tuple[Backup, Original]]:
    """The copies `refusal` clears and not already gone, each with its source."""
    return [
        (copy, originals[str(copy.source_backup_id)])
        for copy in copies
        if copy.lifecycle_state not in GONE_STATES and refusal(copy, originals, scope) is None
    ]
