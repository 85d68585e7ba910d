"""The sweep's metrics: the report as datapoints, posted after a sweep only, and never failing it."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from backup_copy.backups import BackupCopy, RegionFailure
from backup_copy.deadline import Deadline
from backup_copy.errors import Failed, PermanentError, TransientError
from backup_copy.handler import handle
from backup_copy.metrics import NAMESPACE, MetricPoint, sweep_metrics
from backup_copy.outcome import QueuedCopy, RpoLine, SourceCopy, SourceFailure, SweepReport
from backup_copy.runtime import Runtimes
from tests.conftest import Config
from tests.events import event_bytes
from tests.fakes import COMPARTMENT, FakeGateway

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HOME, AWAY, FAR = "us-phoenix-1", "us-ashburn-1", "eu-frankfurt-1"
VOLUME_A = "ocid1.bootvolume.oc1.phx.aaaaaaaavolumea"
VOLUME_B = "ocid1.bootvolume.oc1.phx.aaaaaaaavolumeb"
SWEEP = b'{"action": "sweep"}'


def line(volume: str, region: str, age: float | None, flag: str | None = None) -> RpoLine:
    return RpoLine(volume, region, "ocid1.bootvolumebackup.oc1.iad.copy" if age else None, age, None, flag)


def by_stream(points: list[MetricPoint]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(p.name, tuple(sorted(p.dimensions.items()))): p.value for p in points}


def test_two_volumes_in_two_destinations_are_four_rpo_age_series() -> None:
    report = SweepReport(
        HOME,
        examined=4,
        rpo=(
            line(VOLUME_A, AWAY, 2.5),
            line(VOLUME_A, FAR, 26.25, "newest copy older than RPO_HOURS=24"),
            line(VOLUME_B, AWAY, 0.75),
            line(VOLUME_B, FAR, 3.0),
        ),
    )

    points = list(sweep_metrics(report, deployment="dr-phoenix", now=NOW))

    ages = {
        (p.dimensions["volume"], p.dimensions["destinationRegion"]): p.value
        for p in points
        if p.name == "rpo_age_hours"
    }
    assert ages == {
        (VOLUME_A, AWAY): 2.5,
        (VOLUME_A, FAR): 26.25,
        (VOLUME_B, AWAY): 0.75,
        (VOLUME_B, FAR): 3.0,
    }
    for point in points:
        assert point.dimensions["sourceRegion"] == HOME
        assert point.dimensions["deployment"] == "dr-phoenix"
        assert point.timestamp == NOW
    assert by_stream(points)[("rpo_flagged", (("deployment", "dr-phoenix"), ("sourceRegion", HOME)))] == 1


def test_a_volume_without_an_available_copy_posts_no_age_but_counts_as_flagged() -> None:
    report = SweepReport(HOME, examined=1, rpo=(line(VOLUME_A, AWAY, None, "no AVAILABLE copy"),))

    points = list(sweep_metrics(report, deployment="d", now=NOW))

    assert [p.name for p in points if p.name == "rpo_age_hours"] == []
    assert {p.name: p.value for p in points}["rpo_flagged"] == 1


def test_every_count_is_posted_at_every_sweep_zero_included() -> None:
    points = list(sweep_metrics(SweepReport(HOME, examined=0), deployment="d", now=NOW))

    assert {p.name: p.value for p in points} == {
        "rpo_flagged": 0,
        "copies_made": 0,
        "copies_queued": 0,
        "copies_failed": 0,
    }
    assert all(set(p.dimensions) == {"sourceRegion", "deployment"} for p in points)


def test_copies_made_queued_and_failed_are_counted_and_a_dry_runs_plans_are_not_copies() -> None:
    made = BackupCopy(AWAY, "ocid1.bootvolumebackup.oc1.iad.made", "CREATING")
    planned = BackupCopy(FAR, None, "PLANNED")
    failure = SourceFailure("ocid1.bootvolumebackup.oc1.phx.x", RegionFailure(FAR, "refused", "permanent"))
    report = SweepReport(
        HOME,
        examined=3,
        copied=(SourceCopy("s1", made), SourceCopy("s2", planned)),
        queued=(QueuedCopy("s3", FAR, VOLUME_A, NOW - timedelta(hours=1), "a copy is in flight"),) * 2,
        failures=(failure,),
    )

    counts = {p.name: p.value for p in sweep_metrics(report, deployment="d", now=NOW)}

    assert (counts["copies_made"], counts["copies_queued"], counts["copies_failed"]) == (1, 2, 1)


@pytest.fixture
def sweep_config(config: Config) -> Config:
    config.update({"SWEEP_COMPARTMENT_IDS": COMPARTMENT, "SWEEP_REGION": HOME, "DEPLOYMENT_NAME": "dr"})
    return config


def add_recent_source(gateway: FakeGateway, backup_id: str) -> None:
    """A backup taken an hour ago: in the sweep's look-back, without copies."""
    taken = datetime.now(UTC) - timedelta(hours=1)
    gateway.add_backup(replace(gateway.add_source(backup_id), time_created=taken, volume_id=VOLUME_A))


def sweep(runtimes: Runtimes, body: bytes = SWEEP) -> tuple[int, dict[str, object]]:
    answer = handle(body, deadline=Deadline.after(30), runtimes=runtimes)
    return answer.status_code, json.loads(answer.body)


def test_a_sweep_posts_its_metrics_in_its_source_region_after_its_notice(
    sweep_config: Config, fake_runtime: FakeGateway, runtimes: Runtimes
) -> None:
    add_recent_source(fake_runtime, "ocid1.bootvolumebackup.oc1.phx.aaaaaaaasource")

    status, answer = sweep(runtimes)

    assert (status, answer["status"]) == (200, "copied")
    [(namespace, region, points)] = fake_runtime.posted_metrics
    assert (namespace, region) == (NAMESPACE, HOME) == ("backup_copy", HOME)
    assert {p.name for p in points} >= {"copies_made", "copies_queued", "copies_failed", "rpo_flagged"}
    assert all(p.dimensions["deployment"] == "dr" for p in points)
    assert fake_runtime.calls.index("publish") < fake_runtime.calls.index(f"metrics {HOME}")


@pytest.mark.parametrize(
    "failure",
    [
        PermanentError(
            "OCI answered 404 NotAuthorizedOrNotFound to metrics", operation="metrics", region=HOME
        ),
        TransientError(
            "no time left for metrics in us-phoenix-1 before the deadline", operation="metrics", region=HOME
        ),
    ],
)
def test_metrics_that_cannot_be_posted_are_a_warning_and_the_sweep_stands(
    sweep_config: Config,
    fake_runtime: FakeGateway,
    runtimes: Runtimes,
    failure: Failed,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_runtime.fail_metrics = failure
    source = "ocid1.bootvolumebackup.oc1.phx.aaaaaaaasource"
    add_recent_source(fake_runtime, source)

    with caplog.at_level(logging.WARNING, logger="backup_copy.handler"):
        status, answer = sweep(runtimes)

    assert (status, answer["status"]) == (200, "copied")
    report = answer["sweep"]
    assert isinstance(report, dict)
    assert report["notes"] == [f"metrics not posted to Monitoring: {failure.reason}"]
    assert [copy["source"] for copy in report["copied"]] == [source]
    assert len(fake_runtime.published) == 1
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == ["metrics not posted"]


def test_an_event_never_posts_metrics(config: Config, fake_runtime: FakeGateway, runtimes: Runtimes) -> None:
    fake_runtime.add_source(json.loads(event_bytes("volume-backup-end.json"))["data"]["resourceId"])

    status, _ = sweep(runtimes, event_bytes("volume-backup-end.json"))

    assert status == 200
    assert fake_runtime.posted_metrics == []
    assert not [call for call in fake_runtime.calls if call.startswith("metrics")]


def test_a_sweep_that_could_not_start_posts_nothing(config: Config, fake_runtime: FakeGateway) -> None:
    # No SWEEP_COMPARTMENT_IDS: the sweep fails before it looks at anything; the "sweep silent"
    # alarm sees the missing datapoints.
    status, answer = sweep(Runtimes(config, gateway=lambda _: fake_runtime))

    assert (status, answer["status"]) == (502, "failed")
    assert fake_runtime.posted_metrics == []
