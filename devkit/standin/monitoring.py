"""Monitoring's PostMetricData, as the stand-in serves it: what OCI accepts, refuses and keeps.

Every rule is from the SDK's own documentation of the operation and its models (oci 2.189.0,
`MonitoringClient.post_metric_data`, `MetricDataDetails`, `Datapoint`, `PostMetricDataDetails`), and
OCI's "Publishing Custom Metrics" page (the reserved prefixes, the timestamp window).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import oci

# MetricDataDetails.namespace: "starts with an alphabetical character and includes only alphanumeric
# characters and underscores. Custom metrics can't use the following reserved prefixes: oci_ and oracle_".
_NAMESPACE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
RESERVED_PREFIXES = ("oci_", "oracle_")
# MetricDataDetails.name and .resource_group: "starts with an alphabetical character and includes
# only alphanumeric characters, dots, underscores, hyphens, and dollar signs".
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._$-]*")
# Dimension keys: "only printable ASCII, excluding spaces", at most 256; values at most 512 (Unicode);
# "Empty strings are not allowed for keys or values". Metadata keys and values: at most 256.
_DIMENSION_KEY = re.compile(r"[\x21-\x7e]{1,256}")
MAX_DIMENSION_VALUE = 512
MAX_METADATA = 256
# PostMetricData's per-call limits: "Dimensions per metric group. Maximum: 20. Minimum: 1" and
# "Unique metric streams. Maximum: 50".
MAX_DIMENSIONS = 20
MAX_STREAMS = 50
# Datapoint.timestamp: "less than two hours in the past and less than 10 minutes in the future".
MAX_AGE = timedelta(hours=2)
MAX_AHEAD = timedelta(minutes=10)


@dataclass(frozen=True)
class PostedMetric:
    """One metric object Monitoring kept: its stream (namespace, name, dimensions) and datapoints."""

    region: str
    namespace: str
    compartment_id: str
    name: str
    dimensions: Mapping[str, str]
    values: tuple[float, ...]
    timestamps: tuple[datetime, ...]
    resource_group: str | None = None


class Refused(ValueError):
    """A request PostMetricData refuses whole (400 InvalidParameter)."""


def accept(
    region: str, details: Any, now: datetime
) -> tuple[list[PostedMetric], list[oci.monitoring.models.FailedMetricRecord]]:
    """The metric objects kept, and those refused with OCI's reason; Refused for a request refused whole.

    NON_ATOMIC (the default) keeps the valid objects and lists the others, "at least one metric
    object in the request must pass input validation"; ATOMIC "requires a full pass".
    """
    metrics = list(details.metric_data or [])
    if not metrics:
        raise Refused("metricData must hold at least one metric object")
    streams = {(m.namespace, m.name, tuple(sorted((m.dimensions or {}).items()))) for m in metrics}
    if len(streams) > MAX_STREAMS:
        # The status and code of this refusal are undocumented; the function never sends so many.
        raise Refused(f"{len(streams)} unique metric streams in one call; the maximum is {MAX_STREAMS}")
    kept: list[PostedMetric] = []
    failed: list[oci.monitoring.models.FailedMetricRecord] = []
    for metric in metrics:
        problem = _problem(metric, now)
        if problem is None:
            kept.append(_posted(region, metric))
        else:
            failed.append(oci.monitoring.models.FailedMetricRecord(message=problem, metric_data=metric))
    atomic = details.batch_atomicity == "ATOMIC"
    if failed and (atomic or not kept):
        raise Refused(failed[0].message)
    return kept, failed


def _problem(metric: Any, now: datetime) -> str | None:
    """Why Monitoring refuses one metric object, or None."""
    return _naming_problem(metric) or _dimension_problem(metric) or _datapoint_problem(metric, now)


def _naming_problem(metric: Any) -> str | None:
    namespace, name = metric.namespace or "", metric.name or ""
    problems = (
        (
            not _NAMESPACE.fullmatch(namespace),
            f"invalid namespace {namespace!r}: a letter first, then letters, digits and '_'",
        ),
        (
            namespace.lower().startswith(RESERVED_PREFIXES),
            f"invalid namespace {namespace!r}: the prefixes oci_ and oracle_ are reserved",
        ),
        (not _NAME.fullmatch(name), f"invalid metric name {name!r}"),
        (
            metric.resource_group is not None and not _NAME.fullmatch(metric.resource_group),
            f"invalid resource group {metric.resource_group!r}",
        ),
        (not metric.compartment_id, "compartmentId is required"),
    )
    return next((message for failed, message in problems if failed), None)


def _dimension_problem(metric: Any) -> str | None:
    dimensions = metric.dimensions or {}
    if not 1 <= len(dimensions) <= MAX_DIMENSIONS:
        return f"{len(dimensions)} dimensions: from 1 to {MAX_DIMENSIONS} are allowed"
    for key, value in dimensions.items():
        if not _DIMENSION_KEY.fullmatch(str(key)):
            return f"invalid dimension key {key!r}"
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_DIMENSION_VALUE:
            return f"invalid value for dimension {key!r}: 1 to {MAX_DIMENSION_VALUE} characters"
    for key, value in (metric.metadata or {}).items():
        if not 1 <= len(str(key)) <= MAX_METADATA or not 1 <= len(str(value)) <= MAX_METADATA:
            return f"invalid metadata {key!r}: keys and values of 1 to {MAX_METADATA} characters"
    return None


def _datapoint_problem(metric: Any, now: datetime) -> str | None:
    points = metric.datapoints or []
    if not points:
        return "at least one datapoint is required"
    for point in points:
        if point.timestamp is None or point.value is None:
            return "a datapoint needs a timestamp and a value"
        if not now - MAX_AGE < point.timestamp < now + MAX_AHEAD:
            return (
                f"timestamp {point.timestamp.isoformat()} is not within two hours before and ten "
                "minutes after the current time"
            )
        if point.count is not None and point.count < 1:
            return "a datapoint's count must be greater than zero"
    return None


def _posted(region: str, metric: Any) -> PostedMetric:
    return PostedMetric(
        region=region,
        namespace=metric.namespace,
        compartment_id=metric.compartment_id,
        name=metric.name,
        dimensions=dict(metric.dimensions),
        values=tuple(float(point.value) for point in metric.datapoints),
        timestamps=tuple(point.timestamp for point in metric.datapoints),
        resource_group=metric.resource_group,
    )
