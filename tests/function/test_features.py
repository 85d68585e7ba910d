"""Fan-out, per-region keys, tags, filters and dry run: the whole function through fdk on the stand-in."""

from __future__ import annotations

import json
from typing import Any

from backup_copy.backups import DEPLOYMENT_TAG, MARKER_TAG, VOLUME_TAG
from devkit.fdk_process import FdkProcess
from devkit.local import LocalCloud
from devkit.standin import Fault
from tests.events import event_bytes, event_json

BOOT_EVENT = "boot-volume-backup-end.json"
# OCI copies one boot volume backup at a time from a source region (the function queues the other
# destinations); a volume backup goes to every destination at once, as the fan-out tests need.
VOLUME_EVENT = "volume-backup-end.json"
AWAY, FAR = "us-ashburn-1", "eu-frankfurt-1"
KEY_FRA = "ocid1.key.oc1.fra.abuwcljrvault.abuwcljrkeyforfrankfurtxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"


def run(
    cloud: LocalCloud, name: str = BOOT_EVENT, destinations: str = f"{AWAY},{FAR}", **config: str
) -> tuple[int, dict[str, Any]]:
    with FdkProcess(cloud.function_env(destinations, **config)) as function:
        answer = function.invoke(event_bytes(name))
    return answer.status, json.loads(answer.body)


def copy_requests(cloud: LocalCloud) -> list[Any]:
    return [r for r in cloud.standin.requests if r.route == "copy"]


def test_one_notice_names_every_new_copy_in_every_destination(cloud: LocalCloud) -> None:
    cloud.seed_from_event(event_json(VOLUME_EVENT))
    status, answer = run(cloud, VOLUME_EVENT)
    assert (status, answer["status"]) == (200, "copied")
    made = {region: cloud.standin.backups(region) for region in (AWAY, FAR)}
    assert {region: len(copies) for region, copies in made.items()} == {AWAY: 1, FAR: 1}
    tokens = {r.headers["opc-retry-token"] for r in copy_requests(cloud)}
    assert len(tokens) == 2  # each destination its own token
    [notice] = cloud.standin.messages(cloud.topic_id)
    assert notice.title == f"Backup copied to {AWAY}, {FAR}: data-01 manual"
    assert json.loads(notice.body)["newBackupIds"] == [made[AWAY][0].id, made[FAR][0].id]


def test_a_destination_key_encrypts_that_destination_only(cloud: LocalCloud) -> None:
    cloud.seed_from_event(event_json(VOLUME_EVENT))
    status, _ = run(cloud, VOLUME_EVENT, DESTINATION_KMS_KEY_IDS=f"{FAR}={KEY_FRA}")
    assert status == 200
    bodies = {r.body["destinationRegion"]: r.body for r in copy_requests(cloud)}
    assert bodies[FAR]["kmsKeyId"] == KEY_FRA
    assert "kmsKeyId" not in bodies[AWAY]
    assert cloud.standin.backups(FAR)[0].kms_key_id == KEY_FRA
    assert cloud.standin.backups(AWAY)[0].kms_key_id is None


def test_a_key_in_the_wrong_region_leaves_its_destination_uncopied_and_copies_the_other(
    cloud: LocalCloud,
) -> None:
    cloud.seed_from_event(event_json(BOOT_EVENT))
    status, answer = run(cloud, DESTINATION_KMS_KEY_IDS=f"{AWAY}={KEY_FRA},{FAR}={KEY_FRA}")
    assert (status, answer["status"]) == (502, "failed")
    # Never under an Oracle-managed key in place of the one asked for: Ashburn is not copied at all.
    assert [(r.body["destinationRegion"], r.body.get("kmsKeyId")) for r in copy_requests(cloud)] == [
        (FAR, KEY_FRA)
    ]
    [failure] = answer["failures"]
    assert (failure["region"], failure["class"]) == (AWAY, "configuration")
    assert failure["reason"].startswith(
        f"DESTINATION_KMS_KEY_IDS: entry '{AWAY}=ocid1.key.oc1.fra.abuwcljrvault.ab…': "
    )
    assert failure["reason"].endswith(
        f"the key is in {FAR}, but a destination's key must be in that destination ({AWAY}), "
        f"so {AWAY} is not copied"
    )


def test_the_source_region_among_the_destinations_is_named_after_the_others_are_copied(
    cloud: LocalCloud,
) -> None:
    cloud.seed_from_event(event_json(BOOT_EVENT))
    status, answer = run(cloud, destinations=f"{AWAY},us-phoenix-1")
    assert (status, answer["status"]) == (502, "failed")
    [copy] = cloud.standin.backups(AWAY)
    assert [(c["region"], c["id"], c["state"]) for c in answer["copies"]] == [(AWAY, copy.id, "CREATING")]
    own = (
        "DESTINATION_REGIONS: 'us-phoenix-1' is the backup's own region: "
        "a backup cannot be copied to the region it is in"
    )
    assert answer["reason"] == f"copied, but {own}"
    assert answer["failures"] == [{"region": "us-phoenix-1", "reason": own, "class": "configuration"}]
    [notice] = cloud.standin.messages(cloud.topic_id)
    name = event_json(BOOT_EVENT)["data"]["resourceName"]
    assert notice.title == f"FAILED: backup {name} was not copied to us-phoenix-1"
    body = json.loads(notice.body)
    assert body["newBackupIds"] == [copy.id]
    assert [(c["region"], c["id"]) for c in body["copies"]] == [(AWAY, copy.id)]


def test_copies_carry_the_source_tags_and_the_marker(cloud: LocalCloud) -> None:
    source = cloud.seed_from_event(event_json(VOLUME_EVENT))
    run(cloud, VOLUME_EVENT)
    for region in (AWAY, FAR):
        [copy] = cloud.standin.backups(region)
        volume = event_json(VOLUME_EVENT)["data"]["additionalDetails"]["volumeId"]
        assert dict(copy.freeform_tags) == {
            "app": "web",
            "env": "prod",
            MARKER_TAG: source,
            VOLUME_TAG: volume,
            # No DEPLOYMENT_NAME or FN_FN_ID here: the deployment is named after the function's region.
            DEPLOYMENT_TAG: f"backup-copy-{cloud.principal.region}",
        }
        assert {ns: dict(v) for ns, v in copy.defined_tags.items()} == {"Operations": {"CostCenter": "42"}}
    updates = [r for r in cloud.standin.requests if r.route == "update"]
    assert sorted(r.region for r in updates) == sorted([AWAY, FAR])


def test_a_failed_tag_write_is_reported_and_the_copy_stands(cloud: LocalCloud) -> None:
    cloud.seed_from_event(event_json(VOLUME_EVENT))
    cloud.standin.script_faults([Fault("update", 403, "NotAuthorizedOrNotFound", region=FAR)])
    status, answer = run(cloud, VOLUME_EVENT)
    assert (status, answer["status"]) == (200, "copied")
    [warning] = answer["warnings"]
    assert warning["region"] == FAR
    assert "tags not set: OCI answered 403 NotAuthorizedOrNotFound to tag" in warning["reason"]
    assert len(cloud.standin.backups(FAR)) == 1
    assert len(copy_requests(cloud)) == 2
    [notice] = cloud.standin.messages(cloud.topic_id)
    assert "(tags not set)" in str(notice.title)
    assert json.loads(notice.body)["warnings"] == answer["warnings"]


def test_a_backup_without_the_required_tag_is_ignored(cloud: LocalCloud) -> None:
    cloud.seed_from_event(event_json(BOOT_EVENT))
    status, answer = run(cloud, REQUIRED_TAG="backup-dr=true")
    assert (status, answer["status"]) == (200, "ignored")
    assert "backup-dr=true" in answer["reason"]
    assert copy_requests(cloud) == []
    assert cloud.standin.messages(cloud.topic_id) == []


def test_a_scheduled_backup_passes_a_scheduled_only_filter(cloud: LocalCloud) -> None:
    name = "boot-volume-backup-end-scheduled.json"
    cloud.seed_from_event(event_json(name))
    status, answer = run(cloud, name, SOURCE_TYPES="SCHEDULED", REQUIRED_TAG="backup-tier=gold")
    assert (status, answer["status"]) == (200, "copied")
    cloud.seed_from_event(event_json(BOOT_EVENT))
    status, answer = run(cloud, BOOT_EVENT, SOURCE_TYPES="SCHEDULED")
    assert (status, answer["status"]) == (200, "ignored")
    assert "source type MANUAL is not in SOURCE_TYPES" in answer["reason"]


def test_a_backup_outside_the_compartments_is_ignored(cloud: LocalCloud) -> None:
    cloud.seed_from_event(event_json(BOOT_EVENT))
    other = "ocid1.compartment.oc1..aaaaaaaaothercompartmentxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    status, answer = run(cloud, COMPARTMENT_IDS=other)
    assert (status, answer["status"]) == (200, "ignored")
    assert "is not in COMPARTMENT_IDS" in answer["reason"]
    assert copy_requests(cloud) == []


def test_dry_run_looks_everything_up_and_copies_nothing(cloud: LocalCloud) -> None:
    cloud.seed_from_event(event_json(BOOT_EVENT))
    status, answer = run(cloud, DRY_RUN="true")
    assert (status, answer["status"]) == (200, "dry_run")
    assert [(c["region"], c["id"], c["state"]) for c in answer["copies"]] == [
        (AWAY, None, "PLANNED"),
        (FAR, None, "PLANNED"),
    ]
    assert sorted({r.route for r in cloud.standin.requests}) == ["get", "list", "publish"]
    [notice] = cloud.standin.messages(cloud.topic_id)
    assert str(notice.title).startswith(f"Dry run: backup would be copied to {AWAY}, {FAR}")
