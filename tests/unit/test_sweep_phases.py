"""The sweep's phases, each a function returning a value, and run_sweep that composes them, on fakes."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence, Set
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from backup_copy.backups import (
    DEPLOYMENT_TAG,
    MARKER_TAG,
    VOLUME_TAG,
    Backup,
    BackupCopy,
    BackupKind,
    RegionFailure,
    retry_token,
)
from backup_copy.copying import copy_to_destinations
from backup_copy.deadline import Deadline
from backup_copy.errors import ConfigurationError, PermanentError, TransientError
from backup_copy.listing import list_estate
from backup_copy.notice import sweep_title
from backup_copy.outcome import Expiry, KeptCopy, RpoLine, SourceCopy, SourceFailure, Status, SweepReport
from backup_copy.retention import Original
from backup_copy.settings import Settings, load_settings
from backup_copy.sweep import (
    SWEEP_RESERVE_SECONDS,
    catch_up,
    rpo_lines,
    run_sweep,
    sweep_region,
    verdict,
    with_made,
)
from tests.fakes import COMPARTMENT, TOPIC, FakeGateway

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HOME, AWAY, FAR = "us-phoenix-1", "us-ashburn-1", "eu-frankfurt-1"
OTHER_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaotherxcompartmentxforxfilterxtestsxxxxxxxxxxxxxxxxx"
# What this deployment names itself on its copies: SWEEP_REGION is set, FN_FN_ID is not.
OURS = f"backup-copy-{HOME}"
BASE = {
    "DESTINATION_REGIONS": AWAY,
    "NOTIFICATION_TOPIC_ID": TOPIC,
    "SWEEP_COMPARTMENT_IDS": COMPARTMENT,
    "SWEEP_REGION": HOME,
    "RETENTION_DAYS": "30",
}


def settings(**changes: str | None) -> Settings:
    """BASE with keys changed; None removes a key."""
    values = {**BASE, **changes}
    return load_settings({key: value for key, value in values.items() if value is not None})


def plenty(gateway: FakeGateway) -> Deadline:
    return Deadline.after(300, clock=gateway.clock)


def source(
    name: str,
    *,
    hours: float = 2,
    state: str = "AVAILABLE",
    volume: str | None = None,
    kind: BackupKind = BackupKind.BOOT,
    compartment: str = COMPARTMENT,
    source_type: str = "SCHEDULED",
    tags: dict[str, str] | None = None,
    created: bool = True,
) -> Backup:
    """An original backup in the sweep's region, taken `hours` ago of `volume` (vol-<name> by default)."""
    return Backup(
        id=name,
        kind=kind,
        region=HOME,
        compartment_id=compartment,
        display_name=f"{name} daily",
        lifecycle_state=state,
        freeform_tags={"app": "web"} if tags is None else tags,
        source_type=source_type,
        volume_id=volume or f"vol-{name}",
        time_created=NOW - timedelta(hours=hours) if created else None,
    )


def copy_of(
    of: Backup | str,
    *,
    region: str = AWAY,
    name: str | None = None,
    hours: float = 1,
    state: str = "AVAILABLE",
    marked: bool = True,
    volume: str | None = None,
) -> Backup:
    """A copy of `of` in `region`, made `hours` ago: marked as this function marks its copies."""
    of_id = of if isinstance(of, str) else of.id
    volume = volume or (of.volume_id if isinstance(of, Backup) else None) or f"vol-{of_id}"
    return Backup(
        id=name or f"{of_id}-copy-in-{region}",
        kind=of.kind if isinstance(of, Backup) else BackupKind.BOOT,
        region=region,
        compartment_id=COMPARTMENT,
        display_name=f"{of_id} daily (copy from {HOME})",
        lifecycle_state=state,
        source_backup_id=of_id,
        freeform_tags={MARKER_TAG: of_id, VOLUME_TAG: volume, DEPLOYMENT_TAG: OURS} if marked else {},
        time_created=NOW - timedelta(hours=hours),
    )


def store(*backups: Backup) -> FakeGateway:
    gateway = FakeGateway()
    for backup in backups:
        gateway.add_backup(backup)
    return gateway


def requested(gateway: FakeGateway) -> list[tuple[str, str]]:
    """The copies the gateway was asked for, as (source, destination)."""
    return [(source_id, request.destination_region) for source_id, request in gateway.copy_requests]


# --- sweep_region: the refusals before anything is listed ------------------------------------


@pytest.mark.parametrize(
    ("changes", "names"),
    [
        pytest.param(
            {"SWEEP_REGION": None}, ["SWEEP_REGION", "OCI_RESOURCE_PRINCIPAL_REGION"], id="no region"
        ),
        pytest.param({"SWEEP_COMPARTMENT_IDS": None}, ["SWEEP_COMPARTMENT_IDS"], id="no compartments"),
        pytest.param(
            {"SWEEP_REGION": AWAY}, ["DESTINATION_REGIONS", AWAY], id="sweep region is a destination"
        ),
        pytest.param(
            {"SWEEP_REGION": None, "OCI_RESOURCE_PRINCIPAL_REGION": AWAY},
            ["DESTINATION_REGIONS", AWAY],
            id="function's own region is a destination",
        ),
    ],
)
def test_a_sweep_without_a_usable_region_or_compartments_is_refused_naming_the_key(
    changes: dict[str, str | None], names: list[str]
) -> None:
    configured = settings(**changes)
    with pytest.raises(ConfigurationError) as refused:
        sweep_region(configured)
    assert all(name in refused.value.reason for name in names)
    gateway = FakeGateway()
    with pytest.raises(ConfigurationError):
        run_sweep(configured, gateway, plenty(gateway), NOW)
    assert gateway.calls == []  # refused before anything was listed, copied or deleted


@pytest.mark.parametrize(
    ("changes", "region"),
    [
        pytest.param({}, HOME, id="SWEEP_REGION"),
        pytest.param(
            {"OCI_RESOURCE_PRINCIPAL_REGION": "uk-london-1"}, HOME, id="SWEEP_REGION over own region"
        ),
        pytest.param(
            {"SWEEP_REGION": None, "OCI_RESOURCE_PRINCIPAL_REGION": "uk-london-1"},
            "uk-london-1",
            id="own region",
        ),
    ],
)
def test_the_sweep_region_is_sweep_region_else_the_functions_own(
    changes: dict[str, str | None], region: str
) -> None:
    assert sweep_region(settings(**changes)) == region


# --- list_estate: the sources and the destinations' backups ----------------------------------


@pytest.mark.parametrize(
    ("candidate", "changes", "listed"),
    [
        pytest.param(source("it"), {}, True, id="AVAILABLE original in the window"),
        pytest.param(source("it", hours=23.9), {}, True, id="just inside the 24 h look-back"),
        pytest.param(source("it", hours=24.1), {}, False, id="just outside the 24 h look-back"),
        pytest.param(
            source("it", hours=70), {"SWEEP_LOOKBACK_HOURS": "72"}, True, id="inside a 72 h look-back"
        ),
        pytest.param(source("it", state="CREATING"), {}, False, id="CREATING"),
        pytest.param(source("it", state="REQUEST_RECEIVED"), {}, False, id="REQUEST_RECEIVED"),
        pytest.param(source("it", state="FAULTY"), {}, False, id="FAULTY"),
        pytest.param(source("it", state="TERMINATED"), {}, False, id="TERMINATED"),
        pytest.param(
            copy_of("elsewhere", region=HOME, name="it"), {}, False, id="a copy from another region"
        ),
        pytest.param(source("it", created=False), {}, False, id="no creation time"),
        pytest.param(source("it", kind=BackupKind.VOLUME), {}, True, id="a volume backup"),
        pytest.param(source("it", kind=BackupKind.VOLUME_GROUP), {}, True, id="a volume group backup"),
        pytest.param(source("it"), {"SOURCE_TYPES": "MANUAL"}, False, id="filtered by SOURCE_TYPES"),
        pytest.param(source("it"), {"REQUIRED_TAG": "backup-dr=true"}, False, id="filtered by REQUIRED_TAG"),
        pytest.param(
            source("it", tags={"backup-dr": "true"}),
            {"REQUIRED_TAG": "backup-dr=true"},
            True,
            id="has REQUIRED_TAG",
        ),
        pytest.param(source("it"), {"COMPARTMENT_IDS": COMPARTMENT}, True, id="in COMPARTMENT_IDS"),
        pytest.param(
            source("it"), {"COMPARTMENT_IDS": OTHER_COMPARTMENT}, False, id="filtered by COMPARTMENT_IDS"
        ),
        pytest.param(
            source("it", compartment=OTHER_COMPARTMENT), {}, False, id="not in SWEEP_COMPARTMENT_IDS"
        ),
    ],
)
def test_the_sources_are_only_available_originals_in_the_window_that_pass_the_filters(
    candidate: Backup, changes: dict[str, str | None], listed: bool
) -> None:
    gateway = store(candidate)
    estate = list_estate(settings(**changes), gateway, HOME, plenty(gateway), NOW)
    assert [s.id for s in estate.sources] == (["it"] if listed else [])
    assert estate.failures == ()


def test_the_sources_come_oldest_first_and_of_the_destinations_the_copies_a_phase_reads() -> None:
    newest, middle, oldest = source("newest", hours=1), source("middle", hours=5), source("oldest", hours=20)
    read_away = (copy_of(oldest), copy_of(middle, state="FAULTY"))
    read_far = (copy_of(oldest, region=FAR),)
    # A recent copy of a backup the sweep did not list, made by hand, and a deleted copy: no phase
    # reads them, so the listing drops them as they come.
    passed_over = (copy_of("someone", marked=False), copy_of("gone", region=FAR, state="TERMINATED"))
    gateway = store(newest, middle, oldest, *read_away, *read_far, *passed_over)
    estate = list_estate(settings(DESTINATION_REGIONS=f"{AWAY},{FAR}"), gateway, HOME, plenty(gateway), NOW)
    assert [s.id for s in estate.sources] == ["oldest", "middle", "newest"]
    assert {region: {b.id for b in found} for region, found in estate.copies.items()} == {
        AWAY: {b.id for b in read_away},
        FAR: {b.id for b in read_far},
    }
    assert estate.failures == ()


@pytest.mark.parametrize(
    ("failing", "sources", "in_away"),
    [
        pytest.param(AWAY, {"it"}, set(), id="a destination's listing"),
        pytest.param(HOME, set(), {"old-copy-in-us-ashburn-1"}, id="the sweep region's listing"),
    ],
)
def test_a_listing_that_fails_is_a_failure_entry_not_an_exception(
    failing: str, sources: set[str], in_away: set[str]
) -> None:
    # "old" is this deployment's copy, past RETENTION_DAYS, of a backup no longer listed: retention
    # lists it as kept, so the estate holds it when the destination's listing works.
    gateway = store(source("it"), copy_of("old", hours=24 * 40))
    gateway.fail_list_in[failing] = TransientError("OCI kept answering 503", operation="list", region=failing)
    estate = list_estate(settings(), gateway, HOME, plenty(gateway), NOW)
    assert {s.id for s in estate.sources} == sources
    assert {b.id for b in estate.copies[AWAY]} == in_away
    assert set(estate.failures) == {
        SourceFailure(
            COMPARTMENT, RegionFailure(failing, "listing failed: OCI kept answering 503", "transient")
        )
    }


# --- catch_up: copy what lacks a live copy somewhere -----------------------------------------


@pytest.mark.parametrize(
    ("in_away", "in_far", "copied_to"),
    [
        pytest.param(None, None, [AWAY, FAR], id="no copy anywhere: both"),
        pytest.param("AVAILABLE", "CREATING", [], id="live in both: none"),
        pytest.param(
            "REQUEST_RECEIVED", "AVAILABLE", [], id="requested in one, available in the other: none"
        ),
        pytest.param("AVAILABLE", None, [FAR], id="only in one: the other"),
        pytest.param("FAULTY", "AVAILABLE", [AWAY], id="FAULTY in one: that one again"),
        pytest.param("TERMINATED", "TERMINATED", [AWAY, FAR], id="deleted in both: both"),
    ],
)
def test_catch_up_copies_a_source_only_where_it_lacks_a_live_copy(
    in_away: str | None, in_far: str | None, copied_to: list[str]
) -> None:
    # A volume backup: OCI copies it to every destination at once (a boot volume's, one at a time).
    it = source("it", volume="vol-1", kind=BackupKind.VOLUME)
    existing = [copy_of(it, region=r, state=s) for r, s in ((AWAY, in_away), (FAR, in_far)) if s]
    gateway = store(it, *existing)
    configured = settings(DESTINATION_REGIONS=f"{AWAY},{FAR}")
    estate = list_estate(configured, gateway, HOME, plenty(gateway), NOW)
    caught_up = catch_up(configured, gateway, estate, plenty(gateway), NOW)
    assert requested(gateway) == [("it", region) for region in copied_to]
    assert [(c.source, c.copy.region) for c in caught_up.copied] == [("it", region) for region in copied_to]
    assert [(b.region, b.source_backup_id) for b in caught_up.made] == [
        (region, "it") for region in copied_to
    ]
    assert (caught_up.failures, caught_up.left) == ((), ())


@pytest.mark.parametrize(
    ("in_away", "copied_to", "queued_for"),
    [
        pytest.param(None, [AWAY], [FAR], id="no copy anywhere: the first, the other waits"),
        pytest.param("CREATING", [], [FAR], id="a copy in flight: the other waits"),
        pytest.param("REQUEST_RECEIVED", [], [FAR], id="a copy requested: the other waits"),
        pytest.param("COMMITTED", [], [FAR], id="a copy committed, not yet available: the other waits"),
        pytest.param("AVAILABLE", [FAR], [], id="the first copy finished: the other"),
    ],
)
def test_catch_up_copies_a_boot_backup_to_one_destination_at_a_time(
    in_away: str | None, copied_to: list[str], queued_for: list[str]
) -> None:
    it = source("it", volume="vol-1")
    existing = [copy_of(it, region=AWAY, state=in_away)] if in_away else []
    gateway = store(it, *existing)
    configured = settings(DESTINATION_REGIONS=f"{AWAY},{FAR}")
    estate = list_estate(configured, gateway, HOME, plenty(gateway), NOW)
    caught_up = catch_up(configured, gateway, estate, plenty(gateway), NOW)
    assert requested(gateway) == [("it", region) for region in copied_to]
    assert [(c.source, c.copy.region) for c in caught_up.copied] == [("it", region) for region in copied_to]
    assert [(q.source, q.region, q.volume, q.since) for q in caught_up.queued] == [
        ("it", region, "vol-1", it.time_created) for region in queued_for
    ]
    assert (caught_up.failures, caught_up.left) == ((), ())


def test_a_volume_group_backup_is_copied_once_and_its_members_never_on_their_own() -> None:
    group = source("group", kind=BackupKind.VOLUME_GROUP, volume="vg-1")
    members = [
        replace(source(name, kind=kind, volume=f"vol-{name}"), volume_group_backup_id="group")
        for name, kind in (("boot-member", BackupKind.BOOT), ("data-member", BackupKind.VOLUME))
    ]
    gateway = store(group, *members)
    estate = list_estate(settings(), gateway, HOME, plenty(gateway), NOW)
    caught_up = catch_up(settings(), gateway, estate, plenty(gateway), NOW)
    assert [s.id for s in estate.sources] == ["group"]
    assert requested(gateway) == [("group", AWAY)]
    assert [c.source for c in caught_up.copied] == ["group"]


def test_a_committed_copy_is_in_flight_for_the_cap() -> None:
    busy = source("busy", kind=BackupKind.VOLUME_GROUP, volume="vg-1", hours=3)
    waiting = source("waiting", kind=BackupKind.VOLUME, volume="vol-2")
    gateway = store(busy, copy_of(busy, state="COMMITTED"), waiting)
    configured = settings(SWEEP_MAX_COPIES_IN_FLIGHT="1")
    estate = list_estate(configured, gateway, HOME, plenty(gateway), NOW)
    caught_up = catch_up(configured, gateway, estate, plenty(gateway), NOW)
    assert requested(gateway) == []
    assert [(q.source, q.region) for q in caught_up.queued] == [("waiting", AWAY)]


def test_the_made_copies_are_what_a_listing_would_show() -> None:
    it = source("it", volume="vol-1", tags={"app": "web"})
    gateway = store(it)
    estate = list_estate(settings(), gateway, HOME, plenty(gateway), NOW)
    caught_up = catch_up(settings(), gateway, estate, plenty(gateway), NOW)
    [new] = [c.copy for c in caught_up.copied]
    [made] = caught_up.made
    assert (made.id, made.region, made.kind, made.compartment_id) == (
        new.id,
        AWAY,
        BackupKind.BOOT,
        COMPARTMENT,
    )
    assert (made.lifecycle_state, made.source_backup_id, made.volume_id) == ("CREATING", "it", "vol-1")
    assert made.freeform_tags == {
        "app": "web",
        MARKER_TAG: "it",
        VOLUME_TAG: "vol-1",
        DEPLOYMENT_TAG: OURS,
    }
    assert made.time_created == NOW


def test_a_copy_whose_tags_were_not_set_is_a_warning_and_is_not_taken_for_ours() -> None:
    gateway = store(source("it", volume="vol-1"))
    gateway.fail_tag = TransientError("throttled", operation="tag", region=AWAY)
    estate = list_estate(settings(), gateway, HOME, plenty(gateway), NOW)
    caught_up = catch_up(settings(), gateway, estate, plenty(gateway), NOW)
    warning = SourceFailure("it", RegionFailure(AWAY, "tags not set: throttled", "tags"))
    assert ([c.source for c in caught_up.copied], caught_up.warnings) == (["it"], (warning,))
    assert [b.freeform_tags for b in caught_up.made] == [{}]
    gateway = store(source("it", volume="vol-1"))
    gateway.fail_tag = TransientError("throttled", operation="tag", region=AWAY)
    outcome = run_sweep(settings(), gateway, plenty(gateway), NOW)
    assert outcome.report is not None
    assert outcome.report.warnings == (warning,)


def test_where_a_listing_failed_a_live_copy_the_lookup_finds_is_made_but_not_copied_again() -> None:
    it = source("it")
    gateway = store(it)
    gateway.fail_list_in[AWAY] = TransientError("OCI kept answering 503", operation="list", region=AWAY)
    gateway.copies[f"it|{AWAY}"] = [BackupCopy(AWAY, "late", "CREATING", marked=True)]
    estate = list_estate(settings(), gateway, HOME, plenty(gateway), NOW)
    caught_up = catch_up(settings(), gateway, estate, plenty(gateway), NOW)
    assert (requested(gateway), caught_up.copied) == ([], ())
    assert [b.id for b in caught_up.made] == ["late"]


def test_a_sweep_copying_n_pairs_makes_n_copies_and_n_tag_writes_and_no_lookup() -> None:
    sources = [source(f"s{n}", kind=BackupKind.VOLUME, hours=n + 1) for n in range(6)]
    # Copies of other backups, and an earlier FAULTY copy: the listing shows them, no lookup is needed.
    gateway = store(*sources, copy_of(sources[0], state="FAULTY", name="broken"), copy_of("elsewhere"))
    configured = settings(DESTINATION_REGIONS=f"{AWAY},{FAR}", SWEEP_MAX_COPIES_IN_FLIGHT="100")
    outcome = run_sweep(configured, gateway, plenty(gateway), NOW)
    assert outcome.report is not None
    pairs = sorted((s.id, region) for s in sources for region in (AWAY, FAR))
    assert sorted((c.source, c.copy.region) for c in outcome.report.copied) == pairs
    # One listing per region and kind (one compartment), then a copy and a tag write per pair.
    listings = 3 * len(BackupKind)
    assert Counter(call.split()[0] for call in gateway.calls) == {
        "list-all": listings,
        "copy": len(pairs),
        "tag": len(pairs),
    }
    assert sorted(requested(gateway)) == pairs


def test_a_destination_whose_listing_failed_has_its_copies_looked_up_and_only_it() -> None:
    gateway = seed_estate()
    gateway.fail_list_in[FAR] = PermanentError("not authorized", operation="list", region=FAR)
    run_sweep(settings(DESTINATION_REGIONS=f"{AWAY},{FAR}"), gateway, plenty(gateway), NOW)
    lookups = [call for call in gateway.calls if call.startswith("list ")]
    # "done" is copied to AWAY already, and its copy to FAR is asked after a lookup there. The other
    # two boot volumes each get a copy to AWAY, from the listing, and wait for FAR (one copy at a time).
    assert lookups == [f"list {FAR}"]
    assert sorted(requested(gateway)) == [("done", FAR), ("missed", AWAY), ("refaulted", AWAY)]


@pytest.mark.parametrize("gone_state", ["TERMINATED", "TERMINATING"])
def test_the_sweep_asks_with_the_retry_token_the_event_path_would_after_a_faulty_and_a_gone_copy(
    gone_state: str,
) -> None:
    it = source("it", kind=BackupKind.VOLUME)
    earlier = (
        copy_of(it, name="broken", state="FAULTY", hours=20),
        copy_of(it, name="gone", state=gone_state, hours=30),
        # Moved to another swept compartment: the event path's lookup, in the source's, never sees them.
        *(
            replace(
                copy_of(it, name=f"moved-{state}", state=state, hours=40), compartment_id=OTHER_COMPARTMENT
            )
            for state in ("FAULTY", gone_state)
        ),
    )
    configured = settings(SWEEP_COMPARTMENT_IDS=f"{COMPARTMENT},{OTHER_COMPARTMENT}")
    by_sweep, by_event = store(it, *earlier), store(it, *earlier)
    run_sweep(configured, by_sweep, plenty(by_sweep), NOW)
    copy_to_destinations(it, (AWAY,), configured, by_event, plenty(by_event))
    [(_, swept)] = by_sweep.copy_requests
    [(_, evented)] = by_event.copy_requests
    assert swept == evented
    assert swept.retry_token == retry_token("it", AWAY, ["broken", "gone"], deployment=configured.deployment)
    assert f"list {AWAY}" not in by_sweep.calls


@pytest.mark.parametrize(
    ("seconds", "copied", "left"),
    [
        pytest.param(SWEEP_RESERVE_SECONDS - 1, [], ["s1", "s2", "s3"], id="less than the reserve: all left"),
        pytest.param(SWEEP_RESERVE_SECONDS + 5, ["s1", "s2"], ["s3"], id="room for two"),
        pytest.param(SWEEP_RESERVE_SECONDS + 100, ["s1", "s2", "s3"], [], id="room for all"),
    ],
)
def test_catch_up_leaves_what_the_deadline_does_not_allow_oldest_first(
    seconds: float, copied: list[str], left: list[str]
) -> None:
    gateway = store(source("s3", hours=1), source("s1", hours=3), source("s2", hours=2))
    gateway.takes["copy"] = 4.0
    deadline = Deadline.after(seconds, clock=gateway.clock)
    estate = list_estate(settings(), gateway, HOME, deadline, NOW)
    caught_up = catch_up(settings(), gateway, estate, deadline, NOW)
    assert [c.source for c in caught_up.copied] == copied
    assert [source_id for source_id, _ in requested(gateway)] == copied
    assert list(caught_up.left) == left
    assert len(caught_up.made) == len(copied)


def test_a_dry_run_catch_up_plans_copies_and_requests_none() -> None:
    gateway = store(source("s1", hours=3), source("s2", hours=2), copy_of("s2"))
    configured = settings(DRY_RUN="true")
    estate = list_estate(configured, gateway, HOME, plenty(gateway), NOW)
    caught_up = catch_up(configured, gateway, estate, plenty(gateway), NOW)
    assert requested(gateway) == []
    assert caught_up.copied == (SourceCopy("s1", BackupCopy(AWAY, None, "PLANNED")),)
    assert caught_up.made == ()


def test_a_copy_that_fails_in_one_destination_is_a_failure_and_the_other_is_still_copied() -> None:
    gateway = store(source("s1", kind=BackupKind.VOLUME))
    gateway.fail_copy_to[FAR] = PermanentError("quota exceeded", operation="copy", region=HOME)
    configured = settings(DESTINATION_REGIONS=f"{AWAY},{FAR}")
    estate = list_estate(configured, gateway, HOME, plenty(gateway), NOW)
    caught_up = catch_up(configured, gateway, estate, plenty(gateway), NOW)
    assert [(c.source, c.copy.region) for c in caught_up.copied] == [("s1", AWAY)]
    assert caught_up.failures == (SourceFailure("s1", RegionFailure(FAR, "quota exceeded", "permanent")),)
    assert [b.region for b in caught_up.made] == [AWAY]


# --- with_made --------------------------------------------------------------------------------


def test_the_made_copies_join_their_regions_listing() -> None:
    listed_away, listed_far = copy_of("a"), copy_of("a", region=FAR)
    made_away, made_far = copy_of("b", name="new-away"), copy_of("b", region=FAR, name="new-far")
    joined = with_made({AWAY: (listed_away,), FAR: (listed_far,)}, [made_away, made_far])
    assert joined == {AWAY: (listed_away, made_away), FAR: (listed_far, made_far)}
    assert with_made({AWAY: (listed_away,)}, []) == {AWAY: (listed_away,)}


# --- verdict ----------------------------------------------------------------------------------

FAILURE = SourceFailure("s1", RegionFailure(AWAY, "quota exceeded", "permanent"))
LATER_FAILURE = SourceFailure("s2", RegionFailure(FAR, "OCI kept answering 503", "transient"))
COPIED = (SourceCopy("s1", BackupCopy(AWAY, "c1", "CREATING")),)
PLANNED = (SourceCopy("s1", BackupCopy(AWAY, None, "PLANNED")),)


@pytest.mark.parametrize(
    ("dry_run", "report", "expected"),
    [
        pytest.param(
            False,
            SweepReport(HOME, 2, copied=COPIED, failures=(FAILURE, LATER_FAILURE), left=("s3",)),
            (Status.FAILED, f"s1: {AWAY}: quota exceeded; s2: {FAR}: OCI kept answering 503", "permanent"),
            id="failures: failed, every one named, the first one's class",
        ),
        pytest.param(
            True,
            SweepReport(HOME, 1, copied=PLANNED, failures=(LATER_FAILURE,)),
            (Status.FAILED, f"s2: {FAR}: OCI kept answering 503", "transient"),
            id="failures under dry run: still failed",
        ),
        pytest.param(
            False,
            SweepReport(HOME, 3, copied=COPIED, left=("s2", "s3")),
            (Status.FAILED, "time ran out with 2 backup(s) left for the next sweep", "transient"),
            id="left: failed, transient",
        ),
        pytest.param(
            True,
            SweepReport(HOME, 2, left=("s2",)),
            (Status.FAILED, "time ran out with 1 backup(s) left for the next sweep", "transient"),
            id="left under dry run: still failed",
        ),
        pytest.param(
            True,
            SweepReport(HOME, 1, copied=PLANNED),
            (Status.DRY_RUN, "DRY_RUN is on: nothing was copied or deleted", None),
            id="dry run",
        ),
        pytest.param(False, SweepReport(HOME, 1, copied=COPIED), (Status.COPIED, None, None), id="copied"),
        pytest.param(
            False,
            SweepReport(HOME, 4, expired=(Expiry(AWAY, "old", "vol-1", 40.0, deleted=True),)),
            (Status.ALREADY_COPIED, "every backup in the window has its copies", None),
            id="nothing to copy: already_copied",
        ),
    ],
)
def test_the_verdict(
    dry_run: bool, report: SweepReport, expected: tuple[Status, str | None, str | None]
) -> None:
    assert verdict(settings(DRY_RUN=str(dry_run).lower()), report) == expected


# --- rpo_lines --------------------------------------------------------------------------------

RPO_24 = "newest copy older than RPO_HOURS=24"
WAITING_SINCE_30 = "no AVAILABLE copy of backups waiting since 2025-05-31T06:00+00:00, past RPO_HOURS=24"


Seen = tuple[Backup, Original]


def marked_copy(
    name: str, hours: float, state: str = "AVAILABLE", *, marked: bool = True, made: float | None = None
) -> Seen:
    """A copy of vol-1's backup taken `hours` ago, made `made` hours ago (half an hour after it)."""
    source_id = f"src-{name}"
    made = hours - 0.5 if made is None else made
    copy = copy_of(source_id, name=name, hours=made, state=state, marked=marked, volume="vol-1")
    return copy, Original("vol-1", HOME, COMPARTMENT, NOW - timedelta(hours=hours))


def rpo_of(found: Sequence[Seen], gone: Set[str] = frozenset(), **changes: str) -> tuple[RpoLine, ...]:
    """The RPO report for vol-1 in AWAY, whose backup "src" was taken 2 hours ago."""
    src = source("src", volume="vol-1")
    originals = {copy.source_backup_id or "": original for copy, original in found}
    originals["src"] = Original("vol-1", HOME, COMPARTMENT, src.time_created)
    copies = {AWAY: tuple(copy for copy, _ in found)}
    return rpo_lines(settings(RPO_HOURS="24", **changes), copies, [src], set(gone), NOW, originals=originals)


@pytest.mark.parametrize(
    ("found", "gone", "expected"),
    [
        pytest.param(
            [marked_copy("c2", 2), marked_copy("c5", 5)],
            set(),
            RpoLine("vol-1", AWAY, "c2", 2.0, "AVAILABLE", None),
            id="a fresh AVAILABLE copy: no flag",
        ),
        pytest.param(
            [marked_copy("c30", 30)],
            set(),
            RpoLine("vol-1", AWAY, "c30", 30.0, "AVAILABLE", RPO_24),
            id="older than RPO_HOURS",
        ),
        pytest.param(
            [marked_copy("c70", 70, made=0.5)],
            set(),
            RpoLine("vol-1", AWAY, "c70", 70.0, "AVAILABLE", RPO_24),
            id="copied half an hour ago, of 70-hour-old data: past RPO_HOURS",
        ),
        pytest.param(
            [marked_copy("remade30", 30, made=1), marked_copy("c20", 20)],
            set(),
            RpoLine("vol-1", AWAY, "c20", 20.0, "AVAILABLE", None),
            id="an older backup's copy remade later: the newest data counts",
        ),
        pytest.param(
            [marked_copy("making", 1, "CREATING")],
            set(),
            RpoLine("vol-1", AWAY, None, None, "CREATING", None),
            id="a first copy just requested: not past RPO_HOURS yet",
        ),
        pytest.param(
            [marked_copy("making", 30, "CREATING", made=1)],
            set(),
            RpoLine("vol-1", AWAY, None, None, "CREATING", WAITING_SINCE_30),
            id="a first copy in flight of data older than RPO_HOURS",
        ),
        pytest.param(
            [marked_copy("making", 1, "CREATING"), marked_copy("c20", 20)],
            set(),
            RpoLine("vol-1", AWAY, "c20", 20.0, "CREATING", None),
            id="a new copy in flight, the previous good one within RPO_HOURS",
        ),
        pytest.param(
            [marked_copy("bad", 1, "FAULTY"), marked_copy("c3", 3)],
            set(),
            RpoLine("vol-1", AWAY, "c3", 3.0, "FAULTY", "latest copy is FAULTY"),
            id="latest FAULTY",
        ),
        pytest.param(
            [marked_copy("bad", 1, "FAULTY"), marked_copy("c30", 30)],
            set(),
            RpoLine("vol-1", AWAY, "c30", 30.0, "FAULTY", f"latest copy is FAULTY; {RPO_24}"),
            id="latest FAULTY and older than RPO_HOURS",
        ),
        pytest.param(
            [marked_copy("bad", 1, "FAULTY")],
            set(),
            RpoLine("vol-1", AWAY, None, None, "FAULTY", "latest copy is FAULTY"),
            id="only FAULTY, the sweep copying again within RPO_HOURS",
        ),
        pytest.param(
            [marked_copy("theirs", 1, marked=False), marked_copy("c30", 30)],
            set(),
            RpoLine("vol-1", AWAY, "c30", 30.0, "AVAILABLE", RPO_24),
            id="an unmarked copy does not count",
        ),
        pytest.param(
            [marked_copy("deleting", 1, "TERMINATING"), marked_copy("c30", 30)],
            set(),
            RpoLine("vol-1", AWAY, "c30", 30.0, "AVAILABLE", RPO_24),
            id="a copy being deleted does not count",
        ),
        pytest.param(
            [marked_copy("c2", 2), marked_copy("c30", 30)],
            {"c2"},
            RpoLine("vol-1", AWAY, "c30", 30.0, "AVAILABLE", RPO_24),
            id="a copy this sweep deleted does not count",
        ),
        pytest.param(
            [],
            set(),
            RpoLine("vol-1", AWAY, None, None, None, None),
            id="a backup taken 2 hours ago with no copy yet",
        ),
    ],
)
def test_the_rpo_line_is_the_age_of_the_data_in_the_newest_available_marked_copy(
    found: list[Seen], gone: set[str], expected: RpoLine
) -> None:
    assert rpo_of(found, gone) == (expected,)


def test_there_is_an_rpo_line_per_volume_and_destination_for_sources_and_copies_alike() -> None:
    configured = settings(DESTINATION_REGIONS=f"{AWAY},{FAR}")
    recent = source("recent", volume="vol-recent")  # in the window, copied nowhere yet
    # A copy whose source is out of the window: its volume still has a line.
    older = copy_of("out-of-window", name="old-copy", hours=100, volume="vol-older")
    # A copy whose source is no longer listed: how old its data is, nothing says.
    orphan = copy_of("deleted-source", name="orphan", hours=100, volume="vol-gone")
    originals = {
        "recent": Original("vol-recent", HOME, COMPARTMENT, recent.time_created),
        "out-of-window": Original("vol-older", HOME, COMPARTMENT, NOW - timedelta(hours=101)),
    }
    lines = rpo_lines(configured, {AWAY: (older, orphan), FAR: ()}, [recent], set(), NOW, originals=originals)
    assert [(line.volume, line.region, line.newest_available_id, line.flag) for line in lines] == [
        ("vol-older", AWAY, "old-copy", "newest copy older than RPO_HOURS=24"),
        ("vol-older", FAR, None, "no AVAILABLE copy"),
        # Taken 2 hours ago: its first copies are on their way, within RPO_HOURS.
        ("vol-recent", AWAY, None, None),
        ("vol-recent", FAR, None, None),
    ]


@pytest.mark.parametrize(
    ("hours", "flag"),
    [
        pytest.param(23, None, id="taken 23 hours ago: within RPO_HOURS"),
        pytest.param(30, WAITING_SINCE_30, id="taken 30 hours ago: past RPO_HOURS"),
    ],
)
def test_a_volume_without_an_available_copy_is_past_rpo_once_its_oldest_waiting_backup_is(
    hours: float, flag: str | None
) -> None:
    # A 72-hour look-back: the sweep still copies a backup taken 30 hours ago.
    configured = settings(SWEEP_LOOKBACK_HOURS="72", RPO_HOURS="24")
    old, new = source("old", hours=hours, volume="vol-1"), source("new", hours=1, volume="vol-1")
    originals = {b.id: Original("vol-1", HOME, COMPARTMENT, b.time_created) for b in (old, new)}
    making = copy_of(new, name="making", hours=0.5, state="CREATING")
    [line] = rpo_lines(configured, {AWAY: (making,)}, [old, new], set(), NOW, originals=originals)
    assert (line.newest_available_id, line.latest_state, line.flag) == (None, "CREATING", flag)


# --- run_sweep: the phases composed ----------------------------------------------------------


def seed_estate() -> FakeGateway:
    """A tenancy like the over-HTTP sweep test's: what to copy, keep and delete, by role."""
    missed = source("missed", hours=2, volume="vol-a")  # its event was lost: no copy anywhere
    refaulted = source("refaulted", hours=3, volume="vol-b")  # its only copy went FAULTY
    done = source("done", hours=1, volume="vol-d")  # already copied
    too_old = source("too-old", hours=30, volume="vol-a")  # outside the look-back window
    days = 24.0
    # Older backups, out of the window, each with a copy made an hour after it was taken.
    a40, a35 = (
        source("a-40", hours=40 * days, volume="vol-a"),
        source("a-35", hours=35 * days, volume="vol-a"),
    )
    a2, b50 = source("a-2", hours=2 * days, volume="vol-a"), source("b-50", hours=50 * days, volume="vol-b")
    theirs = replace(
        copy_of("ocid1.bootvolumebackup.oc1.us-sanjose-1.theirs", name="theirs", hours=90 * days),
        freeform_tags={
            MARKER_TAG: "ocid1.bootvolumebackup.oc1.us-sanjose-1.theirs",
            DEPLOYMENT_TAG: "dr-sjc",
        },
    )
    backups = [
        missed,
        refaulted,
        done,
        too_old,
        a40,
        a35,
        a2,
        b50,
        copy_of(a40, name="expired-40", hours=40 * days - 1),
        copy_of(a35, name="expired-35", hours=35 * days - 1),
        copy_of(a2, name="kept-a", hours=2 * days - 1),  # vol-a's newest AVAILABLE
        copy_of(b50, name="kept-b", hours=50 * days - 1),  # vol-b's only AVAILABLE
        copy_of(refaulted, name="faulty-b", hours=2, state="FAULTY"),
        copy_of(done, name="kept-d", hours=0.5),
        copy_of(a40, name="unmarked", hours=39 * days, marked=False),  # someone else's copy
        theirs,  # another deployment's, of a backup in another region
    ]
    return store(*backups)


def test_a_sweep_copies_what_was_missed_expires_old_copies_and_reports() -> None:
    gateway = seed_estate()
    outcome = run_sweep(settings(RPO_HOURS="24"), gateway, plenty(gateway), NOW)
    assert (outcome.status, outcome.reason, outcome.error_class) == (Status.COPIED, None, None)
    report = outcome.report
    assert report is not None
    assert (report.source_region, report.examined) == (HOME, 3)
    assert sorted(requested(gateway)) == [("missed", AWAY), ("refaulted", AWAY)]
    assert sorted(c.source for c in report.copied) == ["missed", "refaulted"]
    assert sorted(gateway.deleted) == [(AWAY, "expired-35"), (AWAY, "expired-40")]
    assert sorted((e.id, e.volume, e.deleted) for e in report.expired) == [
        ("expired-35", "vol-a", True),
        ("expired-40", "vol-a", True),
    ]
    assert {"kept-a", "kept-b", "faulty-b", "kept-d", "unmarked", "theirs"} <= set(gateway.backups)
    assert report.kept == (
        KeptCopy(AWAY, "unmarked", "a-40", f"no {MARKER_TAG} marker: not made by this function"),
    )
    assert (report.failures, report.left, report.notes) == ((), (), ())
    rpo = {line.volume: line for line in report.rpo}
    assert set(rpo) == {"vol-a", "vol-b", "vol-d"}
    assert (rpo["vol-a"].newest_available_id, rpo["vol-a"].latest_state) == ("kept-a", "CREATING")
    assert rpo["vol-a"].flag == "newest copy older than RPO_HOURS=24"
    assert (rpo["vol-b"].newest_available_id, rpo["vol-b"].latest_state) == ("kept-b", "CREATING")
    assert (rpo["vol-d"].newest_available_id, rpo["vol-d"].flag) == ("kept-d", None)
    assert {line.volume for line in report.flagged} == {"vol-a", "vol-b"}


def test_a_dry_run_sweep_reports_what_it_would_do_and_changes_nothing() -> None:
    gateway = seed_estate()
    before = dict(gateway.backups)
    outcome = run_sweep(settings(DRY_RUN="true"), gateway, plenty(gateway), NOW)
    assert outcome.status is Status.DRY_RUN
    assert outcome.report is not None
    assert (gateway.copy_requests, gateway.deleted, gateway.backups) == ([], [], before)
    assert sorted((c.source, c.copy.state) for c in outcome.report.copied) == [
        ("missed", "PLANNED"),
        ("refaulted", "PLANNED"),
    ]
    assert sorted((e.id, e.deleted) for e in outcome.report.expired) == [
        ("expired-35", False),
        ("expired-40", False),
    ]


def test_a_sweep_without_retention_days_deletes_nothing() -> None:
    gateway = seed_estate()
    outcome = run_sweep(settings(RETENTION_DAYS=None), gateway, plenty(gateway), NOW)
    assert outcome.status is Status.COPIED
    assert outcome.report is not None
    assert (gateway.deleted, outcome.report.expired) == ([], ())


def test_a_sweep_short_of_time_leaves_copies_and_retention_for_the_next_one() -> None:
    gateway = seed_estate()
    deadline = Deadline.after(SWEEP_RESERVE_SECONDS - 1, clock=gateway.clock)
    outcome = run_sweep(settings(), gateway, deadline, NOW)
    assert (outcome.status, outcome.error_class) == (Status.FAILED, "transient")
    assert outcome.reason == "time ran out with 2 backup(s) left for the next sweep"
    assert outcome.report is not None
    assert sorted(outcome.report.left) == ["missed", "refaulted"]
    assert outcome.report.notes == (
        "time ran out: the backups in 'left' are copied by the next sweep",
        "time ran out before retention: it runs in the next sweep",
    )
    assert (gateway.copy_requests, gateway.deleted, outcome.report.expired) == ([], [], ())


def test_a_sweep_whose_listing_fails_reports_it_as_failed() -> None:
    gateway = seed_estate()
    gateway.fail_list_in[AWAY] = PermanentError("not authorized", operation="list", region=AWAY)
    outcome = run_sweep(settings(), gateway, plenty(gateway), NOW)
    assert (outcome.status, outcome.error_class) == (Status.FAILED, "permanent")
    assert outcome.reason is not None
    assert f"{COMPARTMENT}: {AWAY}: listing failed: not authorized" in outcome.reason
    # The copy lookups still see what is there: no duplicate of "done", and nothing unlisted expires.
    assert sorted(requested(gateway)) == [("missed", AWAY), ("refaulted", AWAY)]
    assert gateway.deleted == []


def test_a_failed_delete_fails_the_sweep_and_the_rest_are_still_deleted() -> None:
    gateway = seed_estate()
    gateway.fail_delete["expired-40"] = TransientError(
        "OCI kept answering 503", operation="delete", region=AWAY
    )
    outcome = run_sweep(settings(), gateway, plenty(gateway), NOW)
    assert (outcome.status, outcome.error_class) == (Status.FAILED, "transient")
    assert outcome.reason == f"expired-40: {AWAY}: delete failed: OCI kept answering 503"
    assert gateway.deleted == [(AWAY, "expired-35")]
    assert outcome.report is not None
    assert [e.id for e in outcome.report.expired] == ["expired-35"]


def test_a_sweep_that_makes_a_volumes_first_copy_does_not_flag_it_past_rpo() -> None:
    gateway = store(source("first", hours=2, volume="vol-new"))
    outcome = run_sweep(settings(), gateway, plenty(gateway), NOW)
    assert outcome.report is not None
    [line] = outcome.report.rpo
    assert (line.volume, line.newest_available_id, line.latest_state, line.flag) == (
        "vol-new",
        None,
        "CREATING",
        None,
    )
    assert sweep_title(outcome.report, dry_run=False) == f"Backup sweep of {HOME}: copied 1, RPO met"


# --- isolation: a bug in one source, destination or phase ------------------------------------


def internal(failures: Sequence[SourceFailure]) -> list[tuple[str, str, str]]:
    """The failure entries that report a bug, as (subject, region, reason)."""
    return [
        (f.subject, f.failure.region, f.failure.reason) for f in failures if f.failure.error_class == "error"
    ]


def test_a_bug_in_one_destination_never_stops_the_others_copies(tracebacks: list[logging.LogRecord]) -> None:
    gateway = store(source("s1", kind=BackupKind.VOLUME), source("s2", kind=BackupKind.VOLUME))
    gateway.raises[FAR] = RuntimeError("the fake's bug")
    outcome = run_sweep(settings(DESTINATION_REGIONS=f"{AWAY},{FAR}"), gateway, plenty(gateway), NOW)
    assert outcome.report is not None
    assert sorted((c.source, c.copy.region) for c in outcome.report.copied) == [("s1", AWAY), ("s2", AWAY)]
    bug = "internal error: RuntimeError: the fake's bug"
    # Each listing of FAR (one per kind of backup), then each pair.
    assert internal(outcome.report.failures) == [
        *[(COMPARTMENT, FAR, f"listing failed: {bug}")] * len(BackupKind),
        ("s1", FAR, bug),
        ("s2", FAR, bug),
    ]
    # Each bug's traceback logged once, with the failure it became.
    assert len(tracebacks) == len(BackupKind) + 2
    assert (outcome.status, outcome.error_class) == (Status.FAILED, "error")


def test_a_bug_about_one_source_fails_that_source_alone() -> None:
    gateway = store(source("s1", kind=BackupKind.VOLUME), source("s2", kind=BackupKind.VOLUME))
    gateway.raises["s1"] = KeyError("s1")
    outcome = run_sweep(settings(DESTINATION_REGIONS=f"{AWAY},{FAR}"), gateway, plenty(gateway), NOW)
    assert outcome.report is not None
    assert sorted((c.source, c.copy.region) for c in outcome.report.copied) == [("s2", FAR), ("s2", AWAY)]
    assert internal(outcome.report.failures) == [
        ("s1", AWAY, "internal error: KeyError: 's1'"),
        ("s1", FAR, "internal error: KeyError: 's1'"),
    ]


def test_a_bug_deleting_in_one_destination_spares_the_others_deletes_and_the_copies_made() -> None:
    gateway = seed_estate()
    days = 24.0
    old, older = (
        source("old", hours=40 * days, volume="vol-f"),
        source("older", hours=41 * days, volume="vol-f"),
    )
    for backup in (
        old,
        older,
        copy_of(old, region=FAR, hours=40 * days),
        copy_of(older, region=FAR, hours=41 * days),
    ):
        gateway.add_backup(backup)
    gateway.raises[f"delete {AWAY}"] = RuntimeError("the fake's bug")
    outcome = run_sweep(settings(DESTINATION_REGIONS=f"{AWAY},{FAR}"), gateway, plenty(gateway), NOW)
    assert outcome.report is not None
    assert gateway.deleted == [(FAR, f"older-copy-in-{FAR}")]
    assert sorted(c.source for c in outcome.report.copied if c.copy.region == AWAY) == ["missed", "refaulted"]
    assert sorted(internal(outcome.report.failures)) == [
        (name, AWAY, "delete failed: internal error: RuntimeError: the fake's bug")
        for name in ("expired-35", "expired-40")
    ]


def test_a_bug_in_a_phase_is_a_failure_entry_and_the_report_keeps_what_was_done(
    monkeypatch: pytest.MonkeyPatch, tracebacks: list[logging.LogRecord]
) -> None:
    def broken(*args: object, **kwargs: object) -> tuple[RpoLine, ...]:
        raise ZeroDivisionError("the report's bug")

    monkeypatch.setattr("backup_copy.sweep.rpo_lines", broken)
    gateway = seed_estate()
    outcome = run_sweep(settings(), gateway, plenty(gateway), NOW)
    assert outcome.report is not None
    assert sorted(c.source for c in outcome.report.copied) == ["missed", "refaulted"]
    assert len(outcome.report.expired) == 2
    assert outcome.report.rpo == ()
    assert internal(outcome.report.failures) == [
        (HOME, HOME, "RPO report failed: internal error: ZeroDivisionError: the report's bug")
    ]
    assert len(tracebacks) == 1
