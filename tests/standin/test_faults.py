"""Scripted faults and added latency."""

import oci
import pytest

from devkit.standin import Fault, StandIn

from .support import AWAY, HOME, ClientFactory, SeedFactory


def _status_of_get(client: object, backup_id: str) -> int:
    try:
        return int(client.get_boot_volume_backup(backup_id).status)  # type: ignore[attr-defined]
    except oci.exceptions.ServiceError as error:
        return int(error.status)


def test_faults_fire_in_order_and_then_stop(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    backup_id = seed()
    client = make_client()
    standin.script_faults(
        [
            Fault("get", 429, "TooManyRequests"),
            Fault("get", 500, "InternalServerError", count=2),
        ]
    )

    statuses = [_status_of_get(client, backup_id) for _ in range(4)]

    assert statuses == [429, 500, 500, 200]
    assert standin.pending_faults == []


def test_fault_answers_with_its_code_and_message(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    backup_id = seed()
    standin.script_faults([Fault("copy", 409, "LimitExceeded", message="ten copies at a time")])

    with pytest.raises(oci.exceptions.ServiceError) as refused:
        make_client().copy_boot_volume_backup(
            backup_id, oci.core.models.CopyBootVolumeBackupDetails(destination_region=AWAY)
        )

    assert (refused.value.status, refused.value.code) == (409, "LimitExceeded")
    assert refused.value.message == "ten copies at a time"
    assert standin.backups(AWAY) == []


def test_faults_wait_for_their_route_and_region(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    home_id, away_id = seed(), seed(region=AWAY)
    standin.script_faults([Fault("publish", 503, "ServiceUnavailable"), Fault("get", 503, "X", region=AWAY)])

    home_status = _status_of_get(make_client(HOME), home_id)
    away_statuses = [_status_of_get(make_client(AWAY), away_id) for _ in range(2)]

    assert (home_status, away_statuses) == (200, [503, 200])
    assert standin.pending_faults == [Fault("publish", 503, "ServiceUnavailable")]


def test_latency_on_a_route_can_time_a_client_out(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    backup_id = seed()
    standin.set_latency(5.0, route="get")
    client = make_client(timeout=(2.0, 0.2))

    with pytest.raises(oci.exceptions.RequestException):
        client.get_boot_volume_backup(backup_id)
    listed = client.list_boot_volume_backups(standin.backup(backup_id).compartment_id)

    assert [b.id for b in listed.data] == [backup_id]
