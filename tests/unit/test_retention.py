"""Retention, the only code that deletes backups: choose() and expire() as tables, on in-memory copies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from backup_copy.backups import MARKER_TAG, VOLUME_TAG, Backup, BackupKind, RegionFailure
from backup_copy.deadline import Deadline
from backup_copy.errors import PermanentError, TransientError
from backup_copy.outcome import Expiry, SourceFailure
from backup_copy.retention import RetentionResult, choose, expire
from tests.fakes import COMPARTMENT, FakeGateway

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
AWAY, FAR = "us-ashburn-1", "eu-frankfurt-1"
DAYS = 30.0
RESERVE = 8.0
OUT_OF_TIME = "time ran out during retention: the next sweep deletes the rest"

# A copy in a table: (name, age in days, lifecycle state). Marked, of volume "vol-a", unless a
# test says otherwise; its id is the name, so a row reads as what is kept and what goes.
Row = tuple[str, float, str]


def copy(
    name: str,
    days: float,
    state: str = "AVAILABLE",
    *,
    volume: str | None = "vol-a",
    marked: bool = True,
    region: str = AWAY,
) -> Backup:
    """A copy this function made (or, unmarked, someone else did) `days` ago."""
    tags = {"app": "web"}
    if marked:
        tags[MARKER_TAG] = f"source-of-{name}"
        if volume:
            tags[VOLUME_TAG] = volume
    return Backup(
        id=name,
        kind=BackupKind.BOOT,
        region=region,
        compartment_id=COMPARTMENT,
        display_name=f"{name} (copy from us-phoenix-1)",
        lifecycle_state=state,
        source_backup_id=f"source-of-{name}",
        freeform_tags=tags,
        time_created=NOW - timedelta(days=days),
    )


def copies(rows: Sequence[Row]) -> list[Backup]:
    return [copy(name, days, state) for name, days, state in rows]


def chosen(found: Sequence[Backup], *, keep: int = 1) -> set[str]:
    return {candidate.copy.id for candidate in choose(found, days=DAYS, keep=keep, now=NOW)}


def seeded(found: Mapping[str, Sequence[Backup]]) -> FakeGateway:
    gateway = FakeGateway()
    for backups in found.values():
        for backup in backups:
            gateway.add_backup(backup)
    return gateway


def run_expire(
    gateway: FakeGateway,
    found: Mapping[str, Sequence[Backup]],
    *,
    dry_run: bool = False,
    seconds: float = 60.0,
) -> RetentionResult:
    deadline = Deadline.after(seconds, clock=gateway.clock)
    return expire(
        gateway,
        found,
        days=DAYS,
        keep=1,
        dry_run=dry_run,
        deadline=deadline,
        reserve=RESERVE,
        now=NOW,
    )


# --- choose: which copies expire ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("keep", "ages", "expected"),
    [
        pytest.param(1, [1, 31, 32, 33], {31, 32, 33}, id="keep 1: every expired copy but the newest"),
        pytest.param(3, [1, 31, 32, 33], {33}, id="keep 3: the three newest stay though two are expired"),
        pytest.param(3, [31, 32, 33, 34], {34}, id="keep 3: all expired, the three newest stay"),
        pytest.param(1, [1, 2, 29, 40], {40}, id="keep 1: copies younger than RETENTION_DAYS stay"),
        pytest.param(3, [40, 50], set(), id="keep 3: fewer copies than the keep count, none goes"),
    ],
)
def test_the_newest_keep_copies_of_a_volume_stay_and_older_expired_ones_are_chosen(
    keep: int, ages: list[int], expected: set[int]
) -> None:
    found = [copy(f"d{age}", age) for age in ages]
    assert chosen(found, keep=keep) == {f"d{age}" for age in expected}


def test_a_chosen_copy_says_its_volume_and_age() -> None:
    [candidate] = choose(
        copies([("d1", 1, "AVAILABLE"), ("d45", 45, "AVAILABLE")]), days=DAYS, keep=1, now=NOW
    )
    assert (candidate.copy.id, candidate.volume, candidate.age_days) == ("d45", "vol-a", 45.0)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [("faulty31", 31, "FAULTY"), ("avail40", 40, "AVAILABLE"), ("avail50", 50, "AVAILABLE")],
            {"avail50"},
            id="newer copy FAULTY",
        ),
        pytest.param(
            [("creating31", 31, "CREATING"), ("avail40", 40, "AVAILABLE"), ("avail50", 50, "AVAILABLE")],
            {"avail50"},
            id="newer copy CREATING",
        ),
        pytest.param(
            [
                ("creating31", 31, "CREATING"),
                ("faulty32", 32, "FAULTY"),
                ("avail40", 40, "AVAILABLE"),
                ("avail50", 50, "AVAILABLE"),
            ],
            {"faulty32", "avail50"},
            id="newer copies CREATING and FAULTY",
        ),
        pytest.param(
            [("faulty31", 31, "FAULTY"), ("faulty32", 32, "FAULTY"), ("avail400", 400, "AVAILABLE")],
            {"faulty32"},
            id="the only AVAILABLE copy, over a year old",
        ),
    ],
)
def test_a_volumes_newest_available_copy_is_kept_even_past_the_cutoff(
    rows: list[Row], expected: set[str]
) -> None:
    assert chosen(copies(rows), keep=1) == expected


@pytest.mark.parametrize("age", [31, 3650])
@pytest.mark.parametrize("state", ["AVAILABLE", "FAULTY"])
@pytest.mark.parametrize(
    "tags",
    [pytest.param({}, id="no tags"), pytest.param({VOLUME_TAG: "vol-a"}, id="only the volume tag")],
)
def test_an_unmarked_copy_is_never_deleted_however_old(age: float, state: str, tags: dict[str, str]) -> None:
    unmarked = replace(copy("someone-elses", age, state), freeform_tags=tags)
    found = [copy("ours-new", 1), unmarked, copy("ours-old", 40)]
    assert chosen(found) == {"ours-old"}


def test_an_unmarked_copy_takes_no_place_among_the_kept() -> None:
    found = [copy("someone-elses", 1, marked=False), copy("ours-40", 40), copy("ours-50", 50)]
    assert chosen(found) == {"ours-50"}


@pytest.mark.parametrize("state", ["TERMINATED", "TERMINATING"])
def test_a_copy_already_gone_is_never_chosen(state: str) -> None:
    found = copies([("avail1", 1, "AVAILABLE"), ("gone40", 40, state), ("avail50", 50, "AVAILABLE")])
    assert chosen(found) == {"avail50"}


@pytest.mark.parametrize("state", ["TERMINATED", "TERMINATING"])
def test_a_copy_already_gone_takes_no_place_among_the_kept(state: str) -> None:
    rows = [
        ("gone1", 1, state),
        ("avail35", 35, "AVAILABLE"),
        ("avail40", 40, "AVAILABLE"),
        ("d50", 50, "AVAILABLE"),
    ]
    assert chosen(copies(rows), keep=2) == {"d50"}


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        pytest.param(40, {"faulty"}, id="older than RETENTION_DAYS: chosen"),
        pytest.param(10, set(), id="younger than RETENTION_DAYS: stays"),
    ],
)
def test_an_old_faulty_copy_is_chosen(age: float, expected: set[str]) -> None:
    found = copies([("avail1", 1, "AVAILABLE"), ("faulty", age, "FAULTY")])
    assert chosen(found) == expected


@pytest.mark.parametrize("state", ["CREATING", "REQUEST_RECEIVED", "COMMITTED"])
def test_a_copy_still_being_made_is_never_chosen(state: str) -> None:
    found = copies([("avail1", 1, "AVAILABLE"), ("making40", 40, state), ("avail50", 50, "AVAILABLE")])
    assert chosen(found) == {"avail50"}


def test_a_copy_whose_creation_time_is_unknown_is_never_chosen() -> None:
    # An unknown time sorts as the newest: the first such copy is kept, the second is past the keep.
    unknown = [replace(copy(name, 0, "FAULTY"), time_created=None) for name in ("unknown1", "unknown2")]
    found = [*unknown, copy("avail1", 1), copy("avail50", 50)]
    assert chosen(found, keep=1) == {"avail50"}


def test_two_volumes_do_not_share_a_keep_count() -> None:
    found = [
        copy("a1", 1, volume="vol-a"),
        copy("a40", 40, volume="vol-a"),
        copy("b45", 45, volume="vol-b"),
        copy("b50", 50, volume="vol-b"),
    ]
    candidates = choose(found, days=DAYS, keep=1, now=NOW)
    assert {(c.copy.id, c.volume) for c in candidates} == {("a40", "vol-a"), ("b50", "vol-b")}


def test_copies_without_a_volume_tag_are_grouped_by_their_source() -> None:
    found = [
        copy("s1-new", 1, volume=None),
        copy("s1-old", 40, volume=None),
        copy("s2-only", 50, volume=None),
    ]
    # Every copy names a source of its own here, so each is its source's newest AVAILABLE.
    assert chosen(found) == set()
    same_source = {**found[1].freeform_tags, MARKER_TAG: "source-of-s1-new"}
    found[1] = replace(found[1], freeform_tags=same_source, source_backup_id="source-of-s1-new")
    assert chosen(found) == {"s1-old"}


def test_a_copy_whose_marker_names_another_source_is_never_deleted() -> None:
    # OCI copies a volume backup's tags with it: a copy someone made of one of this function's copies
    # arrives with that copy's marker, which names a source other than its own.
    theirs = replace(copy("theirs", 90), source_backup_id="one-of-our-copies")
    found = [copy("ours-new", 1), copy("ours-old", 40), theirs]
    assert chosen(found) == {"ours-old"}


# --- expire: what is deleted, and what is reported ---------------------------------------------


def test_expire_deletes_each_chosen_copy_in_its_region_and_reports_it() -> None:
    found = {
        AWAY: [copy("a1", 1), copy("a40", 40), copy("a-unmarked", 90, marked=False)],
        FAR: [
            copy("f1", 1, region=FAR),
            copy("f35", 35, region=FAR),
            copy("f-making", 60, "CREATING", region=FAR),
        ],
    }
    gateway = seeded(found)
    result = run_expire(gateway, found)
    assert sorted(gateway.deleted) == [(FAR, "f35"), (AWAY, "a40")]
    assert set(result.expired) == {
        Expiry(AWAY, "a40", "vol-a", 40.0, deleted=True),
        Expiry(FAR, "f35", "vol-a", 35.0, deleted=True),
    }
    assert (result.failures, result.notes) == ((), ())
    assert set(gateway.backups) == {"a1", "a-unmarked", "f1", "f-making"}


def test_a_dry_run_deletes_nothing_and_reports_what_it_would_delete() -> None:
    found = {AWAY: [copy("a1", 1), copy("a40", 40), copy("a50", 50)]}
    gateway = seeded(found)
    result = run_expire(gateway, found, dry_run=True)
    assert gateway.deleted == []
    assert [c for c in gateway.calls if c.startswith("delete")] == []
    assert set(gateway.backups) == {"a1", "a40", "a50"}
    assert {(e.id, e.deleted) for e in result.expired} == {("a40", False), ("a50", False)}
    assert (result.failures, result.notes) == ((), ())


def test_expire_with_nothing_expired_deletes_nothing_and_notes_nothing() -> None:
    found = {AWAY: [copy("a1", 1), copy("a2", 2)], FAR: []}
    gateway = seeded(found)
    assert run_expire(gateway, found) == RetentionResult()
    assert gateway.deleted == []


@pytest.mark.parametrize(
    ("seconds", "deletes"),
    [
        pytest.param(RESERVE - 0.5, 0, id="less than the reserve at the start: none"),
        pytest.param(RESERVE, 1, id="exactly the reserve: one, then out of time"),
        pytest.param(RESERVE + 4, 2, id="room for two"),
        pytest.param(RESERVE + 12, 4, id="room for all four: no note"),
    ],
)
def test_expire_stops_when_the_deadline_leaves_less_than_the_reserve(seconds: float, deletes: int) -> None:
    found = {AWAY: [copy("a1", 1), copy("a31", 31), copy("a32", 32), copy("a33", 33), copy("a34", 34)]}
    gateway = seeded(found)
    gateway.takes["delete"] = 4.0  # each delete takes 4 s of the deadline
    result = run_expire(gateway, found, seconds=seconds)
    assert len(gateway.deleted) == deletes
    assert [e.id for e in result.expired] == [copy_id for _, copy_id in gateway.deleted]
    assert all(e.deleted for e in result.expired)
    left = {"a31", "a32", "a33", "a34"} - {copy_id for _, copy_id in gateway.deleted}
    assert left <= set(gateway.backups)
    assert result.notes == ((OUT_OF_TIME,) if left else ())


def test_a_dry_run_out_of_time_lists_only_what_fit_and_says_so() -> None:
    found = {AWAY: [copy("a1", 1), copy("a40", 40)]}
    gateway = seeded(found)
    result = run_expire(gateway, found, dry_run=True, seconds=RESERVE - 1)
    assert (result.expired, result.notes, gateway.deleted) == ((), (OUT_OF_TIME,), [])


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(
            TransientError("OCI kept answering 503", operation="delete", region=AWAY), id="transient"
        ),
        pytest.param(PermanentError("the backup is locked", operation="delete", region=AWAY), id="permanent"),
    ],
)
def test_a_failed_delete_is_reported_and_the_rest_are_still_deleted(
    error: TransientError | PermanentError,
) -> None:
    found = {AWAY: [copy("a1", 1), copy("a40", 40), copy("a50", 50), copy("a60", 60)]}
    gateway = seeded(found)
    gateway.fail_delete["a50"] = error
    result = run_expire(gateway, found)
    assert sorted(gateway.deleted) == [(AWAY, "a40"), (AWAY, "a60")]
    assert sorted(e.id for e in result.expired) == ["a40", "a60"]
    assert result.failures == (
        SourceFailure("a50", RegionFailure(AWAY, f"delete failed: {error.reason}", error.error_class)),
    )
    assert "a50" in gateway.backups
