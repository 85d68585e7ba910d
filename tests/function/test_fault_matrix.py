"""The function under the real fdk against a faulty stand-in: throttling, 5xx, slow, trickling and
garbage answers, refusals.

Every case counts what matters to an operator: the copies in each destination (never more than one),
the notices published, and the answer. One fdk process serves most cases, warmed up once, each case
with a backup of its own; the cases that need other credentials or several containers start theirs.
Each backup is a volume backup: OCI copies one boot volume backup at a time from a source region (the
function queues the other destinations), while a volume backup is copied to every destination at
once, which is what a fault on one destination needs.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devkit.fdk_process import FdkProcess
from devkit.local import LocalCloud, local_cloud
from devkit.standin import Fault, Garbage, Message, RecordedRequest, RouteName
from devkit.standin.credentials import make_resource_principal
from devkit.standin.ocids import make_ocid
from tests.events import event_bytes, event_json

VOLUME_EVENT = "volume-backup-end.json"
NAME = "data-01 manual"
HOME, AWAY, FAR = "us-phoenix-1", "us-ashburn-1", "eu-frankfurt-1"
# Frankfurt first: a fault scripted for the first copy request (copy requests all go to the source
# region, so a fault cannot name the destination) lands on Frankfurt, and Ashburn comes after it.
DESTINATIONS = (FAR, AWAY)
# An Fn-Deadline this close leaves room for a few retries before the 4-second reserve is reached.
SHORT = 6.0
ROUTES = ("get", "list", "update", "copy", "publish")


@dataclass(frozen=True)
class Delivery:
    """One invocation as the Fn agent saw it."""

    status: int
    answer: dict[str, Any]
    seconds: float


@dataclass
class Case:
    """One backup, its event, and what the stand-in and the function did about it since the start."""

    cloud: LocalCloud
    function: FdkProcess
    source: str
    event: bytes
    event_id: str
    notices_before: int
    log_offset: int

    def deliver(self, *, timeout: float = 30.0, function: FdkProcess | None = None) -> Delivery:
        started = time.monotonic()
        answer = (function or self.function).invoke(self.event, timeout=timeout)
        seconds = time.monotonic() - started
        assert answer.headers["content-type"] == "application/json"
        return Delivery(answer.status, json.loads(answer.body), seconds)

    def copies(self) -> dict[str, int]:
        """How many backups in each destination are copies of this case's source."""
        return {
            region: len([b for b in self.cloud.standin.backups(region) if b.source_backup_id == self.source])
            for region in DESTINATIONS
        }

    def copy_ids(self) -> dict[str, str]:
        return {
            b.region: b.id
            for region in DESTINATIONS
            for b in self.cloud.standin.backups(region)
            if b.source_backup_id == self.source
        }

    def requests(self, route: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.cloud.standin.requests if route in (None, r.route)]

    def copy_requests(self, destination: str) -> list[RecordedRequest]:
        return [r for r in self.requests("copy") if destination_of(r) == destination]

    def notices(self) -> list[Message]:
        return self.cloud.standin.messages(self.cloud.topic_id)[self.notices_before :]

    def log_lines(self) -> list[dict[str, Any]]:
        """The function's JSON log lines written during this case."""
        lines = []
        for line in self.function.logs()[self.log_offset :].splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                lines.append(entry)
        return lines


def destination_of(request: RecordedRequest) -> str | None:
    body = request.body
    return str(body["destinationRegion"]) if isinstance(body, dict) else None


def notice_body(notice: Message) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(notice.body)
    return body


def reset(cloud: LocalCloud) -> None:
    """No faults, no latency or trickle, no recorded requests, and earlier cases' copies finished.

    The stand-in keeps OCI's cap of ten copies in flight from a source region: copies left in flight
    by earlier cases would otherwise hold this case's copies back.
    """
    cloud.standin.finish_all_copies()
    cloud.standin.clear_faults()
    cloud.standin.set_latency(0.0)
    cloud.standin.set_trickle(0.0)
    for route in ROUTES:
        cloud.standin.set_latency(0.0, route)
        cloud.standin.set_trickle(0.0, route)
    cloud.standin.clear_requests()


def new_case(cloud: LocalCloud, function: FdkProcess, *, seed: bool = True) -> Case:
    """A fresh backup in the source region (unless `seed` is false) and its completion event."""
    event = event_json(VOLUME_EVENT)
    source = make_ocid("volumebackup", HOME)
    event["data"]["resourceId"] = source
    event["eventID"] = str(uuid.uuid4())
    if seed:
        cloud.seed_from_event(event)
    return Case(
        cloud=cloud,
        function=function,
        source=source,
        event=json.dumps(event).encode(),
        event_id=event["eventID"],
        notices_before=len(cloud.standin.messages(cloud.topic_id)),
        log_offset=len(function.logs()),
    )


@pytest.fixture(scope="module")
def shared_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    with local_cloud(tmp_path_factory.mktemp("fault-matrix"), copy_delay_seconds=600.0) as running:
        yield running


@pytest.fixture(scope="module")
def shared_function(shared_cloud: LocalCloud) -> Iterator[FdkProcess]:
    with FdkProcess(shared_cloud.function_env(",".join(DESTINATIONS))) as running:
        # Warm: the SDK loaded, the signer and every client built, as in a container that has
        # served before, so that a short deadline measures retries rather than imports.
        warm = new_case(shared_cloud, running)
        assert warm.deliver().answer["status"] == "copied"
        yield running


@pytest.fixture
def case(shared_cloud: LocalCloud, shared_function: FdkProcess) -> Iterator[Case]:
    reset(shared_cloud)
    yield new_case(shared_cloud, shared_function)
    reset(shared_cloud)


# --- transient faults ---------------------------------------------------------------------------


def test_a_429_burst_on_the_copy_is_ridden_out_with_one_retry_token(case: Case) -> None:
    case.cloud.standin.script_faults([Fault("copy", 429, "TooManyRequests", count=3)])

    delivery = case.deliver()

    assert (delivery.status, delivery.answer["status"]) == (200, "copied")
    assert case.copies() == {FAR: 1, AWAY: 1}
    attempts = case.copy_requests(FAR)
    assert [r.status for r in attempts] == [429, 429, 429, 200]
    assert len({r.headers["opc-retry-token"] for r in attempts}) == 1
    assert [r.status for r in case.copy_requests(AWAY)] == [200]
    [notice] = case.notices()
    assert notice.title == f"Backup copied to {FAR}, {AWAY}: {NAME}"
    assert sorted(notice_body(notice)["newBackupIds"]) == sorted(case.copy_ids().values())


@pytest.mark.parametrize(
    ("route", "status", "code"),
    [
        ("get", 500, "InternalServerError"),
        ("list", 503, "ServiceUnavailable"),
        ("copy", 500, "InternalServerError"),
        ("copy", 409, "IncorrectState"),
        ("copy", 409, "LockConflict"),
        ("update", 503, "ServiceUnavailable"),
        ("publish", 503, "ServiceUnavailable"),
    ],
)
def test_one_transient_answer_on_any_call_is_retried_and_the_copy_succeeds(
    case: Case, route: RouteName, status: int, code: str
) -> None:
    case.cloud.standin.script_faults([Fault(route, status, code)])

    delivery = case.deliver()

    assert (delivery.status, delivery.answer["status"]) == (200, "copied")
    assert "warnings" not in delivery.answer
    assert case.cloud.standin.pending_faults == []
    assert case.copies() == {FAR: 1, AWAY: 1}
    statuses = [r.status for r in case.requests(route)]
    assert statuses[:2] == [status, 200]
    assert statuses.count(status) == 1
    [notice] = case.notices()
    assert (notice.title or "").startswith(f"Backup copied to {FAR}, {AWAY}")


@pytest.mark.parametrize("route", ["get", "list", "copy"])
def test_a_call_that_keeps_failing_fails_the_event_before_the_deadline_and_says_so(
    case: Case, route: RouteName
) -> None:
    case.cloud.standin.script_faults([Fault(route, 503, "ServiceUnavailable", count=10_000)])

    delivery = case.deliver(timeout=SHORT)

    assert (delivery.status, delivery.answer["status"]) == (502, "failed")
    assert delivery.seconds < SHORT
    assert case.copies() == {FAR: 0, AWAY: 0}
    assert delivery.answer["copies"] == []
    assert "503 ServiceUnavailable" in delivery.answer["reason"]
    assert "as time ran out" in delivery.answer["reason"]
    faulted = case.requests(route)
    assert len(faulted) >= 2  # retried while the deadline allowed
    assert {r.status for r in faulted} == {503}
    if route != "get":  # past the read, each destination reports its own failure
        assert [(f["region"], f["class"]) for f in delivery.answer["failures"]] == [
            (FAR, "transient"),
            (AWAY, "transient"),
        ]
    [notice] = case.notices()
    assert str(notice.title).startswith(f"FAILED: backup {NAME} was not copied")
    body = notice_body(notice)
    assert (body["errorClass"], body["source"], body["eventId"]) == ("transient", case.source, case.event_id)
    assert body["reason"] == delivery.answer["reason"]
    assert body["newBackupIds"] == []


def test_tags_that_cannot_be_written_are_a_warning_and_the_copies_stand_untagged(case: Case) -> None:
    case.cloud.standin.script_faults([Fault("update", 503, "ServiceUnavailable", count=10_000)])

    delivery = case.deliver(timeout=SHORT)

    assert (delivery.status, delivery.answer["status"]) == (200, "copied")
    assert case.copies() == {FAR: 1, AWAY: 1}
    assert [(w["region"], w["class"]) for w in delivery.answer["warnings"]] == [(FAR, "tags"), (AWAY, "tags")]
    [notice] = case.notices()
    assert notice.title == f"Backup copied to {FAR}, {AWAY} (tags not set): {NAME}"

    case.cloud.standin.clear_faults()
    case.cloud.standin.clear_requests()
    again = case.deliver()

    # The redelivery finds the copies unmarked: it cannot tell them from copies made by hand, so it
    # reports them, tags nothing (retention never deletes them) and copies nothing.
    assert (again.status, again.answer["status"]) == (200, "already_copied")
    assert [(w["region"], w["class"]) for w in again.answer["warnings"]] == [
        (FAR, "unmarked"),
        (AWAY, "unmarked"),
    ]
    assert case.requests("copy") == []
    assert case.requests("update") == []
    for region, copy_id in case.copy_ids().items():
        assert "backup-copy-source" not in case.cloud.standin.backup(copy_id).freeform_tags, region
    assert case.copies() == {FAR: 1, AWAY: 1}


def test_a_copy_answer_slower_than_the_deadline_allows_fails_in_time_and_a_redelivery_completes(
    case: Case,
) -> None:
    # With a 5-second deadline, the time left less the 4-second reserve is under a second, so every
    # attempt gets the 1-second floor as its read timeout and a 1.6-second answer always times out.
    # The stand-in still makes each copy when it answers, late, as OCI may have.
    deadline, latency = 5.0, 1.6
    case.cloud.standin.set_latency(latency, "copy")

    first = case.deliver(timeout=deadline)

    assert (first.status, first.answer["status"]) == (502, "failed")
    assert first.seconds < deadline
    assert "OCI did not answer in time for copy" in first.answer["reason"]
    assert {f["class"] for f in first.answer["failures"]} == {"transient"}
    [failed] = case.notices()
    assert (failed.title or "").startswith("FAILED: backup ")
    assert notice_body(failed)["errorClass"] == "transient"

    # Redelivered while the slow requests are still being served: the redelivery's copy and the
    # late originals carry the same retry token, so they make one backup per region between them.
    case.cloud.standin.set_latency(0.0, "copy")
    second = case.deliver()
    # The late originals still make their copies when they answer: wait for them, then count.
    assert case.cloud.standin.wait_until_idle(timeout=latency + 5.0)

    assert (second.status, second.answer["status"]) == (200, "copied")
    assert case.copies() == {FAR: 1, AWAY: 1}
    assert {c["region"]: c["id"] for c in second.answer["copies"]} == case.copy_ids()
    for region in DESTINATIONS:
        assert len({r.headers["opc-retry-token"] for r in case.copy_requests(region)}) == 1
    assert len(case.notices()) == 2


def test_a_trickling_copy_answer_fails_the_event_within_the_deadline_and_a_redelivery_completes(
    case: Case,
) -> None:
    # Headers at once, then a byte every 0.3 s: no single read waits long enough to time out, so
    # only a bound on the whole call ends it. The stand-in makes the copy before it answers.
    case.cloud.standin.set_trickle(0.3, "copy")

    first = case.deliver(timeout=SHORT)

    assert (first.status, first.answer["status"]) == (502, "failed")
    assert first.seconds < SHORT + 2.0
    assert first.answer["failures"][0]["region"] == FAR
    assert "OCI did not answer in time for copy" in first.answer["failures"][0]["reason"]
    assert {f["class"] for f in first.answer["failures"]} == {"transient"}
    # The 4-second reserve held: the abandoned copy request was the last one to start.
    assert [destination_of(r) for r in case.requests("copy")] == [FAR]
    [failed] = case.notices()
    assert (failed.title or "").startswith("FAILED: backup ")

    case.cloud.standin.set_trickle(0.0, "copy")
    second = case.deliver()

    assert (second.status, second.answer["status"]) == (200, "copied")
    assert case.copies() == {FAR: 1, AWAY: 1}


# --- answers that are not what the operation answers ---------------------------------------------

# A 200 that proves nothing: what a proxy in the way, or a service fault, can send.
GARBAGE = {"empty-object": b"{}", "empty-body": b"", "not-json": b"not json", "a-list": b"[{}]"}


@pytest.mark.parametrize("body", GARBAGE.values(), ids=GARBAGE.keys())
def test_a_copy_answered_with_garbage_fails_loudly_and_announces_no_copy(case: Case, body: bytes) -> None:
    case.cloud.standin.script_faults([Garbage("copy", body, count=10_000)])

    delivery = case.deliver(timeout=SHORT)

    assert (delivery.status, delivery.answer["status"]) == (502, "failed")
    assert delivery.seconds < SHORT
    assert delivery.answer["copies"] == []
    assert case.copies() == {FAR: 0, AWAY: 0}
    far = delivery.answer["failures"][0]
    assert (far["region"], far["class"]) == (FAR, "transient")
    assert f"OCI answered copy in {HOME} with a body that is not a volume backup" in far["reason"]
    assert len(case.copy_requests(FAR)) >= 2  # retried while the deadline allowed
    [notice] = case.notices()
    assert str(notice.title).startswith(f"FAILED: backup {NAME} was not copied")
    assert notice_body(notice)["newBackupIds"] == []
    [failed] = [line for line in case.log_lines() if line["message"] == "backup failed"]
    assert failed["level"] == "ERROR"


@pytest.mark.parametrize(
    ("route", "requests"), [("get", 1), ("list", 2), ("copy", 2), ("update", 2), ("publish", 1)]
)
def test_one_garbage_answer_on_any_call_is_retried_and_the_copy_succeeds(
    case: Case, route: RouteName, requests: int
) -> None:
    case.cloud.standin.script_faults([Garbage(route, b"{}")])

    delivery = case.deliver()

    assert (delivery.status, delivery.answer["status"]) == (200, "copied")
    assert "warnings" not in delivery.answer
    assert case.cloud.standin.pending_faults == []
    assert len(case.requests(route)) == requests + 1  # the garbage answer was not taken for one
    assert case.copies() == {FAR: 1, AWAY: 1}
    for copy_id in case.copy_ids().values():
        assert case.cloud.standin.backup(copy_id).freeform_tags["backup-copy-source"] == case.source
    [notice] = case.notices()
    assert (notice.title or "").startswith(f"Backup copied to {FAR}, {AWAY}")


@pytest.mark.parametrize("body", GARBAGE.values(), ids=GARBAGE.keys())
def test_a_listing_answered_with_garbage_after_the_token_window_makes_no_second_copy(
    case: Case, body: bytes
) -> None:
    first = case.deliver()
    assert first.answer["status"] == "copied"
    case.cloud.standin.forget_retry_tokens()
    case.cloud.standin.clear_requests()
    case.cloud.standin.script_faults([Garbage("list", body, count=10_000)])

    second = case.deliver(timeout=SHORT)

    assert (second.status, second.answer["status"]) == (502, "failed")
    assert case.copies() == {FAR: 1, AWAY: 1}
    assert case.requests("copy") == []
    assert {f["class"] for f in second.answer["failures"]} == {"transient"}
    assert "with a body that is not a list of volume backups" in second.answer["failures"][0]["reason"]
    failed = case.notices()[1]
    assert str(failed.title).startswith(f"FAILED: backup {NAME} was not copied")


# --- the notification service --------------------------------------------------------------------


def test_when_no_notice_can_be_published_the_copy_stands_once_and_the_log_carries_it(case: Case) -> None:
    case.cloud.standin.script_faults([Fault("publish", 503, "ServiceUnavailable", count=10_000)])

    first = case.deliver(timeout=5.0)

    assert (first.status, first.answer["status"]) == (502, "failed")
    assert first.seconds < 5.0
    assert case.copies() == {FAR: 1, AWAY: 1}
    new_ids = sorted(case.copy_ids().values())
    assert sorted(c["id"] for c in first.answer["copies"]) == new_ids
    assert "the notice could not be published" in first.answer["reason"]
    assert len(case.requests("publish")) >= 2
    assert case.notices() == []
    [unpublished] = [line for line in case.log_lines() if line["message"] == "notice not published"]
    assert unpublished["level"] == "ERROR"
    assert sorted(unpublished["newBackupIds"]) == new_ids
    assert unpublished["source"] == case.source

    case.cloud.standin.clear_faults()
    case.cloud.standin.clear_requests()
    second = case.deliver()

    assert (second.status, second.answer["status"]) == (200, "already_copied")
    assert case.copies() == {FAR: 1, AWAY: 1}
    assert case.requests("copy") == []


# --- redelivery and concurrency ------------------------------------------------------------------


def test_a_redelivery_after_the_retry_token_window_makes_no_second_copy(case: Case) -> None:
    first = case.deliver()
    case.cloud.standin.forget_retry_tokens()
    second = case.deliver()

    assert (first.answer["status"], second.status, second.answer["status"]) == (
        "copied",
        200,
        "already_copied",
    )
    assert case.copies() == {FAR: 1, AWAY: 1}
    assert len(case.requests("copy")) == 2
    assert len(case.notices()) == 1


def test_one_event_delivered_to_several_containers_at_once_makes_one_copy_per_region(case: Case) -> None:
    env = case.cloud.function_env(",".join(DESTINATIONS))
    with FdkProcess(env) as two, FdkProcess(env) as three:
        # Warm the new containers (SDK, signer, clients) with an event they reject, so that the
        # deliveries below start together rather than at the pace of cold imports.
        with ThreadPoolExecutor(2) as pool:
            warmed = list(
                pool.map(lambda f: f.invoke(event_bytes("malformed/unknown-region-key.json")), [two, three])
            )
        assert {answer.status for answer in warmed} == {502}
        case.cloud.standin.clear_requests()
        case.notices_before = len(case.cloud.standin.messages(case.cloud.topic_id))
        # Slow copies: every container has listed (and found nothing) before the first copy is made.
        case.cloud.standin.set_latency(0.6, "copy")
        functions = [case.function, two, three]
        start = threading.Barrier(len(functions))

        def deliver(function: FdkProcess) -> Delivery:
            start.wait()
            return case.deliver(function=function)

        with ThreadPoolExecutor(len(functions)) as pool:
            deliveries = list(pool.map(deliver, functions))

    assert {d.status for d in deliveries} == {200}
    assert {d.answer["status"] for d in deliveries} <= {"copied", "already_copied"}
    assert case.copies() == {FAR: 1, AWAY: 1}
    for delivery in deliveries:
        assert {c["region"]: c["id"] for c in delivery.answer["copies"]} == case.copy_ids()
    for region in DESTINATIONS:
        requests = case.copy_requests(region)
        assert len(requests) >= 2  # the copies really were requested concurrently...
        assert {r.status for r in requests} == {200}
        assert len({r.headers["opc-retry-token"] for r in requests}) == 1  # ...and converged
    copied = [d for d in deliveries if d.answer["status"] == "copied"]
    notices = case.notices()
    # Notifications have no retry token: each container that saw its copy request succeed says so.
    assert len(notices) == len(copied)
    assert {tuple(sorted(notice_body(n)["newBackupIds"])) for n in notices} == {
        tuple(sorted(case.copy_ids().values()))
    }


# --- permanent refusals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "seed", "says"),
    [
        (Fault("copy", 400, "InvalidParameter", count=1), True, "check DESTINATION_REGIONS"),
        (Fault("list", 403, "NotAuthorizedOrNotFound", region=FAR, count=10_000), True, "may not list"),
    ],
    ids=["copy-400", "list-403"],
)
def test_one_failing_region_leaves_the_other_copied_and_a_redelivery_completes_only_it(
    case: Case, fault: Fault, seed: bool, says: str
) -> None:
    case.cloud.standin.script_faults([fault])

    first = case.deliver()

    assert (first.status, first.answer["status"]) == (502, "failed")
    assert case.copies() == {FAR: 0, AWAY: 1}
    [failure] = first.answer["failures"]
    assert (failure["region"], failure["class"]) == (FAR, "permanent")
    assert says in failure["reason"]
    assert [c["region"] for c in first.answer["copies"]] == [AWAY]
    assert [r.status for r in case.requests(fault.route)].count(fault.status) == 1  # never retried
    [failed] = case.notices()
    assert (failed.title or "").startswith("FAILED: backup ")
    body = notice_body(failed)
    assert body["errorClass"] == "permanent"
    assert body["newBackupIds"] == [case.copy_ids()[AWAY]]  # the copy that stands is announced

    case.cloud.standin.clear_faults()
    case.cloud.standin.clear_requests()
    second = case.deliver()

    assert (second.status, second.answer["status"]) == (200, "copied")
    assert case.copies() == {FAR: 1, AWAY: 1}
    assert [destination_of(r) for r in case.requests("copy")] == [FAR]
    copied = case.notices()[1]
    assert (copied.title or "").startswith(f"Backup copied to {FAR}:")
    assert notice_body(copied)["newBackupIds"] == [case.copy_ids()[FAR]]


@pytest.mark.parametrize(
    ("fault", "requests", "says"),
    [
        # The SDK itself tries a resource principal's request once more after a 401, with the token
        # read again; the function adds no retry of its own.
        (Fault("get", 401, "NotAuthenticated", count=10_000), {"get": 2}, "credentials were not accepted"),
        (
            Fault("copy", 403, "NotAuthorizedOrNotFound", count=10_000),
            {"get": 1, "list": 2, "copy": 2},
            "'use volume-backups' in us-phoenix-1",
        ),
        (Fault("list", 501, "NotImplemented", count=10_000), {"get": 1, "list": 2}, "501 NotImplemented"),
        (None, {"get": 1}, "the backup is gone"),
    ],
    ids=["get-401", "copy-403", "list-501", "source-gone-404"],
)
def test_a_permanent_refusal_fails_at_once_and_says_what_to_fix(
    case: Case, fault: Fault | None, requests: dict[str, int], says: str
) -> None:
    if fault is None:
        case = new_case(case.cloud, case.function, seed=False)
    else:
        case.cloud.standin.script_faults([fault])

    delivery = case.deliver()

    assert (delivery.status, delivery.answer["status"]) == (502, "failed")
    assert says in delivery.answer["reason"]
    assert case.copies() == {FAR: 0, AWAY: 0}
    block_storage = [r.route for r in case.requests() if r.service == "iaas"]
    assert {route: block_storage.count(route) for route in set(block_storage)} == requests
    [notice] = case.notices()
    assert (notice.title or "").startswith("FAILED: backup ")
    body = notice_body(notice)
    assert (body["errorClass"], body["source"], body["eventId"]) == ("permanent", case.source, case.event_id)


def test_a_function_signing_with_credentials_oci_does_not_accept_fails_without_a_retry_storm(
    shared_cloud: LocalCloud, tmp_path: Path
) -> None:
    reset(shared_cloud)
    stranger = make_resource_principal(tmp_path / "stranger", region=HOME)
    env = {**shared_cloud.function_env(",".join(DESTINATIONS)), **stranger.env}
    with FdkProcess(env) as function:
        case = new_case(shared_cloud, function)
        delivery = case.deliver(timeout=15.0)
        lines = case.log_lines()

    assert (delivery.status, delivery.answer["status"]) == (502, "failed")
    assert "credentials were not accepted" in delivery.answer["reason"]
    assert case.copies() == {FAR: 0, AWAY: 0}
    # The read and the notice refused, each tried twice (the SDK's one retry of a resource principal
    # after a 401): no retry of the function's own, and nothing published.
    assert [(r.route, r.status) for r in case.requests()] == [
        ("get", 401),
        ("get", 401),
        ("publish", 401),
        ("publish", 401),
    ]
    assert case.notices() == []
    [unpublished] = [line for line in lines if line["message"] == "notice not published"]
    assert unpublished["level"] == "ERROR"
    [outcome] = [line for line in lines if line["message"] == "backup failed"]
    assert (outcome["level"], outcome["errorClass"]) == ("ERROR", "permanent")
