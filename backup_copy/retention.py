"""Retention: which of this function's copies have expired, and their deletion.

The only code that deletes backups. It chooses among marked copies only (the marker is set on the
function's own copies and nothing else), never the newest RETENTION_KEEP of a volume and never a
volume's newest AVAILABLE copy; `choose` is pure, `expire` acts on what it chose.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from backup_copy.backups import GONE_STATES, MARKER_TAG, VOLUME_TAG, Backup, RegionFailure
from backup_copy.deadline import Deadline
from backup_copy.errors import Failed
from backup_copy.outcome import Expiry, SourceFailure
from backup_copy.ports import BackupStore

# States a copy may be deleted in: finished, well or badly. One still being made (REQUEST_RECEIVED,
# CREATING, or a volume group copy COMMITTED) is left alone.
_DELETABLE_STATES = frozenset({"AVAILABLE", "FAULTY"})


@dataclass(frozen=True)
class Candidate:
    """A copy retention would delete, and why it qualifies."""

    copy: Backup
    volume: str
    age_days: float


@dataclass(frozen=True)
class RetentionResult:
    """What one retention pass deleted (or planned), what failed, and what it could not finish."""

    expired: tuple[Expiry, ...] = ()
    failures: tuple[SourceFailure, ...] = ()
    notes: tuple[str, ...] = ()


def volume_of(copy: Backup) -> str:
    """The source volume a copy belongs to, from its tags (its own id when they say nothing)."""
    return copy.freeform_tags.get(VOLUME_TAG) or copy.freeform_tags.get(MARKER_TAG) or copy.id


def marked(copies: Iterable[Backup]) -> list[Backup]:
    """Only what this function made, and is not already gone: nothing else is ever deleted.

    The marker must name the copy's own source: OCI copies a volume backup's tags with it, so a
    copy someone made of one of this function's copies arrives wearing the marker of another source.
    """
    return [
        c
        for c in copies
        if c.source_backup_id is not None
        and c.freeform_tags.get(MARKER_TAG) == c.source_backup_id
        and c.lifecycle_state not in GONE_STATES
    ]


def choose(copies: Sequence[Backup], *, days: float, keep: int, now: datetime) -> list[Candidate]:
    """The copies in one region that have expired, per volume, oldest decisions last."""
    cutoff = now - timedelta(days=days)
    by_volume: dict[str, list[Backup]] = defaultdict(list)
    for copy in marked(copies):
        by_volume[volume_of(copy)].append(copy)
    chosen: list[Candidate] = []
    for volume, group in sorted(by_volume.items()):
        group.sort(key=lambda c: c.time_created or now, reverse=True)
        kept = {c.id for c in group[:keep]}
        newest_available = next((c for c in group if c.lifecycle_state == "AVAILABLE"), None)
        if newest_available is not None:
            kept.add(newest_available.id)
        for copy in group:
            if copy.id in kept or copy.lifecycle_state not in _DELETABLE_STATES:
                continue
            if copy.time_created is None or copy.time_created >= cutoff:
                continue
            age = (now - copy.time_created).total_seconds() / 86400
            chosen.append(Candidate(copy, volume, age))
    return chosen


def expire(
    store: BackupStore,
    copies_by_region: Mapping[str, Sequence[Backup]],
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
    for region, copies in copies_by_region.items():
        for candidate in choose(copies, days=days, keep=keep, now=now):
            copy = candidate.copy
            if deadline.remaining() < reserve:
                notes = ("time ran out during retention: the next sweep deletes the rest",)
                return RetentionResult(tuple(expired), tuple(failures), notes)
            if not dry_run:
                try:
                    store.delete_backup(copy.kind, copy.id, region, deadline)
                except Failed as exc:
                    failure = RegionFailure(region, f"delete failed: {exc.reason}", exc.error_class)
                    failures.append(SourceFailure(copy.id, failure))
                    continue
            expired.append(Expiry(region, copy.id, candidate.volume, candidate.age_days, deleted=not dry_run))
    return RetentionResult(tuple(expired), tuple(failures))
