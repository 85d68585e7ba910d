"""The sweep's listings folded as they come: what they keep, and that the phases decide as on everything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from backup_copy.backups import DEPLOYMENT_TAG, MARKER_TAG, VOLUME_TAG, Backup, BackupKind
from backup_copy.copying import filter_reason
from backup_copy.deadline import Deadline
from backup_copy.listing import Estate, list_estate, volume_key
from backup_copy.outcome import SweepOutcome
from backup_copy.retention import Original
from backup_copy.settings import Settings, load_settings
from backup_copy.sweep import run_sweep
from tests.fakes import COMPARTMENT, TOPIC, FakeGateway

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HOME, AWAY, FAR = "us-phoenix-1", "us-ashburn-1", "eu-frankfurt-1"
OURS = f"backup-copy-{HOME}"


def configured(**changes: str) -> Settings:
    values = {
        "DESTINATION_REGIONS": f"{AWAY},{FAR}",
        "NOTIFICATION_TOPIC_ID": TOPIC,
        "SWEEP_COMPARTMENT_IDS": COMPARTMENT,
        "SWEEP_REGION": HOME,
        **changes,
    }
    return load_settings(values)


def original(name: str, *, hours: float, volume: str, state: str = "AVAILABLE") -> Backup:
    return Backup(
        id=name,
        kind=BackupKind.BOOT,
        region=HOME,
        compartment_id=COMPARTMENT,
        display_name=name,
        lifecycle_state=state,
        freeform_tags={"app": "web"},
        source_type="SCHEDULED",
        volume_id=volume,
        time_created=NOW - timedelta(hours=hours),
    )


def copy(
    name: str,
    of: str,
    *,
    region: str = AWAY,
    hours: float,
    state: str = "AVAILABLE",
    marker: str | None = "own",
    made_by: str | None = OURS,
) -> Backup:
    tags = {"app": "web"}
    if marker is not None:
        tags[MARKER_TAG] = of if marker == "own" else marker
        tags[VOLUME_TAG] = f"vol-of-{of}"
    if made_by is not None:
        tags[DEPLOYMENT_TAG] = made_by
    return Backup(
        id=name,
        kind=BackupKind.BOOT,
        region=region,
        compartment_id=COMPARTMENT,
        display_name=name,
        lifecycle_state=state,
        source_backup_id=of,
        freeform_tags=tags,
        time_created=NOW - timedelta(hours=hours),
    )


def gateway_of(backups: list[Backup]) -> FakeGateway:
    gateway = FakeGateway()
    for backup in backups:
        gateway.add_backup(backup)
    return gateway


# --- what the listing keeps ------------------------------------------------------------------


@pytest.mark.parametrize(("keep", "kept"), [(1, ["c0"]), (3, ["c0", "c1", "c2"])])
def test_of_a_volumes_copies_within_retention_only_those_ranking_first_are_kept(
    keep: int, kept: list[str]
) -> None:
    daily = [original(f"b{day}", hours=24 * day + 1, volume="vol-1") for day in range(30)]
    copies = [copy(f"c{day}", f"b{day}", hours=24 * day) for day in range(30)]
    settings_ = configured(DESTINATION_REGIONS=AWAY, RETENTION_DAYS="40", RETENTION_KEEP=str(keep))
    gateway = gateway_of(daily + copies)
    estate = list_estate(settings_, gateway, HOME, Deadline.after(300, clock=gateway.clock), NOW)
    assert [c.id for c in estate.copies[AWAY]] == kept
    # Of the originals, only those a source or a kept copy names.
    assert set(estate.originals) == {f"b{day}" for day in range(keep)}


def test_copies_past_retention_are_all_kept_for_retention_to_decide() -> None:
    daily = [original(f"b{day}", hours=24 * day + 1, volume="vol-1") for day in range(10)]
    copies = [copy(f"c{day}", f"b{day}", hours=24 * day) for day in range(10)]
    gateway = gateway_of(daily + copies)
    settings_ = configured(DESTINATION_REGIONS=AWAY, RETENTION_DAYS="5")
    estate = list_estate(settings_, gateway, HOME, Deadline.after(300, clock=gateway.clock), NOW)
    assert [c.id for c in estate.copies[AWAY]] == ["c0", "c5", "c6", "c7", "c8", "c9"]


def test_every_original_is_summarised_whatever_its_age_and_only_the_window_is_kept_whole() -> None:
    backups = [original(f"b{day}", hours=24 * day + 1, volume="vol-1") for day in range(90)]
    backups.append(original("group-member", hours=1, volume="vol-2"))
    backups.append(copy("inbound", "elsewhere", region=HOME, hours=1))
    gateway = gateway_of(backups)
    settings_ = configured(DESTINATION_REGIONS=AWAY, RETENTION_DAYS="100")
    old = copy("c89", "b89", hours=24 * 89)
    gateway.add_backup(old)
    estate = list_estate(settings_, gateway, HOME, Deadline.after(300, clock=gateway.clock), NOW)
    assert [s.id for s in estate.sources] == ["b0", "group-member"]
    # The 89-day-old backup is far outside the look-back, and its copy is still proven and ranked.
    assert estate.originals["b89"] == Original("vol-1", HOME, COMPARTMENT, NOW - timedelta(days=89, hours=1))
    assert [c.id for c in estate.copies[AWAY]] == ["c89"]


# --- the phases decide on what is kept as they would on everything ---------------------------


def whole_estate(settings_: Settings, store: FakeGateway, region: str, now: datetime) -> Estate:
    """The listings held whole: every destination's backups, every original (as the sweep once did)."""
    since = now - timedelta(hours=settings_.sweep_lookback_hours)
    listed = [b for b in store.backups.values() if b.compartment_id in settings_.sweep_compartment_ids]
    originals = [b for b in listed if b.region == region and not b.is_copy]
    sources = sorted(
        (
            b
            for b in originals
            if b.lifecycle_state == "AVAILABLE"
            and b.volume_group_backup_id is None
            and b.time_created is not None
            and b.time_created >= since
            and filter_reason(b, settings_) is None
        ),
        key=lambda b: b.time_created or now,
    )
    return Estate(
        tuple(sources),
        {r: tuple(b for b in listed if b.region == r) for r in settings_.destination_regions},
        (),
        {b.id: Original(volume_key(b), b.region, b.compartment_id, b.time_created) for b in originals},
    )


# A sweep's configuration keys, and the tenancy it sweeps.
Case = tuple[dict[str, str], list[Backup]]
HOURS = st.sampled_from([1.0, 2.0, 20.0, 30.0, 50.0, 70.0, 100.0])
STATES = st.sampled_from(["AVAILABLE", "FAULTY", "CREATING", "REQUEST_RECEIVED", "TERMINATED"])


@st.composite
def estates(draw: st.DrawFn) -> Case:
    """A sweep's configuration, and a tenancy: originals of a volume or two and copies of all sorts.

    Few volumes, sources and times, so that copies share a volume, a rank, even a tie.
    """
    keys = {
        "RETENTION_KEEP": str(draw(st.integers(1, 3))),
        "SWEEP_MAX_COPIES_IN_FLIGHT": str(draw(st.integers(1, 10))),
    }
    if draw(st.booleans()):
        keys["RETENTION_DAYS"] = str(draw(st.sampled_from([1, 2, 4])))
    originals = [
        original(
            f"b{index}",
            hours=draw(HOURS),
            volume=draw(st.sampled_from(["vol-1", "vol-2"])),
            state=draw(st.sampled_from(["AVAILABLE", "AVAILABLE", "FAULTY"])),
        )
        for index in range(draw(st.integers(1, 5)))
    ]
    names = [b.id for b in originals] + ["unlisted"]
    copies = [
        copy(
            f"c{index}",
            draw(st.sampled_from(names)),
            region=draw(st.sampled_from([AWAY, AWAY, FAR])),
            hours=draw(HOURS),
            state=draw(STATES),
            marker=draw(st.sampled_from(["own", "own", "someone-else", None])),
            made_by=draw(st.sampled_from([OURS, OURS, "another-deployment", None])),
        )
        for index in range(draw(st.integers(0, 10)))
    ]
    return keys, originals + copies


def swept(keys: dict[str, str], backups: list[Backup], *, whole: bool) -> tuple[SweepOutcome, FakeGateway]:
    gateway = gateway_of(backups)

    def held_whole(
        settings_: Settings, _: object, region: str, __: Deadline, now: datetime, **___: object
    ) -> Estate:
        return whole_estate(settings_, gateway, region, now)

    with pytest.MonkeyPatch.context() as patch:
        if whole:
            patch.setattr("backup_copy.sweep.list_estate", held_whole)
        outcome = run_sweep(configured(**keys), gateway, Deadline.after(300, clock=gateway.clock), NOW)
    return outcome, gateway


# Copies that only one rule of the listing keeps, each in a case hard to come on at random.
NEWEST_AVAILABLE_BEHIND_A_FAULTY_ONE: Case = (
    {},
    [
        original("b0", hours=50, volume="vol-1"),
        original("b1", hours=30, volume="vol-1"),
        copy("c0", "b0", hours=49),
        copy("c1", "b1", hours=29, state="FAULTY"),
    ],
)
OURS_NEWEST_AVAILABLE_BEHIND_ANOTHER_DEPLOYMENTS: Case = (
    {"RETENTION_DAYS": "4"},
    [
        original(name, hours=hours, volume="vol-1")
        for name, hours in (("b-top", 30), ("b-theirs", 40), ("b-ours", 50), ("b-old", 100))
    ]
    + [
        copy("c-top", "b-top", hours=29, state="FAULTY"),
        copy("c-theirs", "b-theirs", hours=39, made_by="another-deployment"),
        copy("c-ours", "b-ours", hours=49),
        copy("c-old", "b-old", hours=99),
    ],
)
THE_SECOND_OF_TWO_KEPT_AMONG_OLDER_ONES: Case = (
    {"RETENTION_DAYS": "4", "RETENTION_KEEP": "2"},
    [original(f"b{hours}", hours=hours, volume="vol-1") for hours in (30, 50, 100)]
    + [copy(f"c{hours}", f"b{hours}", hours=hours - 1) for hours in (30, 50, 100)],
)


@settings(max_examples=500, deadline=None)
@given(estates())
@example(NEWEST_AVAILABLE_BEHIND_A_FAULTY_ONE)
@example(OURS_NEWEST_AVAILABLE_BEHIND_ANOTHER_DEPLOYMENTS)
@example(THE_SECOND_OF_TWO_KEPT_AMONG_OLDER_ONES)
def test_a_sweep_on_the_copies_kept_decides_as_on_the_whole_listing(case: Case) -> None:
    keys, backups = case
    kept, kept_gateway = swept(keys, backups, whole=False)
    whole, whole_gateway = swept(keys, backups, whole=True)
    assert kept == whole
    assert kept_gateway.deleted == whole_gateway.deleted
    assert kept_gateway.copy_requests == whole_gateway.copy_requests
    assert kept_gateway.tagged == whole_gateway.tagged
