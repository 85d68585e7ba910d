"""The sweep's listings, read a page at a time and folded into what its phases read.

Held whole, the backups of a large estate outgrow the function: 150 volumes with 90 daily backups
each, copied to two regions, are 40,500 backups, and as SDK objects and then domain values they
took a sweep to about 200 MB against a 128 MB function (`make bench`). So each listing is read a
page at a time (`BackupStore.iter_backups`), and each page is folded as it comes:

- the sweep's region, newest first: the sources (AVAILABLE originals in the look-back window that
  the filters let through) in full, and every original, in the window or not, as an `Original` of a
  few fields (whose data, where, taken when). Paging cannot stop at the end of the look-back:
  retention proves a copy's provenance, and ranks and ages copies, by their source, and so does the
  RPO report, however old the source; what stops there is keeping backups whole;
- each destination, after the sources: only the copies some phase reads (`CopyKeeper`), and the ids
  of the gone copies of the sources (which the retry token names); the others are dropped as they
  come, and so are the originals no kept copy names.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Container, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from backup_copy.backups import GONE_STATES, IN_FLIGHT_STATES, MARKER_TAG, Backup, BackupKind, RegionFailure
from backup_copy.copying import filter_reason
from backup_copy.deadline import Deadline
from backup_copy.errors import Failed
from backup_copy.outcome import SourceFailure
from backup_copy.ports import BackupStore
from backup_copy.retention import Original, Scope, data_order, named_past_cutoff, refusal
from backup_copy.settings import Settings

log = logging.getLogger(__name__)
# Every backup found in each destination region that a phase of the sweep reads.
Copies = Mapping[str, tuple[Backup, ...]]


@dataclass(frozen=True)
class Estate:
    """What the listings found: the sources in the look-back window, the destinations' copies."""

    sources: tuple[Backup, ...]
    # Of each destination, the copies a phase reads (CopyKeeper): listing order, others dropped.
    copies: Copies
    failures: tuple[SourceFailure, ...] = ()
    # The originals in the source region, in the window or not, that a source or kept copy names.
    originals: Mapping[str, Original] = field(default_factory=dict)
    # Of each destination, by source: the ids of the source's gone (TERMINATING, TERMINATED) copies
    # in its compartment, which `copies` leaves out. The retry token names them, as the event path's
    # lookup does, so the sweep's request and an event's converge on one copy.
    gone: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    # The listings not read whole, as (region, compartment, kind): a copy of a source may be there
    # and missing from `copies`, so catch-up looks the source's copies up instead of deciding blind.
    unread: frozenset[tuple[str, str, BackupKind]] = frozenset()


def volume_key(backup: Backup) -> str:
    """The volume (or volume group) a source backup was taken of; its own id when OCI names none."""
    return backup.volume_id or backup.id


def counted(copy: Backup, originals: Mapping[str, Original]) -> Original | None:
    """The source of a copy the RPO report counts (marked with a source the sweep listed), else None.

    Any deployment's copy counts: the data is there. A copy made by hand does not.
    """
    source_id = copy.source_backup_id or ""
    original = originals.get(source_id)
    if original is None or copy.freeform_tags.get(MARKER_TAG) != source_id:
        return None
    return original if copy.lifecycle_state not in GONE_STATES else None


def list_estate(
    settings: Settings,
    store: BackupStore,
    region: str,
    deadline: Deadline,
    now: datetime,
    *,
    skipped: Container[str] = frozenset(),
) -> Estate:
    """List the sources, then every destination; the sources come oldest first.

    A listing that fails is a failure entry, and what it read before stays: with fewer originals or
    fewer copies, retention deletes a subset of what it would have (a copy's rank can only fall with
    more copies beside it). A region in `skipped` is listed no further (the sweep stopped calling it).
    """
    reader = _Reader(settings, store, deadline, skipped)
    sources, originals = reader.sources(region, now)
    window = {source.id for source in sources}
    scope = Scope(settings.deployment, region, settings.sweep_compartment_ids)
    copies: dict[str, tuple[Backup, ...]] = {}
    gone: dict[str, Mapping[str, tuple[str, ...]]] = {}
    for destination in settings.destination_regions:
        keeper = CopyKeeper(settings, scope, originals, window, now)
        try:
            for backup in reader.backups(destination):
                keeper.add(backup)
        except Exception as exc:  # a bug: what was folded stays (as a listing cut short), the rest counts
            log.exception("unexpected error", extra={"fields": {"region": destination}})
            reader.failures.append(
                SourceFailure.internal(destination, destination, exc, during="listing failed")
            )
            reader.unread.update(reader.listings(destination))
        copies[destination] = keeper.kept()
        gone[destination] = keeper.gone()
    named = window | {c.source_backup_id for found in copies.values() for c in found if c.source_backup_id}
    # Oldest first: they are the nearest to leaving the look-back window.
    sources.sort(key=lambda backup: backup.time_created or now)
    return Estate(
        tuple(sources),
        copies,
        tuple(reader.failures),
        {source_id: originals[source_id] for source_id in named if source_id in originals},
        gone,
        frozenset(reader.unread),
    )


@dataclass
class _Reader:
    """The listings of one sweep, and the failures they met."""

    settings: Settings
    store: BackupStore
    deadline: Deadline
    skipped: Container[str]
    failures: list[SourceFailure] = field(default_factory=list)
    # The listings that failed or were never made, as (region, compartment, kind).
    unread: set[tuple[str, str, BackupKind]] = field(default_factory=set)

    def sources(self, region: str, now: datetime) -> tuple[list[Backup], dict[str, Original]]:
        """The sources in full, and every original in brief."""
        since = now - timedelta(hours=self.settings.sweep_lookback_hours)
        sources: list[Backup] = []
        originals: dict[str, Original] = {}
        # One string per volume and compartment, not one per backup: thousands of backups share them.
        shared: dict[str, str] = {}
        for backup in self.backups(region):
            if backup.is_copy:
                continue
            volume, compartment = volume_key(backup), backup.compartment_id
            originals[backup.id] = Original(
                shared.setdefault(volume, volume),
                backup.region,
                shared.setdefault(compartment, compartment),
                backup.time_created,
            )
            if _is_source(backup, since, self.settings):
                sources.append(backup)
        return sources, originals

    def listings(self, region: str) -> Iterator[tuple[str, str, BackupKind]]:
        """Each listing of `region`, as (region, compartment, kind), in the order they are made."""
        for compartment in sorted(self.settings.sweep_compartment_ids):
            for kind in BackupKind:
                yield region, compartment, kind

    def backups(self, region: str) -> Iterator[Backup]:
        """Every backup of every kind in the swept compartments of `region`; a failure is an entry."""
        for listing in self.listings(region):
            _, compartment, kind = listing
            if region in self.skipped:
                self.unread.add(listing)
                continue
            try:
                yield from self.store.iter_backups(kind, compartment, region, self.deadline)
            except Failed as exc:
                self.unread.add(listing)
                failure = RegionFailure(region, f"listing failed: {exc.reason}", exc.error_class)
                self.failures.append(SourceFailure(compartment, failure))
            except Exception as exc:  # a bug: this listing fails, the others still count
                self.unread.add(listing)
                log.exception("unexpected error", extra={"fields": {"region": region, "kind": kind.value}})
                self.failures.append(
                    SourceFailure.internal(compartment, region, exc, during="listing failed")
                )


def _is_source(backup: Backup, since: datetime, settings: Settings) -> bool:
    """An AVAILABLE original in the window that the filters let through."""
    return (
        backup.lifecycle_state == "AVAILABLE"
        # A member of a volume group backup is copied with its group, never on its own.
        and backup.volume_group_backup_id is None
        and backup.time_created is not None
        and backup.time_created >= since
        and filter_reason(backup, settings) is None
    )


class CopyKeeper:
    """Of one destination's backups, the copies some phase of the sweep reads; the rest are dropped.

    Kept whatever else is listed: every copy of a source (catch-up: which pairs have a live or
    FAULTY copy), every copy in flight of a listed original (OCI's copy limits; the RPO report's
    oldest waiting backup), and, with RETENTION_DAYS set, every copy `named_past_cutoff` says
    retention may delete or list as kept. Then, per volume, the copies that rank first by their
    data's age: retention's RETENTION_KEEP newest proven copies and its newest AVAILABLE one, and the
    RPO report's newest counted copy and newest AVAILABLE one. A copy dropped is one that
    catch_up, choose, unproven and rpo_lines pass over, so they decide as they would on the whole
    listing (tests/unit/test_listing.py holds them to it). Of a gone copy of a source, only its id
    is kept, for the source's retry token.
    """

    def __init__(
        self,
        settings: Settings,
        scope: Scope,
        originals: Mapping[str, Original],
        window: Container[str],
        now: datetime,
    ) -> None:
        self._originals = originals
        self._window = window
        self._scope = scope
        self._now = now
        self._days = settings.retention_days
        self._kept: dict[int, Backup] = {}
        self._gone: dict[str, list[str]] = {}
        self._seen = 0
        self._proven = _Leaders(settings.retention_keep)
        self._proven_available = _Leaders(1)
        self._counted = _Leaders(1)
        self._counted_available = _Leaders(1)

    def add(self, copy: Backup) -> None:
        """Fold one listed backup in."""
        order = self._seen
        self._seen += 1
        source_id = copy.source_backup_id
        if not source_id:
            return
        original = self._originals.get(source_id)
        if copy.lifecycle_state in GONE_STATES:
            # What the event path's lookup finds, which lists the source's compartment alone.
            if source_id in self._window and original and copy.compartment_id == original.compartment_id:
                self._gone.setdefault(source_id, []).append(copy.id)
            return
        days = self._days
        if (
            source_id in self._window
            or (original is not None and copy.lifecycle_state in IN_FLIGHT_STATES)
            or (
                days is not None
                and named_past_cutoff(copy, self._originals, self._scope, days=days, now=self._now)
            )
        ):
            self._kept[order] = copy
        if original is None:
            # Of a copy whose source is not listed, only retention's `unproven` reads, as above.
            return
        rank = data_order(copy, original, self._now)
        available = copy.lifecycle_state == "AVAILABLE"
        if days is not None and refusal(copy, self._originals, self._scope) is None:
            self._proven.offer(original.volume, rank, order, copy)
            if available:
                self._proven_available.offer(original.volume, rank, order, copy)
        if counted(copy, self._originals) is not None:
            self._counted.offer(original.volume, rank, order, copy)
            if available:
                self._counted_available.offer(original.volume, rank, order, copy)

    def kept(self) -> tuple[Backup, ...]:
        """The copies kept, in the order they were listed."""
        kept = dict(self._kept)
        for leaders in (self._proven, self._proven_available, self._counted, self._counted_available):
            kept.update(leaders.items())
        return tuple(copy for _, copy in sorted(kept.items()))

    def gone(self) -> dict[str, tuple[str, ...]]:
        """By source in the window, the ids of its gone copies in its compartment."""
        return {source_id: tuple(ids) for source_id, ids in self._gone.items()}


Rank = tuple[datetime, datetime]


class _Leaders:
    """Per volume, the `size` copies that rank first so far (a tie goes to the one listed first)."""

    def __init__(self, size: int) -> None:
        self._size = size
        # A min-heap per volume of (rank, -order, copy): its first entry is the one to drop next.
        self._heaps: dict[str, list[tuple[Rank, int, Backup]]] = {}

    def offer(self, volume: str, rank: Rank, order: int, copy: Backup) -> None:
        """Consider a copy of `volume`, listed `order`th."""
        heap = self._heaps.setdefault(volume, [])
        entry = (rank, -order, copy)
        if len(heap) < self._size:
            heapq.heappush(heap, entry)
        elif entry[:2] > heap[0][:2]:
            heapq.heapreplace(heap, entry)

    def items(self) -> Iterator[tuple[int, Backup]]:
        """Each leader with the order it was listed in."""
        for heap in self._heaps.values():
            for _, negative_order, copy in heap:
                yield -negative_order, copy
