"""The function against the stand-in as OCI really behaves: volume groups, tags, refusals, tokens.

In process (handler.handle with a Runtimes that reads the environment, as a container would), with
the real SDK against the stand-in.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backup_copy.backups import DEPLOYMENT_TAG, MARKER_TAG, VOLUME_TAG, BackupKind
from backup_copy.deadline import Deadline
from backup_copy.handler import handle
from backup_copy.oci_gateway import OciGateway, RetryPolicy
from backup_copy.runtime import Runtimes
from devkit.local import LocalCloud
from devkit.standin import Fault, make_ocid
from tests.events import event_json

HOME, AWAY = "us-phoenix-1", "us-ashburn-1"
DEPLOYMENT = "dr-from-phoenix"
SWEEP = b'{"action": "sweep"}'
DEFINED = {"Operations": {"CostCenter": "42"}}
EVENTS = {
    "boot": "boot-volume-backup-end.json",
    "volume": "volume-backup-end.json",
    "volume_group": "volume-group-backup-end.json",
}


@pytest.fixture
def env(cloud: LocalCloud, config_env: pytest.MonkeyPatch) -> LocalCloud:
    """The function configured for one destination and sweeps of the principal's compartment."""
    for key, value in cloud.function_env(AWAY).items():
        config_env.setenv(key, value)
    config_env.setenv("SWEEP_COMPARTMENT_IDS", cloud.principal.compartment_id)
    config_env.setenv("DEPLOYMENT_NAME", DEPLOYMENT)
    return cloud


def seed(cloud: LocalCloud, kind: str, **kwargs: Any) -> str:
    kwargs.setdefault("display_name", f"{kind} daily")
    kwargs.setdefault("time_created", datetime.now(UTC) - timedelta(hours=1))
    return cloud.standin.seed_backup(
        kind=kind,  # type: ignore[arg-type]
        region=kwargs.pop("region", HOME),
        compartment_id=cloud.principal.compartment_id,
        **kwargs,
    )


def event_for(kind: str, backup_id: str) -> bytes:
    event = event_json(EVENTS[kind])
    event["data"]["resourceId"] = backup_id
    return json.dumps(event).encode()


def invoke(body: bytes, runtimes: Runtimes | None = None) -> tuple[int, dict[str, Any]]:
    # A new Runtimes reads the configuration the test has just set, as a new container would.
    answer = handle(body, deadline=Deadline.after(60), runtimes=runtimes or Runtimes())
    return answer.status_code, json.loads(answer.body)


def copy_requests(cloud: LocalCloud) -> list[str | None]:
    """The backup each copy request was about."""
    return [r.resource_id for r in cloud.standin.requests if r.route == "copy"]


# --- volume group backups and their members ----------------------------------------------------


def test_a_sweep_copies_a_volume_group_backup_once_and_none_of_its_members(env: LocalCloud) -> None:
    group = seed(env, "volume_group")
    members = [
        seed(env, "boot", volume_group_backup_id=group),
        seed(env, "volume", volume_group_backup_id=group),
    ]

    status, answer = invoke(SWEEP)

    assert (status, answer["status"]) == (200, "copied")
    assert [c["source"] for c in answer["sweep"]["copied"]] == [group]
    assert copy_requests(env) == [group]
    [copy] = env.standin.backups(AWAY)
    assert copy.source_backup_id == group
    assert not [b for b in env.standin.backups(AWAY) if b.source_backup_id in members]


@pytest.mark.parametrize("kind", ["boot", "volume"])
def test_an_event_for_a_member_backup_is_ignored_naming_its_group(env: LocalCloud, kind: str) -> None:
    group = seed(env, "volume_group")
    member = seed(env, kind, volume_group_backup_id=group)

    status, answer = invoke(event_for(kind, member))

    assert (status, answer["status"]) == (200, "ignored")
    assert group in answer["reason"]
    assert "copying the group copies it" in answer["reason"]
    assert copy_requests(env) == []
    assert env.standin.messages(env.topic_id) == []


# --- COMMITTED: a volume group backup between CREATING and AVAILABLE -----------------------------


def test_a_committed_group_copy_is_live_and_no_second_copy_is_made(env: LocalCloud) -> None:
    group = seed(env, "volume_group")
    committed = seed(env, "volume_group", region=AWAY, source_backup_id=group, lifecycle_state="COMMITTED")

    event_status, event_answer = invoke(event_for("volume_group", group))
    sweep_status, sweep_answer = invoke(SWEEP)

    assert (event_status, event_answer["status"]) == (200, "already_copied")
    assert [(c["id"], c["state"]) for c in event_answer["copies"]] == [(committed, "COMMITTED")]
    assert (sweep_status, sweep_answer["status"]) == (200, "already_copied")
    assert copy_requests(env) == []


def test_a_committed_source_is_not_copied_yet_and_a_redelivery_will(env: LocalCloud) -> None:
    group = seed(env, "volume_group", lifecycle_state="COMMITTED")

    status, answer = invoke(event_for("volume_group", group))

    assert (status, answer["status"]) == (502, "failed")
    assert (
        "the backup is COMMITTED, not yet AVAILABLE; a redelivery of the event will copy it"
        in answer["reason"]
    )
    assert copy_requests(env) == []
    [notice] = env.standin.messages(env.topic_id)
    assert json.loads(notice.body)["errorClass"] == "transient"


# --- tags: OCI copies a volume backup's own; the markers are always this function's -------------


def no_wait_runtimes() -> Runtimes:
    """The real gateway against the stand-in, with retry pauses that take no time."""
    retry = RetryPolicy(sleep=lambda _: None, jitter=lambda: 0.0)
    return Runtimes(gateway=lambda template: OciGateway(endpoint_template=template, retry=retry))


@pytest.mark.parametrize("every_kind", [False, True], ids=["OCI copies volume tags only", "every kind"])
@pytest.mark.parametrize("kind", ["boot", "volume", "volume_group"])
def test_a_copy_carries_the_source_tags_and_markers_of_its_own_source(
    env: LocalCloud, kind: str, every_kind: bool
) -> None:
    env.standin.set_tag_copying(every_kind=every_kind)
    volume = make_ocid({"boot": "bootvolume", "volume": "volume", "volume_group": "volumegroup"}[kind], HOME)
    # The source wears marker keys of its own (set by hand, or carried over from elsewhere).
    stale = {MARKER_TAG: make_ocid(f"{kind.replace('_', '')}backup", AWAY), VOLUME_TAG: "somebody-else"}
    source = seed(env, kind, parent_id=volume, freeform_tags={"app": "web", **stale}, defined_tags=DEFINED)

    first = invoke(event_for(kind, source))
    second = invoke(event_for(kind, source))

    assert (first[1]["status"], second[1]["status"]) == ("copied", "already_copied")
    [copy] = env.standin.backups(AWAY)
    assert dict(copy.freeform_tags) == {
        "app": "web",
        MARKER_TAG: source,
        VOLUME_TAG: volume,
        DEPLOYMENT_TAG: DEPLOYMENT,
    }
    assert copy.defined_tags == DEFINED
    assert len([r for r in env.standin.requests if r.route == "update"]) == 1


def test_a_copy_whose_tag_write_failed_keeps_ocis_copied_markers_and_is_never_adopted(
    env: LocalCloud,
) -> None:
    # OCI copied the volume backup's tags, stale marker included; the function's own write failed.
    # A redelivery cannot tell that copy from one made by hand, so it never tags it: retention
    # never deletes it (its marker names another source, and it carries no deployment).
    source = seed(env, "volume", freeform_tags={MARKER_TAG: "ocid1.volumebackup.oc1.iad.someoneelses"})
    env.standin.script_faults([Fault("update", 403, "NotAuthorized")])

    status, first = invoke(event_for("volume", source))
    [copy] = env.standin.backups(AWAY)
    stale = dict(copy.freeform_tags)
    again = invoke(event_for("volume", source))[1]

    assert (status, first["status"], [w["class"] for w in first["warnings"]]) == (200, "copied", ["tags"])
    assert stale == {MARKER_TAG: "ocid1.volumebackup.oc1.iad.someoneelses"}
    assert (again["status"], [w["class"] for w in again["warnings"]]) == ("already_copied", ["unmarked"])
    assert dict(env.standin.backup(copy.id).freeform_tags) == stale


def test_a_tag_write_that_meets_a_copy_not_yet_visible_is_retried_and_the_tags_set(env: LocalCloud) -> None:
    source = seed(env, "volume")
    env.standin.script_faults([Fault("update", 404, "NotAuthorizedOrNotFound", count=2)])

    status, answer = invoke(event_for("volume", source), no_wait_runtimes())

    assert (status, answer["status"], answer.get("warnings")) == (200, "copied", None)
    [copy] = env.standin.backups(AWAY)
    assert copy.freeform_tags[MARKER_TAG] == source


def test_a_tag_write_that_keeps_meeting_404_leaves_the_copy_and_warns(env: LocalCloud) -> None:
    source = seed(env, "volume")
    env.standin.script_faults([Fault("update", 404, "NotAuthorizedOrNotFound", count=100)])

    status, answer = invoke(event_for("volume", source), no_wait_runtimes())

    assert (status, answer["status"]) == (200, "copied")
    [warning] = answer["warnings"]
    assert warning["class"] == "tags"
    assert "still not found after 4 attempts" in warning["reason"]
    assert [b.source_backup_id for b in env.standin.backups(AWAY)] == [source]
    [notice] = env.standin.messages(env.topic_id)
    assert "(tags not set)" in str(notice.title)


# --- refusals no retry mends ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (400, "InvalidParameter", None),
        (409, "IncorrectState", "Boot volume was launched from a Marketplace image and cannot be copied"),
        (409, "Conflict", "Cannot copy: the image listing does not allow cross-region copies (limit)"),
    ],
)
def test_a_marketplace_images_boot_volume_backup_fails_saying_why(
    env: LocalCloud, status: int, code: str, message: str | None
) -> None:
    env.standin.set_marketplace_refusal(status, code, message)
    source = seed(env, "boot", marketplace_image=True)

    answered, answer = invoke(event_for("boot", source))

    assert (answered, answer["status"]) == (502, "failed")
    [failure] = answer["failures"]
    assert (failure["region"], failure["class"]) == (AWAY, "permanent")
    assert "its boot volume was made from a Marketplace image" in failure["reason"]
    assert "No retry can copy it" in failure["reason"]
    assert copy_requests(env) == [source]  # asked once: neither retried nor queued
    assert env.standin.backups(AWAY) == []


@pytest.mark.parametrize(
    ("status", "code"), [(409, "Conflict"), (409, "IncorrectState"), (400, "InvalidParameter")]
)
def test_retention_reports_a_locked_copy_once_and_deletes_the_rest(
    env: LocalCloud, config_env: pytest.MonkeyPatch, status: int, code: str
) -> None:
    config_env.setenv("RETENTION_DAYS", "30")
    env.standin.set_deletion_lock_refusal(status, code)
    volume = make_ocid("bootvolume", HOME)
    source = seed(env, "boot", parent_id=volume, time_created=datetime.now(UTC) - timedelta(days=90))

    def marked_copy(days: float, **locks: bool) -> str:
        return seed(
            env,
            "boot",
            region=AWAY,
            source_backup_id=source,
            parent_id=volume,
            freeform_tags={MARKER_TAG: source, VOLUME_TAG: volume, DEPLOYMENT_TAG: DEPLOYMENT},
            time_created=datetime.now(UTC) - timedelta(days=days),
            **locks,
        )

    marked_copy(1)
    locked = marked_copy(40, is_prevent_deletion_enabled=True)
    expired = marked_copy(50)

    status_code, answer = invoke(SWEEP, no_wait_runtimes())

    assert (status_code, answer["status"]) == (502, "failed")
    [failure] = answer["sweep"]["failures"]
    assert failure["source"] == locked
    assert "retention lock or prevent-deletion" in failure["reason"]
    assert [e["id"] for e in answer["sweep"]["expired"]] == [expired]
    deletes = [str(r.resource_id) for r in env.standin.requests if r.route == "delete"]
    assert sorted(deletes) == sorted([locked, expired])
    assert env.standin.backup(locked).lifecycle_state == "AVAILABLE"


# --- a copy this function made, deleted by someone --------------------------------------------------


def delete_as_someone_else(env: LocalCloud, copy_id: str, kind: BackupKind) -> None:
    env.standin.finish_copy(copy_id)
    gateway = OciGateway(endpoint_template=env.standin.endpoint_template)
    gateway.delete_backup(kind, copy_id, AWAY, Deadline.after(30))


@pytest.mark.parametrize("listed", [True, False], ids=["still listed", "no longer listed"])
def test_a_redelivery_after_someone_deleted_the_copy_copies_again(
    env: LocalCloud, capsys: pytest.CaptureFixture[str], listed: bool
) -> None:
    source = seed(env, "volume")
    first = invoke(event_for("volume", source))[1]
    [deleted] = [c["id"] for c in first["copies"]]
    delete_as_someone_else(env, deleted, BackupKind.VOLUME)
    if not listed:
        env.standin.forget_backup(deleted)  # OCI stops listing a deleted backup after a while
    capsys.readouterr()

    status, answer = invoke(event_for("volume", source))

    assert (status, answer["status"]) == (200, "copied")
    [copy] = answer["copies"]
    assert copy["id"] != deleted
    live = [b.id for b in env.standin.backups(AWAY) if b.lifecycle_state != "TERMINATED"]
    assert live == [copy["id"]]
    assert len(env.standin.messages(env.topic_id)) == 2
    copies = [r.status for r in env.standin.requests if r.route == "copy"]
    # Listed, the deleted copy's id changes the retry token; not listed, OCI says the old token is
    # invalidated, and the function asks again under the next one.
    assert copies == ([200, 200] if listed else [200, 409, 200])
    warned = "the copy made under this retry token was deleted" in capsys.readouterr().err
    assert warned is not listed
