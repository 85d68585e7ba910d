"""Each region's share of a sweep's time, and the regions a sweep stops calling.

A region that is down (503 to every call, no answer, garbage) makes every call to it retry until
its deadline: left alone, the first call to it takes the time of every other region, and a healthy
destination gets none of its copies, sweep after sweep. So the sweep calls the store through
`RegionShares`: each call (each page of a listing) may take no more than a share of the time left,
split between the regions still called, and a region whose calls fail that way twice running (a
transient failure whose retries ran out) is skipped for the rest of the sweep, and reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from backup_copy.backups import Backup, BackupCopy, BackupKind, CopyRequest, RegionFailure
from backup_copy.deadline import Deadline
from backup_copy.errors import BackupCopyError, RegionSkipped, TransientError, UntrustedEndpoint
from backup_copy.outcome import SourceFailure
from backup_copy.ports import BackupStore

# Transient failures in a row, their retries run out, after which a region is skipped. One is not
# enough to call a region down: a delete can fail that way on its own and the next succeed.
FAILURES_TO_SKIP = 2
# The least a call gets, whatever its share: the gateway keeps 4 s of a deadline back to report a
# failure, so an attempt still has 4 s for its answer.
MIN_SHARE_SECONDS = 8.0

T = TypeVar("T")


@dataclass(frozen=True)
class _Lease(Deadline):
    """The deadline of one call to a region: its share from when it was last renewed, within the sweep's."""

    # When the share runs out: renewed before each page of a listing, so each page has a share.
    until: list[float] = field(default_factory=lambda: [0.0], compare=False)

    def remaining(self) -> float:
        """Seconds left of the share, never past the sweep's deadline."""
        return max(0.0, min(self.expires_at, self.until[0]) - self.clock())


class RegionShares:
    """The store as one sweep calls it: each call within its region's share, failing regions skipped.

    `regions` are every region the sweep calls (its own, then the destinations); `reserve` is the time
    the sweep keeps back from its deadline to report. A call is about the region it is sent to, but a
    copy request (sent to the source region) is about its destination: that is what it fails for.
    """

    def __init__(self, store: BackupStore, regions: Sequence[str], *, reserve: float) -> None:
        self._store = store
        self._regions = tuple(regions)
        self._reserve = reserve
        self._failures: dict[str, int] = {}
        # The regions skipped for the rest of the sweep, and the failure that decided it.
        self.skipped: dict[str, str] = {}
        # Of those, the ones skipped at their first call: their endpoint's certificate was rejected.
        self._untrusted: set[str] = set()

    def report(self) -> tuple[tuple[SourceFailure, ...], tuple[str, ...]]:
        """A failure entry and a note for each region skipped."""
        failures: list[SourceFailure] = []
        notes: list[str] = []
        for region, why in self.skipped.items():
            if region in self._untrusted:
                after, error_class = "its TLS certificate was rejected", "permanent"
            else:
                after, error_class = f"{FAILURES_TO_SKIP} calls in a row failed", "transient"
            reason = f"skipped for the rest of this sweep after {after}: {why}"
            failures.append(SourceFailure(region, RegionFailure(region, reason, error_class)))
            notes.append(
                f"{region} skipped for the rest of this sweep after {after} ({why}): "
                "its copies, lookups and deletes wait for the next sweep"
            )
        return tuple(failures), tuple(notes)

    # --- the BackupStore port ---------------------------------------------------------

    def get_backup(self, kind: BackupKind, backup_id: str, region: str, deadline: Deadline) -> Backup:
        """Read a backup, within its region's share."""
        return self._call(
            region, deadline, lambda lease: self._store.get_backup(kind, backup_id, region, lease)
        )

    def find_copies(self, source: Backup, region: str, deadline: Deadline) -> list[BackupCopy]:
        """Look up a source's copies in `region`, within its share."""
        return self._call(region, deadline, lambda lease: self._store.find_copies(source, region, lease))

    def request_copy(self, source: Backup, request: CopyRequest, deadline: Deadline) -> BackupCopy:
        """Ask for a copy, within its destination's share; neither region may be skipped."""
        self._check(source.region)
        return self._call(
            request.destination_region,
            deadline,
            lambda lease: self._store.request_copy(source, request, lease),
        )

    def tag_copy(self, source: Backup, copy: BackupCopy, deadline: Deadline, *, deployment: str) -> None:
        """Tag a copy, within its region's share."""
        self._call(
            copy.region,
            deadline,
            lambda lease: self._store.tag_copy(source, copy, lease, deployment=deployment),
        )

    def iter_backups(
        self, kind: BackupKind, compartment_id: str, region: str, deadline: Deadline
    ) -> Iterator[Backup]:
        """A listing, each page within its region's share."""
        lease = self._lease(region, deadline)
        listing = self._store.iter_backups(kind, compartment_id, region, lease)
        while True:
            # Renewed before every item: the one after a page's last item asks for the next page.
            self._renew(lease, deadline)
            try:
                backup = self._tracked(region, partial(next, listing))
            except StopIteration:
                return
            yield backup

    def delete_backup(self, kind: BackupKind, backup_id: str, region: str, deadline: Deadline) -> None:
        """Delete a backup, within its region's share."""
        self._call(region, deadline, lambda lease: self._store.delete_backup(kind, backup_id, region, lease))

    # --- plumbing ----------------------------------------------------------------------

    def _call(self, region: str, deadline: Deadline, call: Callable[[Deadline], T]) -> T:
        return self._tracked(region, partial(call, self._lease(region, deadline)))

    def _tracked(self, region: str, work: Callable[[], T]) -> T:
        """`work()`, counting a transient failure against `region` and any answer as a sign of life."""
        try:
            result = work()
        except TransientError as exc:
            self._failed(region, exc)
            raise
        except UntrustedEndpoint as exc:
            # OCI never answered, and no call to this endpoint can succeed: skipped at once.
            if region not in self.skipped:
                self.skipped[region] = exc.reason
                self._untrusted.add(region)
            raise
        except BackupCopyError:
            # OCI answered, if only to refuse: the region is up.
            self._failures.pop(region, None)
            raise
        self._failures.pop(region, None)
        return result

    def _check(self, region: str) -> None:
        if region in self.skipped:
            raise RegionSkipped(
                f"{region} is skipped for the rest of this sweep",
                operation="sweep",
                region=region,
                attempts=0,
            )

    def _lease(self, region: str, deadline: Deadline) -> _Lease:
        self._check(region)
        lease = _Lease(deadline.expires_at, deadline.clock)
        self._renew(lease, deadline)
        return lease

    def _renew(self, lease: _Lease, deadline: Deadline) -> None:
        called = sum(region not in self.skipped for region in self._regions) or 1
        # Room for each region still called to fail FAILURES_TO_SKIP times before the reserve.
        share = (deadline.remaining() - self._reserve) / (called * FAILURES_TO_SKIP)
        lease.until[0] = deadline.clock() + max(MIN_SHARE_SECONDS, share)

    def _failed(self, region: str, exc: TransientError) -> None:
        # A call that never started (no time left) says nothing about the region.
        if exc.attempts < 1:  # RegionSkipped among them: raised with attempts=0
            return
        self._failures[region] = self._failures.get(region, 0) + 1
        if self._failures[region] >= FAILURES_TO_SKIP and region not in self.skipped:
            self.skipped[region] = exc.reason
