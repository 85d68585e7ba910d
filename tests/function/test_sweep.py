"""The sweep ({"action": "sweep"}): catch-up, retention and the RPO report, on the stand-in."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backup_copy.backups import (
    DEPLOYMENT_TAG,
    MARKER_TAG,
    VOLUME_TAG,
    Backup,
    BackupCopy,
    BackupKind,
    CopyRequest,
)
from backup_copy.deadline import Deadline
from backup_copy.handler import handle
from backup_copy.listing import list_estate
from backup_copy.metrics import MetricPoint
from backup_copy.oci_gateway import OciGateway, RetryPolicy
from backup_copy.ports import Gateway
from backup_copy.runtime import Runtimes, oci_gateway
from backup_copy.settings import load_settings
from backup_copy.sweep import SWEEP_RESERVE_SECONDS, catch_up, run_sweep
from devkit.fdk_process import FdkProcess
from devkit.local import LocalCloud
from devkit.standin import Fault, Garbage, RouteName, make_ocid
from tests.events import event_bytes, event_json
from tests.fakes import FakeClock

HOME, AWAY = "us-phoenix-1", "us-ashburn-1"
SWEEP = b'{"action": "sweep"}'
# Every Block Storage call a destination is sent.
ROUTES: tuple[RouteName, ...] = ("get", "list", "update", "delete")


@dataclass(frozen=True)
class Estate:
    """A seeded tenancy: what the sweep should copy, keep and delete."""

    missed: str  # a recent backup whose event was lost: no copy anywhere
    refaulted: str  # a recent backup whose only copy went FAULTY
    done: str  # a recent backup already copied
    too_old: str  # outside the look-back window
    expired: tuple[str, ...]  # marked copies past retention, not the newest: deleted
    kept: tuple[str, ...]  # marked copies retention must keep (newest AVAILABLE, recent, FAULTY)
    unmarked: str  # an old copy someone else made: never deleted
    volume_a: str
    volume_b: str


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def seed_estate(cloud: LocalCloud) -> Estate:
    s, compartment = cloud.standin, cloud.principal.compartment_id
    volume_a, volume_b, volume_d = (make_ocid("bootvolume", HOME) for _ in range(3))

    def source(volume: str, hours: float) -> str:
        return s.seed_backup(
            kind="boot",
            region=HOME,
            compartment_id=compartment,
            display_name="daily",
            parent_id=volume,
            time_created=ago(hours=hours),
            freeform_tags={"app": "web"},
        )

    def copy(of: str, volume: str, *, days: float, state: str = "AVAILABLE", marked: bool = True) -> str:
        # The function's own copies name the deployment: by default, after the function's region.
        tags = {MARKER_TAG: of, VOLUME_TAG: volume, DEPLOYMENT_TAG: f"backup-copy-{HOME}"} if marked else {}
        return s.seed_backup(
            kind="boot",
            region=AWAY,
            compartment_id=compartment,
            display_name="copy",
            source_backup_id=of,
            parent_id=volume,
            lifecycle_state=state,
            time_created=ago(days=days),
            freeform_tags=tags,
        )

    missed, refaulted = source(volume_a, 2), source(volume_b, 3)
    done, too_old = source(volume_d, 1), source(volume_a, 30)
    # Each copy made about an hour after its source was taken; retention ages them by the source.
    a40, a35, a2 = (source(volume_a, 24 * days + 1) for days in (40, 35, 2))
    expired = (copy(a40, volume_a, days=40), copy(a35, volume_a, days=35))
    kept = (
        copy(a2, volume_a, days=2),  # volume A's newest AVAILABLE
        copy(source(volume_b, 24 * 50 + 1), volume_b, days=50),  # volume B's only AVAILABLE: never deleted
        copy(refaulted, volume_b, days=0.1, state="FAULTY"),
        copy(done, volume_d, days=0.02),
    )
    unmarked = copy(a40, volume_a, days=39, marked=False)
    # A backup that is itself a copy, in the source region: never copied again.
    s.seed_backup(
        kind="boot",
        region=HOME,
        compartment_id=compartment,
        display_name="inbound copy",
        source_backup_id=make_ocid("bootvolumebackup", "eu-frankfurt-1"),
        time_created=ago(hours=1),
    )
    return Estate(missed, refaulted, done, too_old, expired, kept, unmarked, volume_a, volume_b)


@pytest.fixture
def sweeping(cloud: LocalCloud, config_env: pytest.MonkeyPatch) -> LocalCloud:
    """The function configured for sweeps of the principal's compartment, wired to the stand-in."""
    for key, value in cloud.function_env(AWAY).items():
        config_env.setenv(key, value)
    config_env.setenv("SWEEP_COMPARTMENT_IDS", cloud.principal.compartment_id)
    config_env.setenv("RETENTION_DAYS", "30")
    config_env.setenv("RPO_HOURS", "24")
    return cloud


def invoke_sweep(seconds: float = 60) -> tuple[int, dict[str, Any]]:
    # A new Runtimes reads the configuration the test has just set, as a new container would.
    answer = handle(SWEEP, deadline=Deadline.after(seconds), runtimes=Runtimes())
    return answer.status_code, json.loads(answer.body)


def live_copies_of(cloud: LocalCloud, source: str) -> list[Any]:
    return [
        b
        for b in cloud.standin.backups(AWAY)
        if b.source_backup_id == source and b.lifecycle_state not in {"FAULTY", "TERMINATED"}
    ]


def test_a_sweep_copies_what_events_missed_expires_old_copies_and_reports(sweeping: LocalCloud) -> None:
    estate = seed_estate(sweeping)
    status, answer = invoke_sweep()
    assert (status, answer["status"]) == (200, "copied")
    report = answer["sweep"]

    assert sorted(c["source"] for c in report["copied"]) == sorted([estate.missed, estate.refaulted])
    for source in (estate.missed, estate.refaulted, estate.done):
        assert len(live_copies_of(sweeping, source)) == 1
    assert live_copies_of(sweeping, estate.too_old) == []

    state = {b.id: b.lifecycle_state for b in sweeping.standin.backups(AWAY)}
    assert {state[i] for i in estate.expired} == {"TERMINATED"}
    assert sorted(e["id"] for e in report["expired"]) == sorted(estate.expired)
    assert all(e["deleted"] for e in report["expired"])
    assert "TERMINATED" not in {state[i] for i in estate.kept}
    assert state[estate.unmarked] == "AVAILABLE"

    rpo = {(line["volume"], line["region"]): line for line in report["rpo"]}
    assert rpo[(estate.volume_a, AWAY)]["newestAvailableId"] == estate.kept[0]
    assert "older than RPO_HOURS=24" in rpo[(estate.volume_a, AWAY)]["flag"]
    assert rpo[(estate.volume_b, AWAY)]["newestAvailableId"] == estate.kept[1]
    assert report["left"] == []

    [notice] = sweeping.standin.messages(sweeping.topic_id)
    assert notice.title == f"Backup sweep of {HOME}: copied 2, deleted 2, 2 past RPO"
    assert json.loads(notice.body)["expired"] == report["expired"]


def test_a_second_sweep_makes_no_duplicate_and_deletes_nothing_more(sweeping: LocalCloud) -> None:
    seed_estate(sweeping)
    invoke_sweep()
    before = {b.id: b.lifecycle_state for b in sweeping.standin.backups(AWAY)}
    sweeping.standin.forget_retry_tokens()
    status, answer = invoke_sweep()
    assert (status, answer["status"]) == (200, "already_copied")
    assert answer["sweep"]["copied"] == []
    assert answer["sweep"]["expired"] == []
    assert {b.id: b.lifecycle_state for b in sweeping.standin.backups(AWAY)} == before


def test_a_copy_an_event_made_after_the_sweeps_listing_is_the_one_the_sweep_gets(
    sweeping: LocalCloud, config_env: pytest.MonkeyPatch
) -> None:
    # The sweep lists, an event copies the same backup, then the sweep asks for its copy with no
    # lookup between: the retry token, the same as the event's (earlier FAULTY and deleted copies
    # and all), makes OCI answer with the event's copy.
    event = event_json("boot-volume-backup-end.json")
    compartment = event["data"]["compartmentId"]
    config_env.setenv("SWEEP_COMPARTMENT_IDS", compartment)
    source = sweeping.seed_from_event(event, time_created=ago(hours=2))
    assert source is not None
    for state in ("FAULTY", "TERMINATED"):
        sweeping.standin.seed_backup(
            kind="boot",
            region=AWAY,
            compartment_id=compartment,
            display_name="earlier copy",
            source_backup_id=source,
            lifecycle_state=state,
            time_created=ago(hours=1),
        )
    settings, gateway, now = load_settings(), Runtimes().runtime().gateway, datetime.now(UTC)
    estate = list_estate(settings, gateway, HOME, Deadline.after(60), now)
    answer = handle(
        event_bytes("boot-volume-backup-end.json"), deadline=Deadline.after(60), runtimes=Runtimes()
    )
    assert json.loads(answer.body)["status"] == "copied"
    sweeping.standin.clear_requests()

    caught_up = catch_up(settings, gateway, estate, Deadline.after(60), now)

    [copy] = live_copies_of(sweeping, source)
    assert [(c.source, c.copy.id) for c in caught_up.copied] == [(source, copy.id)]
    assert caught_up.failures == ()
    # The copy request and the tag write, and no lookup.
    assert [r.route for r in sweeping.standin.requests] == ["copy", "update"]


def test_a_dry_run_sweep_plans_and_changes_nothing(
    sweeping: LocalCloud, config_env: pytest.MonkeyPatch
) -> None:
    config_env.setenv("DRY_RUN", "true")
    estate = seed_estate(sweeping)
    before = {b.id: b.lifecycle_state for b in sweeping.standin.backups(AWAY)}
    status, answer = invoke_sweep()
    assert (status, answer["status"]) == (200, "dry_run")
    assert sorted(e["id"] for e in answer["sweep"]["expired"]) == sorted(estate.expired)
    assert not any(e["deleted"] for e in answer["sweep"]["expired"])
    assert {b.id: b.lifecycle_state for b in sweeping.standin.backups(AWAY)} == before
    assert not [r for r in sweeping.standin.requests if r.route in ("copy", "delete", "update")]
    planned = sorted((c["source"], c["state"]) for c in answer["sweep"]["copied"])
    assert planned == sorted([(estate.missed, "PLANNED"), (estate.refaulted, "PLANNED")])
    [notice] = sweeping.standin.messages(sweeping.topic_id)
    assert str(notice.title).startswith(f"Backup sweep of {HOME}: would copy 2, would delete 2")


def test_a_sweep_short_of_time_says_what_is_left_and_the_next_one_finishes(sweeping: LocalCloud) -> None:
    estate = seed_estate(sweeping)
    status, answer = invoke_sweep(seconds=SWEEP_RESERVE_SECONDS - 1)
    assert (status, answer["status"]) == (502, "failed")
    assert answer["reason"] == "time ran out with 2 backup(s) left for the next sweep"
    assert sorted(answer["sweep"]["left"]) == sorted([estate.missed, estate.refaulted])
    assert answer["sweep"]["notes"] == [
        "time ran out: the backups in 'left' are copied by the next sweep",
        "time ran out before retention: it runs in the next sweep",
    ]
    assert [r for r in sweeping.standin.requests if r.route in ("copy", "delete")] == []
    [notice] = sweeping.standin.messages(sweeping.topic_id)
    assert "2 left for the next run" in str(notice.title)
    status, answer = invoke_sweep()
    assert sorted(c["source"] for c in answer["sweep"]["copied"]) == sorted([estate.missed, estate.refaulted])
    assert answer["sweep"]["left"] == []


def test_a_sweep_needs_its_compartments(sweeping: LocalCloud, config_env: pytest.MonkeyPatch) -> None:
    config_env.delenv("SWEEP_COMPARTMENT_IDS")
    status, answer = invoke_sweep()
    assert (status, answer["status"]) == (502, "failed")
    assert "SWEEP_COMPARTMENT_IDS" in answer["reason"]


def test_an_unknown_action_is_rejected(sweeping: LocalCloud) -> None:
    answer = handle(b'{"action": "purge"}', deadline=Deadline.after(30), runtimes=Runtimes())
    assert answer.status_code == 502
    assert "action: Input should be 'sweep'" in json.loads(answer.body)["reason"]


def test_a_sweep_through_the_fdk_as_a_scheduled_invoke_would_send_it(cloud: LocalCloud) -> None:
    estate = seed_estate(cloud)
    env = cloud.function_env(AWAY, SWEEP_COMPARTMENT_IDS=cloud.principal.compartment_id)
    with FdkProcess(env) as running:
        answer = running.invoke(SWEEP, timeout=60)
    body = json.loads(answer.body)
    assert (answer.status, body["status"]) == (200, "copied")
    assert len(live_copies_of(cloud, estate.missed)) == 1
    assert body["sweep"]["expired"] == []  # RETENTION_DAYS unset: nothing is ever deleted


class Passthrough:
    """The real gateway, every call passed on: subclasses change the one they are about."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def get_backup(self, kind: BackupKind, backup_id: str, region: str, deadline: Deadline) -> Backup:
        return self.gateway.get_backup(kind, backup_id, region, deadline)

    def find_copies(self, source: Backup, region: str, deadline: Deadline) -> list[BackupCopy]:
        return self.gateway.find_copies(source, region, deadline)

    def request_copy(self, source: Backup, request: CopyRequest, deadline: Deadline) -> BackupCopy:
        return self.gateway.request_copy(source, request, deadline)

    def tag_copy(self, source: Backup, copy: BackupCopy, deadline: Deadline, *, deployment: str) -> None:
        self.gateway.tag_copy(source, copy, deadline, deployment=deployment)

    def iter_backups(
        self, kind: BackupKind, compartment_id: str, region: str, deadline: Deadline
    ) -> Iterator[Backup]:
        return self.gateway.iter_backups(kind, compartment_id, region, deadline)

    def delete_backup(self, kind: BackupKind, backup_id: str, region: str, deadline: Deadline) -> None:
        self.gateway.delete_backup(kind, backup_id, region, deadline)

    def publish(self, topic_id: str, title: str, body: str, deadline: Deadline) -> str:
        return self.gateway.publish(topic_id, title, body, deadline)

    def post_metrics(
        self, namespace: str, points: Iterable[MetricPoint], region: str, deadline: Deadline
    ) -> int:
        return self.gateway.post_metrics(namespace, points, region, deadline)


class SlowDeletes(Passthrough):
    """The real gateway, with each delete taking `seconds` on a clock the test controls."""

    def __init__(self, gateway: Gateway, clock: list[float], seconds: float) -> None:
        super().__init__(gateway)
        self.clock, self.seconds = clock, seconds

    def delete_backup(self, kind: BackupKind, backup_id: str, region: str, deadline: Deadline) -> None:
        self.gateway.delete_backup(kind, backup_id, region, deadline)
        self.clock[0] += self.seconds


def test_retention_stops_before_the_deadline_and_leaves_the_rest(sweeping: LocalCloud) -> None:
    estate = seed_estate(sweeping)
    clock = [0.0]
    store = SlowDeletes(Runtimes().runtime().gateway, clock, seconds=4.0)
    # 10 s at the start: room for the catch-up and one delete, not for a second one.
    deadline = Deadline(expires_at=SWEEP_RESERVE_SECONDS + 2, clock=lambda: clock[0])
    outcome = run_sweep(load_settings(), store, deadline, datetime.now(UTC))
    assert outcome.report is not None
    assert len(outcome.report.expired) == 1
    assert outcome.report.expired[0].id in estate.expired
    assert "time ran out during retention: the next sweep deletes the rest" in outcome.report.notes
    deleted = [b.id for b in sweeping.standin.backups(AWAY) if b.lifecycle_state == "TERMINATED"]
    assert deleted == [outcome.report.expired[0].id]


def test_a_copy_made_by_hand_under_the_functions_own_name_is_never_tagged_or_deleted(
    cloud: LocalCloud,
) -> None:
    # DISPLAY_NAME_TEMPLATE={name}: a copy made by hand in the console bears the name the function
    # would give. Its event is redelivered, then a sweep with retention runs.
    event = event_json("boot-volume-backup-end.json")
    compartment = event["data"]["compartmentId"]
    volume = event["data"]["additionalDetails"]["volumeId"]
    source = cloud.seed_from_event(event, time_created=ago(days=40))
    assert source is not None
    name = event["data"]["resourceName"]
    by_hand = cloud.standin.seed_backup(
        kind="boot",
        region=AWAY,
        compartment_id=compartment,
        display_name=name,
        source_backup_id=source,
        time_created=ago(days=39),
        freeform_tags=dict(event["data"]["freeformTags"]),
    )
    # A newer backup of the volume with the function's own copy: the hand copy is neither the
    # newest nor the newest AVAILABLE, so only the missing marker keeps retention off it.
    newer = cloud.standin.seed_backup(
        kind="boot",
        region=HOME,
        compartment_id=compartment,
        display_name=name,
        parent_id=volume,
        time_created=ago(days=2),
    )
    ours = {MARKER_TAG: newer, VOLUME_TAG: volume, DEPLOYMENT_TAG: f"backup-copy-{HOME}"}
    cloud.standin.seed_backup(
        kind="boot",
        region=AWAY,
        compartment_id=compartment,
        display_name=name,
        source_backup_id=newer,
        time_created=ago(days=2),
        freeform_tags=ours,
    )
    env = cloud.function_env(
        AWAY,
        DISPLAY_NAME_TEMPLATE="{name}",
        SWEEP_COMPARTMENT_IDS=compartment,
        RETENTION_DAYS="30",
    )
    with FdkProcess(env) as running:
        redelivered = json.loads(running.invoke(event_bytes("boot-volume-backup-end.json")).body)
        swept = json.loads(running.invoke(SWEEP, timeout=60).body)

    hand_copy = cloud.standin.backup(by_hand)
    assert (hand_copy.lifecycle_state, dict(hand_copy.freeform_tags)) == (
        "AVAILABLE",
        {"app": "web", "env": "prod"},
    )
    assert [r for r in cloud.standin.requests if r.route == "update" and r.resource_id == by_hand] == []
    assert (swept["status"], swept["sweep"]["expired"]) == ("already_copied", [])
    assert redelivered["status"] == "already_copied"
    assert [(w["region"], w["class"]) for w in redelivered["warnings"]] == [(AWAY, "unmarked")]


def test_two_deployments_copying_into_one_destination_each_delete_only_their_own_copies(
    cloud: LocalCloud,
) -> None:
    # Events rules are regional: one deployment per source region, both copying to AWAY. Phoenix's
    # keeps copies a day (and names itself by default); Frankfurt's keeps them thirty days.
    frankfurt, compartment = "eu-frankfurt-1", cloud.principal.compartment_id
    phoenix_name, frankfurt_name = f"backup-copy-{HOME}", "dr-from-frankfurt"
    phoenix = cloud.function_env(AWAY, SWEEP_COMPARTMENT_IDS=compartment, RETENTION_DAYS="1")
    frankfurt_env = cloud.function_env(
        AWAY,
        SWEEP_COMPARTMENT_IDS=compartment,
        SWEEP_REGION=frankfurt,
        DEPLOYMENT_NAME=frankfurt_name,
        RETENTION_DAYS="30",
    )

    def backup(region: str, volume: str, days: float) -> str:
        return cloud.standin.seed_backup(
            kind="boot",
            region=region,
            compartment_id=compartment,
            display_name="daily",
            parent_id=volume,
            time_created=ago(days=days),
        )

    def copy(of: str, volume: str, days: float, **tags: str) -> str:
        return cloud.standin.seed_backup(
            kind="boot",
            region=AWAY,
            compartment_id=compartment,
            display_name="copy",
            source_backup_id=of,
            parent_id=volume,
            time_created=ago(days=days),
            freeform_tags={MARKER_TAG: of, VOLUME_TAG: volume, **tags},
        )

    volume_p, volume_f = make_ocid("bootvolume", HOME), make_ocid("bootvolume", frankfurt)
    p10, p5, p_new = backup(HOME, volume_p, 10), backup(HOME, volume_p, 5), backup(HOME, volume_p, 0.1)
    f10, f5, f_new = (backup(frankfurt, volume_f, days) for days in (10, 5, 0.1))
    phoenix_old, phoenix_kept = (
        copy(p, volume_p, d - 0.05, **{DEPLOYMENT_TAG: phoenix_name}) for p, d in ((p10, 10), (p5, 5))
    )
    frankfurt_copies = [
        copy(f, volume_f, d - 0.05, **{DEPLOYMENT_TAG: frankfurt_name}) for f, d in ((f10, 10), (f5, 5))
    ]
    # A backup of a volume restored from a copy: OCI copied the volume's tags, markers and all.
    native = cloud.standin.seed_backup(
        kind="boot",
        region=AWAY,
        compartment_id=compartment,
        display_name="restored volume's backup",
        time_created=ago(days=20),
        freeform_tags={MARKER_TAG: p10, VOLUME_TAG: volume_p, DEPLOYMENT_TAG: phoenix_name},
    )
    # Tags copied from another copy: the marker names a backup other than its source.
    misnamed = copy(p5, volume_p, 4.9, **{MARKER_TAG: p10, DEPLOYMENT_TAG: phoenix_name})

    with FdkProcess(phoenix) as running:
        swept_phoenix = json.loads(running.invoke(SWEEP, timeout=60).body)["sweep"]
    with FdkProcess(frankfurt_env) as running:
        swept_frankfurt = json.loads(running.invoke(SWEEP, timeout=60).body)["sweep"]

    state = {b.id: b.lifecycle_state for b in cloud.standin.backups(AWAY)}
    assert [e["id"] for e in swept_phoenix["expired"]] == [phoenix_old]
    assert state[phoenix_old] == "TERMINATED"
    for kept in (phoenix_kept, *frankfurt_copies, native, misnamed):
        assert state[kept] == "AVAILABLE", kept
    assert swept_frankfurt["expired"] == []
    assert [(k["id"], k["reason"]) for k in swept_phoenix["kept"]] == [
        (misnamed, f"its {MARKER_TAG} marker names {p10}, not its source {p5}")
    ]
    # Each deployment's new copy names the deployment that made it.
    [new_p], [new_f] = live_copies_of(cloud, p_new), live_copies_of(cloud, f_new)
    assert new_p.freeform_tags[DEPLOYMENT_TAG] == phoenix_name
    assert new_f.freeform_tags[DEPLOYMENT_TAG] == frankfurt_name


class Buggy(Passthrough):
    """The real gateway with a bug: copy requests to `copies_to` raise KeyError, and so does every delete."""

    def __init__(self, gateway: Gateway, copies_to: str) -> None:
        super().__init__(gateway)
        self.copies_to = copies_to

    def request_copy(self, source: Backup, request: CopyRequest, deadline: Deadline) -> BackupCopy:
        if request.destination_region == self.copies_to:
            raise KeyError(source.id)
        return self.gateway.request_copy(source, request, deadline)

    def delete_backup(self, kind: BackupKind, backup_id: str, region: str, deadline: Deadline) -> None:
        raise KeyError(backup_id)


def test_bugs_in_one_destination_and_in_retention_never_stop_the_other_copy_nor_the_report(
    sweeping: LocalCloud, config_env: pytest.MonkeyPatch, tracebacks: list[logging.LogRecord]
) -> None:
    far = "eu-frankfurt-1"
    config_env.setenv("DESTINATION_REGIONS", f"{AWAY},{far}")
    estate = seed_estate(sweeping)
    runtimes = Runtimes(gateway=lambda template: Buggy(oci_gateway(template), copies_to=AWAY))
    answer = handle(SWEEP, deadline=Deadline.after(60), runtimes=runtimes)
    body = json.loads(answer.body)

    assert (answer.status_code, body["status"]) == (502, "failed")
    report = body["sweep"]
    # Every source of the window copied to Frankfurt, though each copy request to Ashburn met a bug.
    made = {c["source"]: c["id"] for c in report["copied"] if c["region"] == far}
    assert sorted(made) == sorted([estate.missed, estate.refaulted, estate.done])
    assert {sweeping.standin.backup(i).source_backup_id for i in made.values()} == set(made)
    failures = {(f["source"], f["region"], f["reason"]) for f in report["failures"]}
    # Ashburn lacked copies of two of them (the third has one already).
    assert failures == {
        (s, AWAY, f"internal error: KeyError: '{s}'") for s in (estate.missed, estate.refaulted)
    } | {(i, AWAY, f"delete failed: internal error: KeyError: '{i}'") for i in estate.expired}
    assert len(tracebacks) == len(failures)
    # The report went out, the copies made before the bugs in it.
    [notice] = sweeping.standin.messages(sweeping.topic_id)
    assert sorted(json.loads(notice.body)["newBackupIds"]) == sorted(made.values())


DOWN = [
    pytest.param(
        [Fault(route, 503, "ServiceUnavailable", region=AWAY, count=100_000) for route in ROUTES], id="503"
    ),
    pytest.param([Garbage(route, b"{}", region=AWAY, count=100_000) for route in ROUTES], id="garbage"),
]


@pytest.mark.parametrize("outage", DOWN)
def test_a_destination_that_is_down_is_skipped_and_the_healthy_one_gets_its_copies(
    sweeping: LocalCloud, config_env: pytest.MonkeyPatch, outage: list[Fault | Garbage]
) -> None:
    far, compartment = "eu-frankfurt-1", sweeping.principal.compartment_id
    config_env.setenv("DESTINATION_REGIONS", f"{AWAY},{far}")
    missed = [
        sweeping.standin.seed_backup(
            kind="boot",
            region=HOME,
            compartment_id=compartment,
            display_name=f"web-{number:02d} daily",
            parent_id=make_ocid("bootvolume", HOME),
            time_created=ago(hours=2),
        )
        for number in range(5)
    ]
    sweeping.standin.script_faults(outage)
    # Retries pause on a clock the test owns: the outage costs what it would, and no test time.
    clock = FakeClock()
    retry = RetryPolicy(sleep=clock.advance, jitter=lambda: 0.5)
    runtimes = Runtimes(gateway=lambda template: OciGateway(endpoint_template=template, retry=retry))
    deadline = Deadline(expires_at=60.0, clock=clock)

    answer = handle(SWEEP, deadline=deadline, runtimes=runtimes)

    body = json.loads(answer.body)
    report = body["sweep"]
    assert sorted(c["source"] for c in report["copied"] if c["region"] == far) == sorted(missed)
    assert [c for c in report["copied"] if c["region"] == AWAY] == []
    for source in missed:
        assert [b.region for b in sweeping.standin.backups(far) if b.source_backup_id == source] == [far]
    [skipped] = [f for f in report["failures"] if f["source"] == AWAY]
    assert skipped["reason"].startswith("skipped for the rest of this sweep after 2 calls in a row failed: ")
    assert any(
        note.startswith(f"{AWAY} skipped for the rest of this sweep after ") for note in report["notes"]
    )
    assert (answer.status_code, body["status"]) == (502, "failed")
    # Two calls to Ashburn (its first two listings) took their share of the time, and no more.
    assert {r.route for r in sweeping.standin.requests if r.region == AWAY} == {"list"}
    assert deadline.remaining() > SWEEP_RESERVE_SECONDS
    [notice] = sweeping.standin.messages(sweeping.topic_id)
    assert sorted(json.loads(notice.body)["newBackupIds"]) == sorted(c["id"] for c in report["copied"])
