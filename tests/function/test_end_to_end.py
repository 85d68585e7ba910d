"""The whole function under the real fdk on a unix socket, against the stand-in, as OCI would run it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.fdk_process import FdkProcess
from devkit.local import LocalCloud
from tests.events import event_bytes, event_json

BOOT_EVENT = "boot-volume-backup-end.json"
HOME, AWAY, FAR = "us-phoenix-1", "us-ashburn-1", "eu-frankfurt-1"
SWEEP = b'{"action": "sweep"}'


@pytest.fixture
def function(cloud: LocalCloud) -> Iterator[FdkProcess]:
    with FdkProcess(cloud.function_env(AWAY)) as running:
        yield running


def invoke(function: FdkProcess, name: str) -> tuple[int, dict[str, Any]]:
    answer = function.invoke(event_bytes(name))
    assert answer.headers["content-type"] == "application/json"
    return answer.status, json.loads(answer.body)


def block_storage_requests(cloud: LocalCloud) -> list[str]:
    return [f"{r.route} {r.region}" for r in cloud.standin.requests if r.service == "iaas"]


def test_a_completed_backup_is_copied_once_and_announced(cloud: LocalCloud, function: FdkProcess) -> None:
    source = cloud.seed_from_event(event_json(BOOT_EVENT))
    status, answer = invoke(function, BOOT_EVENT)

    assert (status, answer["status"], answer["source"]) == (200, "copied", source)
    [copy] = cloud.standin.backups(AWAY)
    assert answer["copies"] == [
        {
            "region": AWAY,
            "id": copy.id,
            "state": "CREATING",
            "workRequestId": answer["copies"][0]["workRequestId"],
        }
    ]
    copies = [r for r in cloud.standin.requests if r.route == "copy"]
    assert len(copies) == 1
    assert copies[0].region == HOME
    assert copies[0].signature_ok
    assert copies[0].body == {
        "destinationRegion": AWAY,
        "displayName": "web-01 (Boot Volume) manual (copy from us-phoenix-1)",
    }
    [notice] = cloud.standin.messages(cloud.topic_id)
    assert notice.title == "Backup copied to us-ashburn-1: web-01 (Boot Volume) manual"
    assert json.loads(notice.body)["newBackupIds"] == [copy.id]


def test_redelivered_event_makes_no_second_copy(cloud: LocalCloud, function: FdkProcess) -> None:
    cloud.seed_from_event(event_json(BOOT_EVENT))
    first_status, first = invoke(function, BOOT_EVENT)
    cloud.standin.forget_retry_tokens()  # past OCI's 24-hour token window: only the lookup can help
    status, answer = invoke(function, BOOT_EVENT)
    assert (first_status, status, answer["status"]) == (200, 200, "already_copied")
    assert [c["id"] for c in answer["copies"]] == [c["id"] for c in first["copies"]]
    assert len(cloud.standin.backups(AWAY)) == 1
    assert [r.route for r in cloud.standin.requests if r.route == "copy"] == ["copy"]
    assert len(cloud.standin.messages(cloud.topic_id)) == 1


@pytest.mark.parametrize("name", ["boot-volume-backup-begin.json", "boot-volume-backup-copy-end.json"])
def test_other_events_are_ignored_without_any_oci_call(
    cloud: LocalCloud, function: FdkProcess, name: str
) -> None:
    status, answer = invoke(function, name)
    assert (status, answer["status"]) == (200, "ignored")
    assert cloud.standin.requests == []


def test_a_malformed_event_is_rejected_and_no_backup_is_touched(
    cloud: LocalCloud, function: FdkProcess
) -> None:
    status, answer = invoke(function, "malformed/resource-id-with-path.json")
    assert (status, answer["status"]) == (502, "rejected")
    assert "data.resourceId: not a well-formed OCID" in str(answer["reason"])
    assert block_storage_requests(cloud) == []
    [notice] = cloud.standin.messages(cloud.topic_id)
    assert notice.title == "FAILED: an event could not be read, so no backup was copied"


@pytest.mark.parametrize("name", ["volume-backup-end.json", "volume-group-backup-end.json"])
def test_every_backup_kind_is_copied_to_every_destination(cloud: LocalCloud, name: str) -> None:
    source = cloud.seed_from_event(event_json(name))
    with FdkProcess(cloud.function_env(f"{AWAY},{FAR}")) as function:
        status, answer = invoke(function, name)
    assert (status, answer["status"]) == (200, "copied")
    for region in (AWAY, FAR):
        [copy] = cloud.standin.backups(region)
        assert copy.source_backup_id == source


# Real events in shapes of their own: OCI's own examples (null tags), what real events carry (null
# details, an empty name), and undocumented shapes of fields the function never acts on; with the
# fields that draw a warning.
REAL_SHAPES = {
    "boot-volume-backup-end-null-tags.json": [],
    "volume-backup-end-null-details.json": [],
    "volume-group-backup-end-empty-name.json": [],
    "boot-volume-backup-end-odd-shapes.json": [
        "data.compartmentName",
        "data.freeformTags.owner",
        "data.definedTags.Oracle-Tags",
        "data.additionalDetails.volumeId",
    ],
}


@pytest.mark.parametrize(("name", "warned"), sorted(REAL_SHAPES.items()))
def test_an_event_in_a_real_shape_is_copied_and_an_odd_one_is_warned_about(
    cloud: LocalCloud, function: FdkProcess, name: str, warned: list[str]
) -> None:
    source = cloud.seed_from_event(event_json(name), display_name="db-07")
    status, answer = invoke(function, name)

    assert (status, answer["status"], answer["source"]) == (200, "copied", source)
    [copy] = cloud.standin.backups(AWAY)
    assert (copy.source_backup_id, copy.display_name) == (source, "db-07 (copy from us-phoenix-1)")
    warnings = [json.loads(line) for line in function.logs().splitlines() if '"level": "WARNING"' in line]
    noted = [note.split(":")[0] for entry in warnings for note in entry.get("oddFields", [])]
    assert noted == warned


def test_a_boot_backup_is_copied_to_one_destination_at_a_time_and_the_sweep_makes_the_next(
    cloud: LocalCloud,
) -> None:
    name = "boot-volume-backup-end-scheduled.json"
    event = event_json(name)
    source = cloud.seed_from_event(event)
    env = cloud.function_env(f"{AWAY},{FAR}", SWEEP_COMPARTMENT_IDS=event["data"]["compartmentId"])
    with FdkProcess(env) as function:
        status, answer = invoke(function, name)
        assert (status, answer["status"]) == (200, "copied")
        [copy] = cloud.standin.backups(AWAY)
        assert copy.source_backup_id == source
        assert cloud.standin.backups(FAR) == []
        assert answer["copies"][1] == {"region": FAR, "id": None, "state": "QUEUED", "workRequestId": None}
        assert [item["region"] for item in answer["queued"]] == [FAR]

        # The sweep while the first copy is in flight: the boot volume waits.
        waiting = function.invoke(SWEEP)
        assert (waiting.status, json.loads(waiting.body)["status"]) == (200, "queued")
        assert cloud.standin.backups(FAR) == []

        cloud.standin.finish_all_copies()
        done = function.invoke(SWEEP)
    assert (done.status, json.loads(done.body)["status"]) == (200, "copied")
    [far] = cloud.standin.backups(FAR)
    assert far.source_backup_id == source
    bodies = [r.body for r in cloud.standin.requests if r.route == "copy"]
    assert [body["destinationRegion"] if isinstance(body, dict) else None for body in bodies] == [AWAY, FAR]


def test_a_source_that_is_gone_fails_loudly(cloud: LocalCloud, function: FdkProcess) -> None:
    status, answer = invoke(function, BOOT_EVENT)
    assert (status, answer["status"]) == (502, "failed")
    assert "404 NotAuthorizedOrNotFound" in str(answer["reason"])
    [notice] = cloud.standin.messages(cloud.topic_id)
    assert json.loads(notice.body)["errorClass"] == "permanent"
    assert '"level": "ERROR"' in function.logs()


def test_a_bad_configuration_is_announced_when_the_topic_is_readable(cloud: LocalCloud) -> None:
    cloud.seed_from_event(event_json(BOOT_EVENT))
    with FdkProcess(cloud.function_env("mars-north-1")) as function:
        status, answer = invoke(function, BOOT_EVENT)
    assert (status, answer["status"]) == (502, "failed")
    assert "DESTINATION_REGIONS: 'mars-north-1' is not an OCI region" in answer["reason"]
    assert block_storage_requests(cloud) == []
    [notice] = cloud.standin.messages(cloud.topic_id)
    assert json.loads(notice.body)["errorClass"] == "configuration"


def test_unreadable_credentials_still_get_a_json_answer(cloud: LocalCloud, tmp_path: Path) -> None:
    cloud.seed_from_event(event_json(BOOT_EVENT))
    env = {**cloud.function_env(AWAY), "OCI_RESOURCE_PRINCIPAL_RPST": str(tmp_path / "gone" / "rpst")}
    with FdkProcess(env) as function:
        status, answer = invoke(function, BOOT_EVENT)
        logs = function.logs()
    assert (status, answer["status"]) == (502, "failed")
    assert "credentials could not be loaded" in answer["reason"]
    assert cloud.standin.requests == []
    assert '"message": "notice not published"' in logs
