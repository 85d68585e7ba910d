"""One invocation, bytes to answer, with the runtime wired to fakes: answers, notices and logs."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from backup_copy.backups import BackupKind
from backup_copy.deadline import Deadline
from backup_copy.errors import TransientError
from backup_copy.handler import Answer, handle
from backup_copy.runtime import Runtimes
from tests.conftest import Config
from tests.events import event_bytes
from tests.fakes import TOPIC, FakeGateway

BOOT_EVENT = "boot-volume-backup-end.json"
# OCI copies one boot volume backup at a time from a source region; a volume backup is copied to
# every destination at once.
VOLUME_EVENT = "volume-backup-end.json"
VOLUME_EVENT_ID = "3c2b1a09-8f7e-4d6c-b5a4-93827160f5e4"


Call = Callable[[bytes], tuple[int, dict[str, object]]]


@pytest.fixture
def call(runtimes: Runtimes) -> Call:
    """One invocation through the handler, with the runtime wired to the fake gateway."""

    def invoke(body: bytes) -> tuple[int, dict[str, object]]:
        answer: Answer = handle(body, deadline=Deadline.after(30), runtimes=runtimes, call_id="01TESTCALL")
        return answer.status_code, json.loads(answer.body)

    return invoke


def seed(gateway: FakeGateway, name: str = BOOT_EVENT) -> str:
    source: str = json.loads(event_bytes(name))["data"]["resourceId"]
    gateway.add_source(source, kind=BackupKind.VOLUME if name == VOLUME_EVENT else BackupKind.BOOT)
    return source


def test_a_copied_backup_answers_200_and_publishes_the_new_ids(call: Call, fake_runtime: FakeGateway) -> None:
    source = seed(fake_runtime, VOLUME_EVENT)
    status, answer = call(event_bytes(VOLUME_EVENT))
    assert status == 200
    assert answer["status"] == "copied"
    assert answer["source"] == source
    assert "reason" not in answer
    assert "queued" not in answer
    copies = answer["copies"]
    assert isinstance(copies, list)
    assert [set(c) for c in copies] == [{"region", "id", "state", "workRequestId"}] * 2
    [(topic, title, body)] = fake_runtime.published
    assert topic == TOPIC
    assert title == "Backup copied to us-ashburn-1, eu-frankfurt-1: web-01 (Boot Volume) manual"
    notice = json.loads(body)
    assert next(iter(notice)) == "newBackupIds"
    assert notice["newBackupIds"] == [c["id"] for c in copies]
    assert notice["source"] == source
    assert notice["eventId"] == VOLUME_EVENT_ID
    assert notice["workRequestIds"] == [c["workRequestId"] for c in copies]


def test_a_boot_backup_is_copied_to_one_destination_and_queued_for_the_next(
    call: Call, fake_runtime: FakeGateway
) -> None:
    source = seed(fake_runtime)
    status, answer = call(event_bytes(BOOT_EVENT))
    assert (status, answer["status"]) == (200, "copied")
    assert "reason" not in answer
    copies = answer["copies"]
    assert isinstance(copies, list)
    assert [(c["region"], c["state"]) for c in copies] == [
        ("us-ashburn-1", "CREATING"),
        ("eu-frankfurt-1", "QUEUED"),
    ]
    assert copies[1] == {"region": "eu-frankfurt-1", "id": None, "state": "QUEUED", "workRequestId": None}
    queued = answer["queued"]
    assert isinstance(queued, list)
    assert [item["region"] for item in queued] == ["eu-frankfurt-1"]
    assert all(item["reason"] for item in queued)
    assert [r.destination_region for _, r in fake_runtime.copy_requests] == ["us-ashburn-1"]
    [(topic, title, body)] = fake_runtime.published
    assert topic == TOPIC
    assert title == "Backup copied to us-ashburn-1 (queued for eu-frankfurt-1): web-01 (Boot Volume) manual"
    notice = json.loads(body)
    assert notice["newBackupIds"] == [copies[0]["id"]]
    assert notice["source"] == source
    assert notice["eventId"] == "6e1e2f5c-4b0a-4d6e-9a52-1c7b3f0d9a41"
    assert notice["workRequestIds"] == [copies[0]["workRequestId"]]


def test_a_redelivered_event_is_already_copied_and_quiet(call: Call, fake_runtime: FakeGateway) -> None:
    seed(fake_runtime, VOLUME_EVENT)
    call(event_bytes(VOLUME_EVENT))
    status, answer = call(event_bytes(VOLUME_EVENT))
    assert (status, answer["status"]) == (200, "already_copied")
    assert answer["reason"] == "every destination already has a copy"
    assert len(fake_runtime.published) == 1
    assert len(fake_runtime.copy_requests) == 2


@pytest.mark.parametrize("name", ["boot-volume-backup-begin.json", "boot-volume-backup-copy-end.json"])
def test_other_event_types_are_ignored_without_any_oci_call(
    call: Call, fake_runtime: FakeGateway, name: str
) -> None:
    status, answer = call(event_bytes(name))
    assert (status, answer["status"]) == (200, "ignored")
    assert "is not a backup-created event" in str(answer["reason"])
    assert fake_runtime.calls == []


def test_a_malformed_event_is_rejected_with_502_and_a_failure_notice(
    call: Call, fake_runtime: FakeGateway
) -> None:
    status, answer = call(event_bytes("malformed/resource-id-with-path.json"))
    assert status == 502
    assert answer["status"] == "rejected"
    assert answer["source"] is None
    assert "data.resourceId" in str(answer["reason"])
    assert fake_runtime.calls == ["publish"]
    [(_, title, body)] = fake_runtime.published
    assert "FAILED" in title
    assert json.loads(body)["errorClass"] == "invalid_event"


def test_a_failed_copy_answers_502_and_says_why(call: Call, fake_runtime: FakeGateway) -> None:
    seed(fake_runtime, VOLUME_EVENT)
    fake_runtime.fail_copy_to["eu-frankfurt-1"] = TransientError(
        "OCI answered 429 TooManyRequests", operation="copy", region="us-phoenix-1", http_status=429
    )
    status, answer = call(event_bytes(VOLUME_EVENT))
    assert (status, answer["status"]) == (502, "failed")
    assert answer["failures"] == [
        {"region": "eu-frankfurt-1", "reason": "OCI answered 429 TooManyRequests", "class": "transient"}
    ]
    [(_, title, body)] = fake_runtime.published
    assert title == "FAILED: backup web-01 (Boot Volume) manual was not copied to eu-frankfurt-1"
    assert json.loads(body)["newBackupIds"] == [fake_runtime.copies[next(iter(fake_runtime.copies))][0].id]


def test_a_notice_that_cannot_be_published_fails_the_call_but_keeps_the_copy(
    call: Call, fake_runtime: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(fake_runtime, VOLUME_EVENT)
    fake_runtime.fail_publish = TransientError("ONS down", operation="publish", region="us-phoenix-1")
    status, answer = call(event_bytes(VOLUME_EVENT))
    assert (status, answer["status"]) == (502, "failed")
    assert "the notice could not be published" in str(answer["reason"])
    new_ids = [copy["id"] for copy in answer["copies"]]  # type: ignore[attr-defined]
    errors = [json.loads(line) for line in capsys.readouterr().err.splitlines() if '"ERROR"' in line]
    assert any(entry["newBackupIds"] == new_ids for entry in errors)
    fake_runtime.fail_publish = None
    status, answer = call(event_bytes(VOLUME_EVENT))
    assert answer["status"] == "already_copied"
    assert len(fake_runtime.copy_requests) == 2


def test_a_bad_configuration_fails_naming_the_key(call: Call, config: Config) -> None:
    config["DESTINATION_REGIONS"] = "mars-north-1"
    status, answer = call(event_bytes(BOOT_EVENT))
    assert (status, answer["status"]) == (502, "failed")
    assert "DESTINATION_REGIONS" in str(answer["reason"])


def test_log_lines_are_json_with_the_call_and_event_ids(
    call: Call, fake_runtime: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(fake_runtime, VOLUME_EVENT)
    call(event_bytes(VOLUME_EVENT))
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    outcome = [line for line in lines if line["message"] == "backup copied"]
    assert len(outcome) == 1
    assert outcome[0]["callId"] == "01TESTCALL"
    assert outcome[0]["eventId"] == VOLUME_EVENT_ID
    assert len(outcome[0]["newBackupIds"]) == 2
    assert all("data" not in line for line in lines)


def test_a_bad_configuration_builds_its_notice_publisher_once_and_announces_every_event(
    config: Config, fake_runtime: FakeGateway
) -> None:
    built: list[str | None] = []

    def gateway(endpoint_template: str | None) -> FakeGateway:
        built.append(endpoint_template)
        return fake_runtime

    runtimes = Runtimes(config, gateway=gateway)
    config["DESTINATION_REGIONS"] = "mars-north-1"
    answers = [
        handle(event_bytes(BOOT_EVENT), deadline=Deadline.after(30), runtimes=runtimes) for _ in range(3)
    ]
    assert [answer.status_code for answer in answers] == [502, 502, 502]
    assert built == [None]
    assert len(fake_runtime.published) == 3
