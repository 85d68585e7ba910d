"""The sweep's report as custom metrics for OCI Monitoring: the RPO per volume and destination, and counts.

Pure: from a SweepReport to the datapoints the gateway posts (backup_copy.ports.MetricsSink). Only the
sweep posts metrics; the event path stays as it is. The names and dimensions are what the deploy
kit's alarms query (deploy/render.py), so a change here is a change there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from backup_copy.outcome import SweepReport

# A custom namespace: a letter first, then letters, digits and '_'; never `oci_` or `oracle_`,
# which OCI reserves (PostMetricData, MetricDataDetails.namespace).
NAMESPACE = "backup_copy"
# Per volume and destination: the age in hours of the newest AVAILABLE copy's data (the RPO line's
# age_hours). A pair without one posts no age: `rpo_flagged` counts it when it is past the RPO.
RPO_AGE = "rpo_age_hours"
# Per sweep: the RPO lines flagged (past RPO_HOURS, latest copy FAULTY, queued past RPO_HOURS, ...).
RPO_FLAGGED = "rpo_flagged"
COPIES_MADE = "copies_made"
COPIES_QUEUED = "copies_queued"
COPIES_FAILED = "copies_failed"


@dataclass(frozen=True)
class MetricPoint:
    """One datapoint of one metric stream (a name and its dimensions)."""

    name: str
    value: float
    dimensions: Mapping[str, str]
    timestamp: datetime


def sweep_metrics(report: SweepReport, *, deployment: str, now: datetime) -> Iterator[MetricPoint]:
    """The datapoints one sweep posts: an RPO age per volume and destination, then the sweep's counts.

    Every count is posted, zero included, at every sweep: a stream that stops is a sweep that did
    not run (the kit's "sweep silent" alarm). A dry run's planned copies are not copies made.
    Made as they are posted: a wide sweep's thousands of streams are never held at once.
    """
    common = {"sourceRegion": report.source_region, "deployment": deployment}
    for line in report.rpo:
        if line.age_hours is not None:
            yield MetricPoint(
                RPO_AGE,
                round(line.age_hours, 3),
                {"volume": line.volume, "destinationRegion": line.region, **common},
                now,
            )
    made = sum(1 for item in report.copied if item.copy.state != "PLANNED")
    counts = (
        (RPO_FLAGGED, len(report.flagged)),
        (COPIES_MADE, made),
        (COPIES_QUEUED, len(report.queued)),
        (COPIES_FAILED, len(report.failures)),
    )
    for name, value in counts:
        yield MetricPoint(name, float(value), dict(common), now)
