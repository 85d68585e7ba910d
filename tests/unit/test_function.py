"""One invocation, bytes to answer, with the runtime wired to fakes: answers, notices and logs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from backup_copy.backups import Backup, BackupKind
from backup_copy.deadline import Deadline
from backup_copy.errors import TransientError
from backup_copy.handler import Answer, handle
from backup_copy.runtime import Runtimes
from tests.conftest import Config
from tests.events import event_bytes
from tests.fakes import COMPARTMENT, TOPIC, FakeGateway

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


# A bad configuration value: copy to every destination still valid, then fail loudly naming it.

KEY_PHX = "ocid1.key.oc1.phx.abuwcljrkeyforphoenixxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
KEY_FRA = "ocid1.key.oc1.eu-frankfurt-1.abuwcljrkeyforfrankfurtxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
OWN_REGION = (
    "DESTINATION_REGIONS: 'us-phoenix-1' is the backup's own region: "
    "a backup cannot be copied to the region it is in"
)


def error_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if '"ERROR"' in line]


def test_the_source_region_among_the_destinations_copies_the_others_then_fails_naming_it(
    call: Call, config: Config, fake_runtime: FakeGateway
) -> None:
    config["DESTINATION_REGIONS"] = "us-ashburn-1,us-phoenix-1"
    seed(fake_runtime)
    status, answer = call(event_bytes(BOOT_EVENT))
    assert (status, answer["status"]) == (502, "failed")
    copies = answer["copies"]
    assert isinstance(copies, list)
    assert [(c["region"], c["state"]) for c in copies] == [("us-ashburn-1", "CREATING")]
    assert answer["reason"] == f"copied, but {OWN_REGION}"
    assert answer["failures"] == [{"region": "us-phoenix-1", "reason": OWN_REGION, "class": "configuration"}]
    [(_, title, body)] = fake_runtime.published
    assert title == "FAILED: backup web-01 (Boot Volume) manual was not copied to us-phoenix-1"
    notice = json.loads(body)
    assert notice["newBackupIds"] == [copies[0]["id"]]
    assert notice["errorClass"] == "configuration"


def test_an_entry_that_is_no_region_fails_on_its_own_and_the_other_destination_is_copied(
    call: Call, config: Config, fake_runtime: FakeGateway
) -> None:
    config["DESTINATION_REGIONS"] = "us-ashburn-1,eu-frankfort-1"
    seed(fake_runtime, VOLUME_EVENT)
    status, answer = call(event_bytes(VOLUME_EVENT))
    assert (status, answer["status"]) == (502, "failed")
    assert [r.destination_region for _, r in fake_runtime.copy_requests] == ["us-ashburn-1"]
    typo = "DESTINATION_REGIONS: 'eu-frankfort-1' is not an OCI region; did you mean eu-frankfurt-1?"
    assert answer["failures"] == [{"region": "eu-frankfort-1", "reason": typo, "class": "configuration"}]
    assert answer["reason"] == f"copied, but {typo}"
    [(_, title, _)] = fake_runtime.published
    assert title == "FAILED: backup web-01 (Boot Volume) manual was not copied to eu-frankfort-1"


def test_a_bad_key_entry_leaves_its_destination_uncopied_and_the_others_copied_under_their_keys(
    call: Call, config: Config, fake_runtime: FakeGateway
) -> None:
    config["DESTINATION_KMS_KEY_IDS"] = f"iad={KEY_PHX},fra={KEY_FRA}"
    seed(fake_runtime, VOLUME_EVENT)
    status, answer = call(event_bytes(VOLUME_EVENT))
    assert (status, answer["status"]) == (502, "failed")
    # Never copied under an Oracle-managed key when the operator asked for their own.
    assert [(r.destination_region, r.kms_key_id) for _, r in fake_runtime.copy_requests] == [
        ("eu-frankfurt-1", KEY_FRA)
    ]
    assert answer["failures"] == [
        {
            "region": "us-ashburn-1",
            "reason": "DESTINATION_KMS_KEY_IDS: entry 'iad=ocid1.key.oc1.phx.abuwcljrkeyforphoenixxxxx…': "
            "the key is in us-phoenix-1, but a destination's key must be in that destination (us-ashburn-1), "
            "so us-ashburn-1 is not copied",
            "class": "configuration",
        }
    ]
    assert len(fake_runtime.published) == 1


def test_a_copy_that_fails_for_another_reason_still_names_the_bad_value(
    call: Call, config: Config, fake_runtime: FakeGateway
) -> None:
    config["DESTINATION_REGIONS"] = "us-ashburn-1,eu-frankfort-1"
    status, answer = call(event_bytes(VOLUME_EVENT))  # the source is not there: OCI answers 404
    assert (status, answer["status"]) == (502, "failed")
    assert answer["reason"] == (
        "DESTINATION_REGIONS: 'eu-frankfort-1' is not an OCI region; did you mean eu-frankfurt-1?; not found"
    )


@pytest.mark.parametrize(
    ("topic", "problem"),
    [
        pytest.param(None, "NOTIFICATION_TOPIC_ID: is required but not set", id="missing"),
        pytest.param(
            "ocid1.bucket.oc1.phx.aaaaaaaaaaaaaaaa",
            "NOTIFICATION_TOPIC_ID: 'ocid1.bucket.oc1.phx.aaaaaaaaaaaaaaaa': "
            "expected an OCID of type onstopic, got type bucket",
            id="malformed",
        ),
    ],
)
def test_an_unusable_topic_still_copies_then_fails_with_the_new_ids_in_the_error_log(
    call: Call,
    *,
    config: Config,
    fake_runtime: FakeGateway,
    capsys: pytest.CaptureFixture[str],
    topic: str | None,
    problem: str,
) -> None:
    if topic is None:
        del config["NOTIFICATION_TOPIC_ID"]
    else:
        config["NOTIFICATION_TOPIC_ID"] = topic
    seed(fake_runtime, VOLUME_EVENT)
    status, answer = call(event_bytes(VOLUME_EVENT))
    assert (status, answer["status"]) == (502, "failed")
    assert answer["reason"] == f"copied, but {problem}, so no notice can be published"
    new_ids = [copy["id"] for copy in answer["copies"]]  # type: ignore[attr-defined]
    assert len(new_ids) == 2
    assert fake_runtime.published == []
    errors = error_lines(capsys)
    assert [entry["message"] for entry in errors] == ["notice not published", "backup failed"]
    assert all(entry["newBackupIds"] == new_ids for entry in errors)
    # A redelivery makes no copy, and is no quieter while the topic stays unusable.
    status, answer = call(event_bytes(VOLUME_EVENT))
    assert (status, answer["status"]) == (502, "failed")
    assert answer["reason"] == (
        f"already_copied (every destination already has a copy), but {problem}, so no notice can be published"
    )
    assert len(fake_runtime.copy_requests) == 2


def test_a_bad_display_name_template_copies_under_the_default_name_then_fails_naming_it(
    call: Call, config: Config, fake_runtime: FakeGateway
) -> None:
    config["DISPLAY_NAME_TEMPLATE"] = "{nme} copy"
    seed(fake_runtime, VOLUME_EVENT)
    status, answer = call(event_bytes(VOLUME_EVENT))
    assert (status, answer["status"]) == (502, "failed")
    names = {r.display_name for _, r in fake_runtime.copy_requests}
    assert names == {"web-01 (Boot Volume) manual (copy from us-phoenix-1)"}
    assert str(answer["reason"]).startswith("copied, but DISPLAY_NAME_TEMPLATE: unknown placeholder '{nme}'")


@pytest.mark.parametrize(
    ("key", "value"),
    [("DRY_RUN", "ture"), ("REQUIRED_TAG", "backup-dr"), ("SOURCE_TYPES", "MANUAL,WEEKLY")],
)
def test_a_bad_value_that_changes_what_is_copied_or_how_copies_nothing_and_fails_naming_it(
    call: Call, config: Config, fake_runtime: FakeGateway, key: str, value: str
) -> None:
    config[key] = value
    seed(fake_runtime, VOLUME_EVENT)
    status, answer = call(event_bytes(VOLUME_EVENT))
    assert (status, answer["status"]) == (502, "failed")
    assert str(answer["reason"]).startswith(f"invalid configuration: {key}: ")
    assert fake_runtime.copy_requests == []
    [(_, title, _)] = fake_runtime.published
    assert title == "FAILED: backup data-01 manual was not copied (invalid configuration)"


HOME = "us-phoenix-1"
SWEEP = b'{"action": "sweep"}'


def sweep_config(config: Config) -> None:
    config.update(SWEEP_COMPARTMENT_IDS=COMPARTMENT, SWEEP_REGION=HOME)


def seed_sweep(gateway: FakeGateway) -> Backup:
    return gateway.add_backup(
        Backup(
            id="ocid1.bootvolumebackup.oc1.phx.missedbyitsevent",
            kind=BackupKind.BOOT,
            region=HOME,
            compartment_id=COMPARTMENT,
            display_name="db-01 daily",
            lifecycle_state="AVAILABLE",
            source_type="SCHEDULED",
            volume_id="vol-db-01",
            time_created=datetime.now(UTC) - timedelta(hours=1),
        )
    )


def test_a_bad_key_only_the_sweep_reads_fails_the_copy_after_copying_and_stops_the_sweep(
    call: Call, config: Config, fake_runtime: FakeGateway
) -> None:
    sweep_config(config)
    config["RPO_HOURS"] = "soon"
    seed(fake_runtime, VOLUME_EVENT)
    status, answer = call(event_bytes(VOLUME_EVENT))
    assert (status, answer["status"]) == (502, "failed")
    assert len(fake_runtime.copy_requests) == 2
    bad = "RPO_HOURS: must be a number above 0, at most 8760 hours (a year); got 'soon'"
    assert answer["reason"] == f"copied, but {bad}, so the sweep does not run"
    fake_runtime.calls.clear()
    status, answer = call(SWEEP)
    assert (status, answer["status"]) == (502, "failed")
    assert answer["reason"] == f"invalid configuration: {bad}, so the sweep does not run"
    assert fake_runtime.calls == ["publish"]


def test_a_sweep_copies_to_the_valid_destinations_and_reports_the_bad_entry_as_a_failure(
    call: Call, config: Config, fake_runtime: FakeGateway
) -> None:
    sweep_config(config)
    config["DESTINATION_REGIONS"] = "us-ashburn-1,eu-frankfort-1"
    source = seed_sweep(fake_runtime)
    status, answer = call(SWEEP)
    assert (status, answer["status"]) == (502, "failed")
    assert [(s, r.destination_region) for s, r in fake_runtime.copy_requests] == [(source.id, "us-ashburn-1")]
    typo = "DESTINATION_REGIONS: 'eu-frankfort-1' is not an OCI region; did you mean eu-frankfurt-1?"
    assert answer["reason"] == f"copied, but {typo}"
    sweep = answer["sweep"]
    assert isinstance(sweep, dict)
    assert sweep["failures"] == [
        {
            "source": "DESTINATION_REGIONS",
            "region": "eu-frankfort-1",
            "reason": typo,
            "class": "configuration",
        }
    ]
    [(_, title, _)] = fake_runtime.published
    assert title == f"Backup sweep of {HOME}: copied 1, 1 FAILED, RPO met"
