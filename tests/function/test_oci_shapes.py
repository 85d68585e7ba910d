"""The function against the stand-in as OCI really shapes things: volume group members, COMMITTED.

In process (handler.handle with a Runtimes that reads the environment, as a container would), with
the real SDK against the stand-in.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backup_copy.deadline import Deadline
from backup_copy.handler import handle
from backup_copy.runtime import Runtimes
from devkit.local import LocalCloud
from tests.events import event_json

HOME, AWAY = "us-phoenix-1", "us-ashburn-1"
SWEEP = b'{"action": "sweep"}'
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
