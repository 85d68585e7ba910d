"""Scripted faults, garbage answers, added latency and trickled answers."""

import time

import oci
import pytest

from devkit.standin import Fault, Garbage, ResourcePrincipal, StandIn

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


def test_a_late_answer_a_client_gave_up_on_is_waited_for_until_it_has_gone_out(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    backup_id = seed()
    standin.set_latency(1.0, route="get")
    client = make_client(timeout=(2.0, 0.2))

    with pytest.raises(oci.exceptions.RequestException):
        client.get_boot_volume_backup(backup_id)

    # The stand-in records a request once its latency is over: seen only if the wait waited.
    assert standin.wait_until_idle(timeout=5.0)
    assert [r.route for r in standin.requests] == ["get"]


def test_garbage_answers_reach_the_client_as_scripted_and_run_nothing(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, principal: ResourcePrincipal
) -> None:
    backup_id = seed()
    client = make_client()
    standin.script_faults([Garbage("copy", b"{}"), Garbage("list", b"{}", region=AWAY)])
    details = oci.core.models.CopyBootVolumeBackupDetails(destination_region=AWAY)

    copied = client.copy_boot_volume_backup(backup_id, details)
    listed = make_client(AWAY).list_boot_volume_backups(principal.compartment_id)

    # What the SDK makes of them: a backup with no id, an empty listing. Nothing was copied.
    assert (copied.status, copied.data.id, copied.data.lifecycle_state) == (200, None, None)
    assert (listed.status, listed.data) == (200, [])
    assert standin.backups(AWAY) == []
    assert standin.pending_faults == []
    assert client.copy_boot_volume_backup(backup_id, details).data.id is not None


def test_garbage_can_be_an_error_page_that_is_not_oci_json(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    backup_id = seed()
    standin.script_faults([Garbage("get", b"<html><body>Not Found</body></html>", status=404)])

    with pytest.raises(oci.exceptions.ServiceError) as refused:
        make_client().get_boot_volume_backup(backup_id)

    assert (refused.value.status, refused.value.code) == (404, None)


def test_a_trickled_answer_outlives_the_sdk_read_timeout(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    backup_id = seed()
    # A byte every 4 ms: each read waits far less than the 0.5 s read timeout, the whole answer
    # (some 700 bytes) takes seconds.
    standin.set_trickle(0.004, route="get")
    client = make_client(timeout=(2.0, 0.5))

    started = time.monotonic()
    backup = client.get_boot_volume_backup(backup_id).data
    took = time.monotonic() - started

    assert backup.id == backup_id
    assert took > 1.0
    standin.set_trickle(0.0, route="get")
    assert client.get_boot_volume_backup(backup_id).data.id == backup_id
