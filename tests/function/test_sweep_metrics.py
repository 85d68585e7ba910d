"""The sweep's RPO and counts, posted through the real SDK to the stand-in's Monitoring."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from backup_copy.backups import DEPLOYMENT_TAG, MARKER_TAG, VOLUME_TAG
from backup_copy.deadline import Deadline
from backup_copy.handler import handle
from backup_copy.runtime import Runtimes
from devkit.local import LocalCloud
from devkit.standin import Fault, make_ocid

HOME, AWAY, FAR = "us-phoenix-1", "us-ashburn-1", "eu-frankfurt-1"
SWEEP = b'{"action": "sweep"}'


@pytest.fixture
def sweeping(cloud: LocalCloud, config_env: pytest.MonkeyPatch) -> LocalCloud:
    """The function, copying to two destinations, configured to sweep the principal's compartment."""
    for key, value in cloud.function_env(f"{AWAY},{FAR}").items():
        config_env.setenv(key, value)
    config_env.setenv("SWEEP_COMPARTMENT_IDS", cloud.principal.compartment_id)
    config_env.setenv("DEPLOYMENT_NAME", "dr-phoenix")
    return cloud


def seed_copied_volume(cloud: LocalCloud, ages: dict[str, float]) -> str:
    """A volume whose newest AVAILABLE copy in each destination holds data `ages[destination]` hours old.

    One backup per age, each copied to every destination: AVAILABLE where it is at least that
    destination's age, still being made (CREATING, so the sweep asks for nothing) where it is newer.
    """
    volume = make_ocid("bootvolume", HOME)
    for hours in sorted(set(ages.values())):
        source = cloud.standin.seed_backup(
            kind="boot",
            region=HOME,
            compartment_id=cloud.principal.compartment_id,
            display_name="daily",
            parent_id=volume,
            time_created=datetime.now(UTC) - timedelta(hours=hours),
        )
        for destination, age in ages.items():
            cloud.standin.seed_backup(
                kind="boot",
                region=destination,
                compartment_id=cloud.principal.compartment_id,
                display_name="daily (copy)",
                source_backup_id=source,
                parent_id=volume,
                lifecycle_state="AVAILABLE" if hours >= age else "CREATING",
                time_created=datetime.now(UTC) - timedelta(hours=hours - 0.5),
                freeform_tags={MARKER_TAG: source, VOLUME_TAG: volume, DEPLOYMENT_TAG: "dr-phoenix"},
            )
    return volume


def test_a_sweep_over_two_volumes_and_two_destinations_posts_four_rpo_age_series(
    sweeping: LocalCloud,
) -> None:
    volume_a = seed_copied_volume(sweeping, {AWAY: 3.0, FAR: 5.0})
    volume_b = seed_copied_volume(sweeping, {AWAY: 7.0, FAR: 30.0})

    answer = handle(SWEEP, deadline=Deadline.after(60), runtimes=Runtimes())

    body = json.loads(answer.body)
    assert answer.status_code == 200, body
    posted = sweeping.standin.metrics(HOME)
    ages = {
        (m.dimensions["volume"], m.dimensions["destinationRegion"]): m.values[0]
        for m in posted
        if m.name == "rpo_age_hours"
    }
    assert ages == {
        (volume_a, AWAY): pytest.approx(3.0, abs=0.05),
        (volume_a, FAR): pytest.approx(5.0, abs=0.05),
        (volume_b, AWAY): pytest.approx(7.0, abs=0.05),
        (volume_b, FAR): pytest.approx(30.0, abs=0.05),
    }
    for metric in posted:
        assert metric.namespace == "backup_copy"
        assert metric.compartment_id == sweeping.principal.compartment_id
        assert (metric.dimensions["sourceRegion"], metric.dimensions["deployment"]) == (HOME, "dr-phoenix")
    counts = {m.name: m.values[0] for m in posted if m.name != "rpo_age_hours"}
    # Volume B's data in Frankfurt is past RPO_HOURS (24 by default); the other three are not.
    assert counts == {"rpo_flagged": 1, "copies_made": 0, "copies_queued": 0, "copies_failed": 0}
    assert [line["flag"] is not None for line in body["sweep"]["rpo"]].count(True) == 1
    assert "notes" not in body["sweep"] or body["sweep"]["notes"] == []


def test_a_sweep_whose_metrics_monitoring_refuses_still_answers_200_with_a_note(sweeping: LocalCloud) -> None:
    # The grant missing: Monitoring refuses the post; the sweep's answer stands, with a note.
    seed_copied_volume(sweeping, {AWAY: 3.0, FAR: 3.0})
    sweeping.standin.script_faults([Fault("metrics", 403, "NotAuthorizedOrNotFound")])

    answer = handle(SWEEP, deadline=Deadline.after(60), runtimes=Runtimes())

    body = json.loads(answer.body)
    assert (answer.status_code, body["status"]) == (200, "already_copied")
    [note] = body["sweep"]["notes"]
    assert note.startswith("metrics not posted to Monitoring: OCI answered 403 NotAuthorizedOrNotFound")
    assert "'use metrics'" in note
    assert sweeping.standin.metrics() == []
    assert len(sweeping.standin.messages(sweeping.topic_id)) == 1
