"""OCI's copy limits: a copy that must wait is queued, never refused, and a later sweep makes it."""

from __future__ import annotations

import json
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import event as label_example
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from backup_copy.deadline import Deadline
from backup_copy.handler import handle
from backup_copy.runtime import Runtimes
from devkit.fdk_process import FdkProcess
from devkit.local import LocalCloud, local_cloud
from devkit.standin import Backup, CopyEnd, make_ocid
from tests.events import event_json

BOOT_EVENT = "boot-volume-backup-end.json"
HOME, AWAY, FAR, LONDON = "us-phoenix-1", "us-ashburn-1", "eu-frankfurt-1", "uk-london-1"
REGIONS = (HOME, AWAY, FAR, LONDON)
COMPARTMENT: str = event_json(BOOT_EVENT)["data"]["compartmentId"]
SWEEP = b'{"action": "sweep"}'
# Copies end only when a test calls finish_copy: nothing here waits on a clock.
COPY_DELAY_SECONDS = 3600.0
# An event's deadline: long enough for the calls it makes, short enough that a retry loop on a
# refusal shows as a slow failure rather than a hung test. A sweep keeps 8 s back, so it gets more.
EVENT_SECONDS = 10.0
SWEEP_SECONDS = 30.0
OCI_TENANCY_CAP = 10  # the stand-in's default, and the function's default SWEEP_MAX_COPIES_IN_FLIGHT
IN_FLIGHT = frozenset({"REQUEST_RECEIVED", "CREATING"})
LIVE = IN_FLIGHT | {"AVAILABLE"}
REFUSALS = [(400, "LimitExceeded"), (409, "Conflict"), (409, "IncorrectState"), (429, "TooManyRequests")]

Answer = dict[str, Any]


def queued(region: str) -> dict[str, object]:
    """A destination waiting on OCI's copy limits, exactly as the answer shows it."""
    return {"region": region, "id": None, "state": "QUEUED", "workRequestId": None}


def boot_event(backup_id: str, volume_id: str) -> dict[str, Any]:
    """The sample boot volume backup event, about another backup of another (or the same) volume."""
    event = event_json(BOOT_EVENT)
    event["eventID"] = str(uuid.uuid4())
    event["data"]["resourceId"] = backup_id
    event["data"]["additionalDetails"]["volumeId"] = volume_id
    return event


def new_backup(cloud: LocalCloud, volume_id: str, **overrides: Any) -> tuple[str, bytes]:
    """A new AVAILABLE boot volume backup of `volume_id` in the source region, and its event."""
    event = boot_event(make_ocid("bootvolumebackup", HOME), volume_id)
    source = cloud.seed_from_event(event, **overrides)
    assert source is not None
    return source, json.dumps(event).encode()


def call(function: FdkProcess, body: bytes, seconds: float = EVENT_SECONDS) -> tuple[int, Answer]:
    answer = function.invoke(body, timeout=seconds)
    assert answer.headers["content-type"] == "application/json"
    parsed: Answer = json.loads(answer.body)
    return answer.status, parsed


def sweep(function: FdkProcess) -> tuple[int, Answer]:
    return call(function, SWEEP, SWEEP_SECONDS)


def copies_of(cloud: LocalCloud, source: str, region: str) -> list[Backup]:
    return [b for b in cloud.standin.backups(region) if b.source_backup_id == source]


def live_copies_of(cloud: LocalCloud, source: str, region: str) -> list[Backup]:
    return [b for b in copies_of(cloud, source, region) if b.lifecycle_state in LIVE]


def copy_requests_for(cloud: LocalCloud, source: str) -> list[int]:
    """The status the stand-in answered to each copy request for `source`, in order."""
    return [r.status for r in cloud.standin.requests if r.route == "copy" and r.resource_id == source]


def queued_pairs(answer: Answer) -> set[tuple[str, str]]:
    return {(item["source"], item["region"]) for item in answer["sweep"]["queued"]}


def copied_pairs(answer: Answer) -> list[tuple[str, str]]:
    return [(item["source"], item["region"]) for item in answer["sweep"]["copied"]]


def failed_titles(cloud: LocalCloud) -> list[str]:
    return [str(m.title) for m in cloud.standin.messages(cloud.topic_id) if "FAILED" in str(m.title)]


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[LocalCloud]:
    """The stand-in with OCI's copy limits on: one copy per volume, ten per source region."""
    with local_cloud(
        tmp_path, regions=REGIONS, copy_delay_seconds=COPY_DELAY_SECONDS, copy_limits=True
    ) as running:
        yield running


def serve(cloud: LocalCloud, destinations: str, **config: str) -> FdkProcess:
    """The function under the fdk, sweeping the sample event's compartment."""
    return FdkProcess(cloud.function_env(destinations, SWEEP_COMPARTMENT_IDS=COMPARTMENT, **config))


def test_a_fan_out_to_three_regions_copies_one_now_and_queues_two(limited: LocalCloud) -> None:
    standin = limited.standin
    source, event = new_backup(limited, make_ocid("bootvolume", HOME))
    destinations = (AWAY, FAR, LONDON)
    with serve(limited, ",".join(destinations)) as function:
        status, answer = call(function, event)

        assert (status, answer["status"], answer["source"]) == (200, "copied", source)
        [first] = standin.copies_in_flight(HOME)
        started = [c for c in answer["copies"] if c["state"] != "QUEUED"]
        assert started == [
            {
                "region": first.region,
                "id": first.id,
                "state": "CREATING",
                "workRequestId": started[0]["workRequestId"],
            }
        ]
        waiting = sorted(set(destinations) - {first.region})
        assert sorted((c for c in answer["copies"] if c["state"] == "QUEUED"), key=lambda c: c["region"]) == [
            queued(region) for region in waiting
        ]
        assert copy_requests_for(limited, source) == [200]  # no second copy of the volume was asked for
        [notice] = standin.messages(limited.topic_id)
        assert "FAILED" not in str(notice.title)
        for region in waiting:
            assert region in f"{notice.title}\n{notice.body}"

        # While the volume's copy is in flight, a sweep starts nothing and says what waits.
        status, answer = sweep(function)
        assert (status, answer["status"]) == (200, "queued")
        assert answer["sweep"]["copied"] == []
        assert queued_pairs(answer) == {(source, region) for region in waiting}
        assert (answer["sweep"]["left"], answer["sweep"]["failures"]) == ([], [])
        assert [b.id for b in standin.copies_in_flight(HOME)] == [first.id]

        done = {first.region}
        in_flight = first
        for _ in waiting:
            standin.finish_copy(in_flight.id)
            status, answer = sweep(function)
            assert (status, answer["status"]) == (200, "copied")
            [(copied_source, region)] = copied_pairs(answer)
            assert copied_source == source
            assert region not in done
            done.add(region)
            assert queued_pairs(answer) == {(source, r) for r in destinations if r not in done}
            assert (answer["sweep"]["left"], answer["sweep"]["failures"]) == ([], [])
            [in_flight] = standin.copies_in_flight(HOME)
            assert (in_flight.region, in_flight.source_backup_id) == (region, source)
        standin.finish_copy(in_flight.id)

        status, answer = call(function, event)
        assert (status, answer["status"]) == (200, "already_copied")
        assert sorted(c["region"] for c in answer["copies"]) == sorted(destinations)
        assert {c["state"] for c in answer["copies"]} == {"AVAILABLE"}
        status, answer = sweep(function)
        assert (status, answer["status"]) == (200, "already_copied")
        assert (answer["sweep"]["copied"], answer["sweep"]["queued"]) == ([], [])

    for region in destinations:
        [copy] = copies_of(limited, source, region)
        assert copy.lifecycle_state == "AVAILABLE"
    assert failed_titles(limited) == []


@pytest.mark.parametrize(("status_code", "code"), REFUSALS)
def test_a_backup_that_arrives_while_its_volume_is_copying_is_queued_and_the_sweep_copies_it(
    limited: LocalCloud, status_code: int, code: str
) -> None:
    standin = limited.standin
    standin.set_copy_limit_refusal(status_code, code)  # the stand-in's own message names the limit
    volume = make_ocid("bootvolume", HOME)
    first, first_event = new_backup(limited, volume)
    second, second_event = new_backup(limited, volume)
    with serve(limited, AWAY) as function:
        status, answer = call(function, first_event)
        assert (status, answer["status"]) == (200, "copied")
        [first_copy] = standin.copies_in_flight(HOME)
        notices = len(standin.messages(limited.topic_id))

        status, answer = call(function, second_event)

        assert (status, answer["status"], answer["source"]) == (200, "queued", second)
        assert answer["copies"] == [queued(AWAY)]
        assert len(standin.messages(limited.topic_id)) == notices  # a queued backup is not announced
        assert copy_requests_for(limited, second) == [status_code]  # refused once, never retried
        assert copies_of(limited, second, AWAY) == []

        standin.finish_copy(first_copy.id)
        status, answer = sweep(function)

    assert (status, answer["status"]) == (200, "copied")
    assert copied_pairs(answer) == [(second, AWAY)]
    assert (answer["sweep"]["queued"], answer["sweep"]["left"], answer["sweep"]["failures"]) == ([], [], [])
    assert copy_requests_for(limited, second) == [status_code, 200]
    [copy] = copies_of(limited, second, AWAY)
    assert copy.lifecycle_state == "CREATING"
    assert len(live_copies_of(limited, first, AWAY)) == 1
    assert failed_titles(limited) == []


def test_a_burst_of_fifteen_volumes_copies_ten_queues_five_and_the_sweep_copies_the_five(
    limited: LocalCloud,
) -> None:
    standin = limited.standin
    backups = [new_backup(limited, make_ocid("bootvolume", HOME)) for _ in range(15)]
    statuses: list[tuple[int, str]] = []
    with serve(limited, AWAY) as function:
        for source, event in backups:
            status, answer = call(function, event)
            statuses.append((status, answer["status"]))
            if answer["status"] == "queued":
                assert answer["copies"] == [queued(AWAY)]
            assert len(standin.copies_in_flight(HOME)) <= OCI_TENANCY_CAP
            assert len(live_copies_of(limited, source, AWAY)) <= 1

        assert statuses == [(200, "copied")] * 10 + [(200, "queued")] * 5
        waiting = {source for source, _ in backups[10:]}
        assert [s for s, _ in backups if live_copies_of(limited, s, AWAY)] == [s for s, _ in backups[:10]]
        assert len(standin.messages(limited.topic_id)) == 10  # one per copied backup, none for the queued

        # At the cap, a sweep starts nothing and reports the five as waiting.
        status, answer = sweep(function)
        assert (status, answer["status"]) == (200, "queued")
        assert answer["sweep"]["copied"] == []
        assert queued_pairs(answer) == {(source, AWAY) for source in waiting}
        assert (answer["sweep"]["left"], answer["sweep"]["failures"]) == ([], [])
        assert len(standin.copies_in_flight(HOME)) == OCI_TENANCY_CAP

        standin.finish_all_copies()
        status, answer = sweep(function)
        assert (status, answer["status"]) == (200, "copied")
        assert sorted(copied_pairs(answer)) == sorted((source, AWAY) for source in waiting)
        assert (answer["sweep"]["queued"], answer["sweep"]["left"], answer["sweep"]["failures"]) == (
            [],
            [],
            [],
        )

        standin.finish_all_copies()
        status, answer = sweep(function)
        assert (status, answer["status"]) == (200, "already_copied")

    for source, _ in backups:
        assert len(copies_of(limited, source, AWAY)) == 1
    assert failed_titles(limited) == []


def test_the_sweep_keeps_within_sweep_max_copies_in_flight(limited: LocalCloud) -> None:
    standin = limited.standin
    # Backups whose events were lost: only the sweep copies them.
    sources = {new_backup(limited, make_ocid("bootvolume", HOME))[0] for _ in range(5)}
    copied: set[str] = set()
    with serve(limited, AWAY, SWEEP_MAX_COPIES_IN_FLIGHT="2") as function:
        for expected in (2, 2, 1):
            status, answer = sweep(function)
            assert (status, answer["status"]) == (200, "copied")
            made = {source for source, _ in copied_pairs(answer)}
            assert len(made) == expected
            assert not made & copied
            copied |= made
            assert queued_pairs(answer) == {(source, AWAY) for source in sources - copied}
            assert len(standin.copies_in_flight(HOME)) == expected
            standin.finish_all_copies()
    assert copied == sources
    for source in sources:
        assert len(copies_of(limited, source, AWAY)) == 1


def test_the_sweep_copies_a_volumes_newest_backup_first_then_the_next_once_it_finishes(
    limited: LocalCloud,
) -> None:
    standin = limited.standin
    volume, now = make_ocid("bootvolume", HOME), datetime.now(UTC)
    # Three backups of one volume whose events were lost, oldest first: only the sweep copies them.
    sources = [new_backup(limited, volume, time_created=now - timedelta(hours=h))[0] for h in (3, 2, 1)]
    with serve(limited, AWAY) as function:
        for newest_left in reversed(sources):
            status, answer = sweep(function)
            assert (status, answer["status"]) == (200, "copied")
            assert copied_pairs(answer) == [(newest_left, AWAY)]
            assert queued_pairs(answer) == {(s, AWAY) for s in sources if not copies_of(limited, s, AWAY)}
            [in_flight] = standin.copies_in_flight(HOME)
            assert in_flight.source_backup_id == newest_left
            standin.finish_copy(in_flight.id)
    for source in sources:
        assert len(copies_of(limited, source, AWAY)) == 1


VOLUME_COUNT = 3
MAX_BACKUPS = 6  # bounds the final catch-up: one copy per volume per sweep
MACHINE_DESTINATIONS = (AWAY, FAR)
HANDLED = frozenset({"copied", "queued", "already_copied"})


class CopyQueue(RuleBasedStateMachine):
    """Events, redeliveries, sweeps and copies ending, in any order, against OCI's copy limits."""

    events: Bundle[bytes] = Bundle("events")

    def __init__(self) -> None:
        super().__init__()
        self._resources = ExitStack()
        try:
            directory = self._resources.enter_context(tempfile.TemporaryDirectory(prefix="copy-queue-"))
            self.cloud = self._resources.enter_context(
                local_cloud(Path(directory), copy_delay_seconds=COPY_DELAY_SECONDS, copy_limits=True)
            )
            patch = self._resources.enter_context(pytest.MonkeyPatch.context())
            for name, value in self.cloud.principal.env.items():
                patch.setenv(name, value)  # the gateway signs with the resource principal in os.environ
        except BaseException:
            self._resources.close()
            raise
        env = self.cloud.function_env(",".join(MACHINE_DESTINATIONS), SWEEP_COMPARTMENT_IDS=COMPARTMENT)
        self.runtimes = Runtimes(env)
        self.volumes = tuple(make_ocid("bootvolume", HOME) for _ in range(VOLUME_COUNT))
        self.sources: list[str] = []

    def call(self, body: bytes) -> Answer:
        notices = len(self.cloud.standin.messages(self.cloud.topic_id))
        answer = handle(body, deadline=Deadline.after(60), runtimes=self.runtimes)
        parsed: Answer = json.loads(answer.body)
        assert answer.status_code == 200, parsed
        assert parsed["status"] in HANDLED, parsed
        # pytest --hypothesis-show-statistics shows how the outcomes spread
        label_example(f"{'sweep' if 'sweep' in parsed else 'event'} {parsed['status']}")
        for copy in parsed["copies"]:
            if copy["state"] == "QUEUED":
                assert copy == queued(copy["region"])
        if "sweep" not in parsed:
            if parsed["status"] == "queued":
                assert len(self.cloud.standin.messages(self.cloud.topic_id)) == notices
        else:
            assert (parsed["sweep"]["left"], parsed["sweep"]["failures"]) == ([], []), parsed
        return parsed

    @precondition(lambda self: len(self.sources) < MAX_BACKUPS)
    @rule(target=events, volume=st.integers(0, VOLUME_COUNT - 1))
    def a_new_backup_is_delivered(self, volume: int) -> bytes:
        source, body = new_backup(self.cloud, self.volumes[volume])
        self.sources.append(source)
        self.call(body)
        return body

    @rule(body=events)
    def an_earlier_event_is_redelivered(self, body: bytes) -> None:
        self.call(body)

    @rule()
    def a_sweep_runs(self) -> None:
        self.call(SWEEP)

    @precondition(lambda self: bool(self.cloud.standin.copies_in_flight(HOME)))
    @rule(pick=st.integers(0, 7), faulty=st.booleans())
    def a_copy_ends(self, pick: int, faulty: bool) -> None:
        in_flight = self.cloud.standin.copies_in_flight(HOME)
        state: CopyEnd = "FAULTY" if faulty else "AVAILABLE"
        self.cloud.standin.finish_copy(in_flight[pick % len(in_flight)].id, state)

    @invariant()
    def at_most_one_copy_in_flight_per_volume(self) -> None:
        volumes = Counter(b.parent_id for b in self.cloud.standin.copies_in_flight(HOME))
        assert max(volumes.values(), default=0) <= 1, volumes

    @invariant()
    def at_most_one_live_copy_per_backup_and_region(self) -> None:
        for region in MACHINE_DESTINATIONS:
            live = Counter(
                b.source_backup_id for b in self.cloud.standin.backups(region) if b.lifecycle_state in LIVE
            )
            assert max(live.values(), default=0) <= 1, (region, live)

    @invariant()
    def no_failure_is_announced(self) -> None:
        assert failed_titles(self.cloud) == []

    def teardown(self) -> None:
        try:
            self.everything_is_copied_once_the_queue_drains()
        finally:
            self._resources.close()

    def everything_is_copied_once_the_queue_drains(self) -> None:
        # Each sweep starts at least one copy per volume with a pair missing, so this bound is ample.
        for _ in range(len(self.sources) * len(MACHINE_DESTINATIONS) + 1):
            self.cloud.standin.finish_all_copies()
            answer = self.call(SWEEP)
            if not answer["sweep"]["copied"]:
                break
        else:
            pytest.fail("the sweeps never stopped copying")
        assert (answer["status"], answer["sweep"]["queued"]) == ("already_copied", [])
        for source in self.sources:
            for region in MACHINE_DESTINATIONS:
                assert len(live_copies_of(self.cloud, source, region)) == 1, (source, region)


def test_events_sweeps_and_copies_ending_in_any_order_copy_each_backup_once_per_region() -> None:
    run_state_machine_as_test(
        CopyQueue,
        settings=settings(
            max_examples=25,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            report_multiple_bugs=False,
        ),
    )


@pytest.mark.parametrize("every_kind", [False, True])
def test_a_volume_backup_fans_out_at_once_unless_oci_holds_it_and_then_it_is_queued(
    limited: LocalCloud, every_kind: bool
) -> None:
    # OCI documents the one-copy-per-volume limit for boot volumes only: either answer is handled.
    limited.standin.set_copy_limits(every_kind_one_at_a_time=every_kind)
    event = event_json("volume-backup-end.json")
    source = limited.seed_from_event(event)
    assert source is not None
    with serve(limited, f"{AWAY},{FAR}", SWEEP_REGION=HOME) as function:
        status, answer = call(function, json.dumps(event).encode())
        assert (status, answer["status"]) == (200, "copied")
        states = sorted(c["state"] for c in answer["copies"])
        assert states == (["CREATING", "QUEUED"] if every_kind else ["CREATING", "CREATING"])
        assert copy_requests_for(limited, source) == ([200, 400] if every_kind else [200, 200])
        assert failed_titles(limited) == []

        limited.standin.finish_all_copies()
        status, swept = sweep(function)
        assert status == 200
        assert len(copied_pairs(swept)) == (1 if every_kind else 0)
    assert all(len(live_copies_of(limited, source, region)) == 1 for region in (AWAY, FAR))
