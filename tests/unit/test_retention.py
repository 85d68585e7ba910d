"""Retention, the only code that deletes backups: choose() and expire() as tables, on in-memory copies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from backup_copy.backups import DEPLOYMENT_TAG, MARKER_TAG, VOLUME_TAG, Backup, BackupKind, RegionFailure
from backup_copy.deadline import Deadline
from backup_copy.errors import PermanentError, TransientError
from backup_copy.outcome import Expiry, KeptCopy, SourceFailure
from backup_copy.retention import Original, RetentionResult, Scope, choose, expire, refusal, unproven
from tests.fakes import COMPARTMENT, FakeGateway

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HOME, AWAY, FAR = "us-phoenix-1", "us-ashburn-1", "eu-frankfurt-1"
OTHER_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaotherxcompartmentxforxretentionxtestsxxxxxxxxxxxxxx"
OURS = "backup-copy-us-phoenix-1"
SCOPE = Scope(OURS, HOME, frozenset({COMPARTMENT}))
DAYS = 30.0
RESERVE = 8.0
OUT_OF_TIME = "time ran out during retention: the next sweep deletes the rest"

# A copy in a table: (name, age of its data in days, lifecycle state). This deployment's copy of a
# backup of volume "vol-a" unless a test says otherwise; its id is the name, so a row reads as what
# is kept and what goes.
Row = tuple[str, float, str]


@dataclass(frozen=True)
class Seen:
    """A copy in a destination's listing, and its source as the sweep's listing shows it (or None)."""

    copy: Backup
    source: Original | None


def copy(
    name: str,
    days: float,
    state: str = "AVAILABLE",
    *,
    volume: str = "vol-a",
    marked: bool = True,
    region: str = AWAY,
    made_days: float | None = None,
) -> Seen:
    """This deployment's copy (or, unmarked, someone else's) of a backup taken `days` ago.

    The copy was made `made_days` ago, by default an hour after its source was taken.
    """
    source_id = f"source-of-{name}"
    tags = {"app": "web"}
    if marked:
        tags |= {MARKER_TAG: source_id, VOLUME_TAG: volume, DEPLOYMENT_TAG: OURS}
    made = NOW - timedelta(days=days, hours=-1) if made_days is None else NOW - timedelta(days=made_days)
    backup = Backup(
        id=name,
        kind=BackupKind.BOOT,
        region=region,
        compartment_id=COMPARTMENT,
        display_name=f"{name} (copy from {HOME})",
        lifecycle_state=state,
        source_backup_id=source_id,
        freeform_tags=tags,
        time_created=made,
    )
    return Seen(backup, Original(volume, HOME, COMPARTMENT, NOW - timedelta(days=days)))


def copies(rows: Sequence[Row]) -> list[Seen]:
    return [copy(name, days, state) for name, days, state in rows]


def listed(seen: Sequence[Seen]) -> tuple[list[Backup], dict[str, Original]]:
    """The destination's copies, and the sources the sweep listed."""
    originals = {s.copy.source_backup_id: s.source for s in seen if s.copy.source_backup_id and s.source}
    return [s.copy for s in seen], originals


def chosen(seen: Sequence[Seen], *, keep: int = 1) -> set[str]:
    found, originals = listed(seen)
    return {c.copy.id for c in choose(found, originals, SCOPE, days=DAYS, keep=keep, now=NOW)}


def seeded(found: Mapping[str, Sequence[Seen]]) -> FakeGateway:
    gateway = FakeGateway()
    for seen in found.values():
        for item in seen:
            gateway.add_backup(item.copy)
    return gateway


def run_expire(
    gateway: FakeGateway,
    found: Mapping[str, Sequence[Seen]],
    *,
    dry_run: bool = False,
    seconds: float = 60.0,
) -> RetentionResult:
    deadline = Deadline.after(seconds, clock=gateway.clock)
    originals = {k: v for seen in found.values() for k, v in listed(seen)[1].items()}
    return expire(
        gateway,
        {region: [s.copy for s in seen] for region, seen in found.items()},
        originals,
        SCOPE,
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


def test_a_chosen_copy_says_its_volume_and_the_age_of_its_data() -> None:
    found, originals = listed(
        [copy("d1", 1), copy("d45", 45, made_days=2)]  # copied two days ago, of 45-day-old data
    )
    [candidate] = choose(found, originals, SCOPE, days=DAYS, keep=1, now=NOW)
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


def ours_but(name: str, days: float, **changes: object) -> Seen:
    """This deployment's copy of a `days`-old backup, with its tags or its source changed."""
    seen = copy(name, days)
    tags = dict(seen.copy.freeform_tags)
    for key in (MARKER_TAG, DEPLOYMENT_TAG):
        if key in changes:
            value = changes.pop(key)
            if value is None:
                tags.pop(key)
            else:
                tags[key] = str(value)
    source = changes.pop("source", seen.source)
    assert source is None or isinstance(source, Original)
    found = replace(seen.copy, freeform_tags=tags, **changes)  # type: ignore[arg-type]
    return Seen(found, source)


def source_like(**changes: object) -> Original:
    return replace(Original("vol-a", HOME, COMPARTMENT, NOW - timedelta(days=40)), **changes)  # type: ignore[arg-type]


# What retention must never delete, however old: each row fails one test of the proof rule.
REFUSED = [
    pytest.param(
        ours_but("theirs", 40, **{DEPLOYMENT_TAG: "backup-copy-us-sanjose-1"}),
        f"made by deployment backup-copy-us-sanjose-1, not {OURS}",
        id="another deployment's copy",
    ),
    pytest.param(
        ours_but("pre-identity", 40, **{DEPLOYMENT_TAG: None}),
        f"no {DEPLOYMENT_TAG} tag: which deployment made it is unknown",
        id="a copy without the deployment tag",
    ),
    pytest.param(
        ours_but("native", 40, source_backup_id=None),
        "not a copy: OCI names no source backup",
        id="a native backup carrying the markers",
    ),
    pytest.param(
        ours_but("other-source", 40, **{MARKER_TAG: "source-of-something-else"}),
        f"its {MARKER_TAG} marker names source-of-something-else, not its source source-of-other-source",
        id="a marker naming another source",
    ),
    pytest.param(
        ours_but("unmarked", 40, **{MARKER_TAG: None}),
        f"no {MARKER_TAG} marker: not made by this function",
        id="an unmarked copy",
    ),
    pytest.param(
        ours_but("unlisted", 40, source=None),
        f"its source is not listed in {HOME} in SWEEP_COMPARTMENT_IDS",
        id="a source the sweep did not list",
    ),
    pytest.param(
        ours_but("elsewhere", 40, source=source_like(region="us-sanjose-1")),
        f"its source is in us-sanjose-1, not {HOME}",
        id="a source in another region",
    ),
    pytest.param(
        ours_but("other-compartment", 40, source=source_like(compartment_id=OTHER_COMPARTMENT)),
        f"its source is in {OTHER_COMPARTMENT}, not in SWEEP_COMPARTMENT_IDS",
        id="a source outside the swept compartments",
    ),
]


@pytest.mark.parametrize(("refused", "reason"), REFUSED)
@pytest.mark.parametrize("state", ["AVAILABLE", "FAULTY"])
def test_a_copy_not_provably_this_deployments_own_is_never_deleted_however_old(
    refused: Seen, reason: str, state: str
) -> None:
    refused = Seen(replace(refused.copy, lifecycle_state=state), refused.source)
    found = [copy("ours-new", 1), refused, copy("ours-old", 40), copy("ours-older", 3650)]
    assert chosen(found) == {"ours-old", "ours-older"}
    found_copies, originals = listed(found)
    assert refusal(refused.copy, originals, SCOPE) == reason
    # Reported as kept, being past RETENTION_DAYS, unless it is no copy at all.
    reported = [(k.id, k.reason) for k in unproven(found_copies, originals, SCOPE, days=DAYS, now=NOW)]
    assert reported == ([(refused.copy.id, reason)] if refused.copy.source_backup_id else [])


@pytest.mark.parametrize(
    ("tags", "made_days", "reported"),
    [
        pytest.param({}, 40, True, id="ours, made 40 days ago: its data is older still"),
        pytest.param({}, 10, False, id="ours, made 10 days ago: its data's age is unknown"),
        pytest.param({DEPLOYMENT_TAG: "dr-sjc"}, 40, False, id="another deployment's"),
        pytest.param({MARKER_TAG: "source-of-else"}, 40, False, id="a marker naming another source"),
    ],
)
def test_a_copy_whose_source_is_no_longer_listed_is_reported_when_its_tags_say_ours(
    tags: dict[str, str], made_days: float, reported: bool
) -> None:
    seen = copy("orphan", 40, made_days=made_days)
    orphan = replace(seen.copy, freeform_tags={**seen.copy.freeform_tags, **tags})
    kept = unproven([orphan], {}, SCOPE, days=DAYS, now=NOW)
    assert chosen([Seen(orphan, None)]) == set()
    assert [k.id for k in kept] == (["orphan"] if reported else [])


def test_this_deployments_own_copy_of_a_swept_source_is_proven() -> None:
    seen = copy("ours", 40)
    found, originals = listed([seen])
    assert refusal(seen.copy, originals, SCOPE) is None
    assert unproven(found, originals, SCOPE, days=DAYS, now=NOW) == []


@pytest.mark.parametrize(
    "deployment",
    [pytest.param("backup-copy-us-sanjose-1", id="another name"), pytest.param(OURS, id="the same name")],
)
def test_two_deployments_copying_into_one_destination_never_delete_each_others_copies(
    deployment: str,
) -> None:
    # One deployment per source region (Events rules are regional), both copying to AWAY; the other
    # keeps its copies for a year. Even under the same name, its sources are not in our region.
    theirs = [
        ours_but(
            f"sanjose-{age}",
            age,
            **{DEPLOYMENT_TAG: deployment},
            source=source_like(region="us-sanjose-1", time_created=NOW - timedelta(days=age)),
        )
        for age in (2, 40, 300)
    ]
    found = [copy("a1", 1), copy("a40", 40), *theirs]
    assert chosen(found) == {"a40"}


def test_a_copy_not_proven_ours_takes_no_place_among_the_kept() -> None:
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


def test_a_copy_whose_sources_time_is_unknown_is_never_chosen() -> None:
    # An unknown time sorts as the newest: the first such copy is kept, the second is past the keep.
    unknown = [copy(name, 0, "FAULTY") for name in ("unknown1", "unknown2")]
    unknown = [Seen(s.copy, replace(s.source, time_created=None)) for s in unknown if s.source]
    found = [*unknown, copy("avail1", 1), copy("avail50", 50)]
    assert chosen(found, keep=1) == {"avail50"}


@pytest.mark.parametrize(
    ("rows", "keep", "expected"),
    [
        pytest.param(
            # The 40-day-old backup's copy went FAULTY and was remade today: it is the newest copy,
            # but the 35-day-old backup's copy holds the volume's newest data.
            [("remade40", 40, 0.1), ("newest35", 35, 34.9), ("old50", 50, 49.9)],
            1,
            {"remade40", "old50"},
            id="a copy remade later ranks by its data: the newest data stays",
        ),
        pytest.param(
            [("remade40", 40, 0.1), ("newest35", 35, 34.9), ("old50", 50, 49.9)],
            2,
            {"old50"},
            id="keep 2 keeps the two newest by their data",
        ),
        pytest.param(
            # Copied an hour ago, but the data is 45 days old: past RETENTION_DAYS.
            [("fresh-copy-old-data", 45, 1 / 24), ("newest1", 1, 0.9)],
            1,
            {"fresh-copy-old-data"},
            id="age is the data's, not the copy's",
        ),
    ],
)
def test_copies_rank_and_age_by_when_their_source_was_taken(
    rows: list[tuple[str, float, float]], keep: int, expected: set[str]
) -> None:
    found = [copy(name, days, made_days=made) for name, days, made in rows]
    assert chosen(found, keep=keep) == expected


def test_of_two_copies_of_one_source_the_later_one_ranks_newer() -> None:
    faulty = copy("faulty", 40, "FAULTY", made_days=39)
    remade = Seen(
        replace(faulty.copy, id="remade", lifecycle_state="AVAILABLE", time_created=NOW), faulty.source
    )
    assert chosen([faulty, remade, copy("old", 50)]) == {"faulty", "old"}


def test_two_volumes_do_not_share_a_keep_count() -> None:
    found = [
        copy("a1", 1, volume="vol-a"),
        copy("a40", 40, volume="vol-a"),
        copy("b45", 45, volume="vol-b"),
        copy("b50", 50, volume="vol-b"),
    ]
    found_copies, originals = listed(found)
    candidates = choose(found_copies, originals, SCOPE, days=DAYS, keep=1, now=NOW)
    assert {(c.copy.id, c.volume) for c in candidates} == {("a40", "vol-a"), ("b50", "vol-b")}


def test_copies_are_grouped_by_their_sources_volume_whatever_their_tags_say() -> None:
    found = [copy("a1", 1), copy("a40", 40), copy("b50", 50, volume="vol-b")]
    # The listing of the sources says which volume each copy holds; a volume tag can be edited.
    tagged_a = replace(found[2].copy, freeform_tags={**found[2].copy.freeform_tags, VOLUME_TAG: "vol-a"})
    found[2] = Seen(tagged_a, found[2].source)
    assert chosen(found) == {"a40"}


def test_a_copy_whose_marker_names_another_source_is_never_deleted() -> None:
    # OCI copies a volume backup's tags with it: a copy someone made of one of this function's copies
    # arrives with that copy's marker, which names a source other than its own.
    seen = copy("theirs", 90)
    theirs = Seen(replace(seen.copy, source_backup_id="one-of-our-copies"), seen.source)
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
    unmarked = f"no {MARKER_TAG} marker: not made by this function"
    assert result.kept == (KeptCopy(AWAY, "a-unmarked", "source-of-a-unmarked", unmarked),)
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
