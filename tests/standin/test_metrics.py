"""Monitoring's PostMetricData: what the stand-in keeps, and what it refuses as OCI does."""

from datetime import timedelta
from typing import Any

import oci
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devkit.standin import ResourcePrincipal, StandIn

from .support import AWAY, HOME, ClientFactory, FakeClock

Models = oci.monitoring.models


def metric(clock: FakeClock, name: str = "rpo_age_hours", **changes: Any) -> Any:
    fields: dict[str, Any] = {
        "namespace": "backup_copy",
        "compartment_id": "ocid1.compartment.oc1..aaaaaaaametrics",
        "name": name,
        "dimensions": {"volume": "ocid1.bootvolume.oc1.phx.a", "destinationRegion": AWAY},
        "datapoints": [Models.Datapoint(timestamp=clock.now, value=2.5)],
    }
    fields.update(changes)
    return Models.MetricDataDetails(**fields)


def post(client: Any, *metrics: Any, atomicity: str = "NON_ATOMIC") -> Any:
    details = Models.PostMetricDataDetails(metric_data=list(metrics), batch_atomicity=atomicity)
    return client.post_metric_data(details).data


def test_posted_metrics_are_kept_per_region_with_their_stream_and_values(
    standin: StandIn, make_client: ClientFactory, clock: FakeClock
) -> None:
    answer = post(make_client(HOME, "telemetry-ingestion"), metric(clock), metric(clock, "copies_made"))

    assert (answer.failed_metrics_count, answer.failed_metrics) == (0, [])
    kept = standin.metrics(HOME)
    assert [(m.namespace, m.name, m.values) for m in kept] == [
        ("backup_copy", "rpo_age_hours", (2.5,)),
        ("backup_copy", "copies_made", (2.5,)),
    ]
    assert kept[0].dimensions == {"volume": "ocid1.bootvolume.oc1.phx.a", "destinationRegion": AWAY}
    assert kept[0].timestamps == (clock.now,)
    assert standin.metrics(AWAY) == []
    [request] = standin.requests
    assert (request.method, request.path, request.route) == (
        "POST",
        f"/{HOME}/telemetry-ingestion/20180401/metrics",
        "metrics",
    )
    assert request.signature_ok


def test_an_unsigned_post_is_not_authenticated(
    standin: StandIn, make_client: ClientFactory, clock: FakeClock, principal: ResourcePrincipal
) -> None:
    # The principal's token, signed with a key that is not the principal's.
    stranger = oci.auth.signers.SecurityTokenSigner(
        principal.token, rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    with pytest.raises(oci.exceptions.ServiceError) as refused:
        post(make_client(HOME, "telemetry-ingestion", signer=stranger), metric(clock))

    assert refused.value.status == 401
    assert standin.metrics() == []


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"namespace": "oci_backup"}, "reserved"),
        ({"namespace": "oracle_backup"}, "reserved"),
        ({"namespace": "1backup"}, "invalid namespace"),
        ({"name": "rpo age"}, "invalid metric name"),
        ({"dimensions": {}}, "0 dimensions"),
        ({"dimensions": {f"d{i}": "v" for i in range(21)}}, "21 dimensions"),
        ({"dimensions": {"volume": ""}}, "invalid value for dimension"),
        ({"dimensions": {"a key": "v"}}, "invalid dimension key"),
        ({"datapoints": []}, "at least one datapoint"),
    ],
)
def test_a_metric_oci_refuses_is_listed_with_its_reason_and_the_rest_kept(
    standin: StandIn, make_client: ClientFactory, clock: FakeClock, changes: dict[str, Any], why: str
) -> None:
    refused = metric(clock, **{"name": "other", **changes})

    answer = post(make_client(HOME, "telemetry-ingestion"), metric(clock), refused)

    assert answer.failed_metrics_count == 1
    assert why in answer.failed_metrics[0].message
    assert [m.name for m in standin.metrics()] == ["rpo_age_hours"]


@pytest.mark.parametrize(("shift", "kept"), [(-121, False), (-119, True), (9, True), (11, False)])
def test_timestamps_must_be_within_two_hours_before_and_ten_minutes_after_now(
    standin: StandIn, make_client: ClientFactory, clock: FakeClock, shift: int, kept: bool
) -> None:
    when = clock.now + timedelta(minutes=shift)
    points = [Models.Datapoint(timestamp=when, value=1.0)]

    answer = post(
        make_client(HOME, "telemetry-ingestion"), metric(clock), metric(clock, "x", datapoints=points)
    )

    assert answer.failed_metrics_count == (0 if kept else 1)


def test_a_post_where_nothing_passes_or_an_atomic_one_with_a_failure_is_refused_whole(
    standin: StandIn, make_client: ClientFactory, clock: FakeClock
) -> None:
    client = make_client(HOME, "telemetry-ingestion")
    bad = metric(clock, namespace="oci_x")

    for metrics, atomicity in (((bad,), "NON_ATOMIC"), ((metric(clock), bad), "ATOMIC")):
        with pytest.raises(oci.exceptions.ServiceError) as refused:
            post(client, *metrics, atomicity=atomicity)
        assert (refused.value.status, refused.value.code) == (400, "InvalidParameter")
    assert standin.metrics() == []


def test_more_than_fifty_streams_in_one_post_are_refused(
    standin: StandIn, make_client: ClientFactory, clock: FakeClock
) -> None:
    client = make_client(HOME, "telemetry-ingestion")
    streams = [metric(clock, dimensions={"volume": f"v{i}"}) for i in range(51)]

    post(client, *streams[:50])
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        post(client, *streams)

    assert refused.value.status == 400
    assert len(standin.metrics()) == 50
