"""Each region's share of a sweep's time, and the regions it stops calling, on the fake store."""

from __future__ import annotations

import pytest

from backup_copy.backups import BackupCopy, BackupKind, CopyRequest
from backup_copy.deadline import Deadline
from backup_copy.errors import PermanentError, RegionSkipped, TransientError, UntrustedEndpoint
from backup_copy.shares import FAILURES_TO_SKIP, MIN_SHARE_SECONDS, RegionShares
from tests.fakes import FakeGateway

HOME, AWAY, FAR = "us-phoenix-1", "us-ashburn-1", "eu-frankfurt-1"
RESERVE = 8.0


class Recording(FakeGateway):
    """The fake store, noting the time each delete was given, and failing as a queue says."""

    def __init__(self) -> None:
        super().__init__()
        self.given: list[float] = []
        self.outcomes: list[Exception | None] = []

    def delete_backup(self, kind: BackupKind, backup_id: str, region: str, deadline: Deadline) -> None:
        self.given.append(deadline.remaining())
        failure = self.outcomes.pop(0) if self.outcomes else None
        if failure is not None:
            raise failure
        super().delete_backup(kind, backup_id, region, deadline)


def transient(region: str = AWAY, attempts: int = 3) -> TransientError:
    return TransientError("OCI answered 503", operation="delete", region=region, attempts=attempts)


def shares_of(store: FakeGateway) -> RegionShares:
    return RegionShares(store, (HOME, AWAY, FAR), reserve=RESERVE)


def delete(shares: RegionShares, deadline: Deadline, region: str = AWAY) -> Exception | None:
    try:
        shares.delete_backup(BackupKind.BOOT, "a-copy", region, deadline)
    except Exception as exc:  # the test reads what the caller would see
        return exc
    return None


def test_a_call_gets_a_share_of_the_time_left_split_between_the_regions_called() -> None:
    store = Recording()
    deadline = Deadline.after(128.0, clock=store.clock)
    delete(shares_of(store), deadline)
    # (128 - 8) s between 3 regions, room for each to fail twice.
    assert store.given == [pytest.approx(120 / (3 * FAILURES_TO_SKIP))]


def test_a_call_gets_at_least_the_least_share_within_the_deadline() -> None:
    store = Recording()
    delete(shares_of(store), Deadline.after(20.0, clock=store.clock))
    delete(shares_of(store), Deadline.after(5.0, clock=store.clock))
    assert store.given == [MIN_SHARE_SECONDS, 5.0]


def test_a_region_failing_twice_running_is_skipped_and_reported_once() -> None:
    store = Recording()
    shares = shares_of(store)
    deadline = Deadline.after(120.0, clock=store.clock)
    store.outcomes = [transient(), transient()]
    failures = [delete(shares, deadline) for _ in range(4)]
    assert [type(f) for f in failures] == [TransientError, TransientError, RegionSkipped, RegionSkipped]
    assert len(store.given) == 2  # no call went out to the skipped region
    assert list(shares.skipped) == [AWAY]
    assert delete(shares, deadline, FAR) is None  # the others are still called
    [failure], [note] = shares.report()
    assert (failure.subject, failure.failure.region, failure.failure.error_class) == (AWAY, AWAY, "transient")
    assert (
        failure.failure.reason
        == "skipped for the rest of this sweep after 2 calls in a row failed: OCI answered 503"
    )
    assert note.startswith(f"{AWAY} skipped for the rest of this sweep after 2 calls in a row failed")


@pytest.mark.parametrize(
    ("between", "skipped"),
    [
        pytest.param(None, [], id="a success between: not in a row"),
        pytest.param(
            PermanentError("gone", operation="delete", region=AWAY, http_status=404),
            [],
            id="a refusal between: the region answers",
        ),
        pytest.param(transient(attempts=0), [AWAY], id="a call that never started says nothing: in a row"),
    ],
)
def test_only_failures_in_a_row_skip_a_region(between: Exception | None, skipped: list[str]) -> None:
    store = Recording()
    shares = shares_of(store)
    deadline = Deadline.after(120.0, clock=store.clock)
    store.outcomes = [transient(), between, transient()]
    for _ in range(3):
        delete(shares, deadline)
    assert list(shares.skipped) == skipped


def test_a_copy_request_failing_counts_against_its_destination() -> None:
    store = FakeGateway()
    source = store.add_source("source")
    store.fail_copy_to[AWAY] = TransientError("OCI answered 503", operation="copy", region=HOME, attempts=2)
    shares = shares_of(store)
    deadline = Deadline.after(120.0, clock=store.clock)
    request = CopyRequest(AWAY, "name", None, "token")
    for _ in range(FAILURES_TO_SKIP):
        with pytest.raises(TransientError):
            shares.request_copy(source, request, deadline)
    assert list(shares.skipped) == [AWAY]
    copy = shares.request_copy(source, CopyRequest(FAR, "name", None, "token"), deadline)
    assert isinstance(copy, BackupCopy)


def test_a_region_whose_certificate_is_rejected_is_skipped_at_its_first_call() -> None:
    # No call to it can succeed: a sweep must not spend its time on it, call after call.
    store = Recording()
    shares = shares_of(store)
    deadline = Deadline.after(120.0, clock=store.clock)
    rejected = UntrustedEndpoint(
        "the TLS certificate of the endpoint for delete in us-ashburn-1 was rejected (unable to get local "
        "issuer certificate)",
        operation="delete",
        region=AWAY,
    )
    store.outcomes = [rejected]
    failures = [delete(shares, deadline) for _ in range(3)]
    assert [type(f) for f in failures] == [UntrustedEndpoint, RegionSkipped, RegionSkipped]
    assert len(store.given) == 1
    assert delete(shares, deadline, FAR) is None
    [failure], [note] = shares.report()
    assert (failure.subject, failure.failure.region, failure.failure.error_class) == (AWAY, AWAY, "permanent")
    assert failure.failure.reason == (
        f"skipped for the rest of this sweep after its TLS certificate was rejected: {rejected.reason}"
    )
    assert note.startswith(
        f"{AWAY} skipped for the rest of this sweep after its TLS certificate was rejected"
    )
