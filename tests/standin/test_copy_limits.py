"""OCI's cross-region copy limits: one copy in flight per volume, and a cap, per source region.

Source: OCI docs, "Copying a Boot Volume Backup Between Regions", Limitations. The status and code of
the refusal are undocumented, so each plausible pair is tried.
"""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import oci
import pytest

from devkit.standin import CopyEnd, KindName, StandIn, make_ocid

from .support import AWAY, COPY_DELAY_SECONDS, FAR, HOME, ClientFactory, FakeClock, SeedFactory

REFUSALS = [
    (400, "LimitExceeded"),
    (409, "Conflict"),
    (409, "IncorrectState"),
    (429, "TooManyRequests"),
]
ONE_PER_BOOT_VOLUME = "Only one copy per boot volume can be in progress from a source region"


@pytest.fixture
def copy_limits() -> bool:
    """These tests run the stand-in as OCI behaves: limits on."""
    return True


def _copy(client: Any, backup_id: str, destination: str = AWAY, **kwargs: Any) -> Any:
    details = oci.core.models.CopyBootVolumeBackupDetails(destination_region=destination)
    return client.copy_boot_volume_backup(backup_id, details, **kwargs)


def _refusal(client: Any, backup_id: str, destination: str = AWAY, **kwargs: Any) -> Any:
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        _copy(client, backup_id, destination, **kwargs)
    return refused.value


def _volume_backups(seed: SeedFactory, count: int, region: str = HOME) -> list[str]:
    """Back-to-back backups of one boot volume."""
    volume = make_ocid("bootvolume", region)
    return [seed(region=region, parent_id=volume) for _ in range(count)]


def test_by_default_a_second_copy_of_a_volume_is_refused_with_400_limit_exceeded(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    first, second = _volume_backups(seed, 2)
    client = make_client()
    accepted = _copy(client, first).data

    refused = _refusal(client, second)

    assert (refused.status, refused.code) == (400, "LimitExceeded")
    assert refused.message.startswith(ONE_PER_BOOT_VOLUME)
    assert [b.id for b in standin.backups(AWAY)] == [accepted.id]


@pytest.mark.parametrize(("status", "code"), REFUSALS)
def test_second_copy_of_a_volume_is_refused_with_the_configured_status_and_code(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, status: int, code: str
) -> None:
    first, second = _volume_backups(seed, 2)
    client = make_client()
    standin.set_copy_limit_refusal(status, code)
    accepted = _copy(client, first).data

    refused = _refusal(client, second)

    assert (refused.status, refused.code) == (status, code)
    assert refused.message.startswith(ONE_PER_BOOT_VOLUME)
    assert accepted.id in refused.message
    assert [b.id for b in standin.backups(AWAY)] == [accepted.id]


@pytest.mark.parametrize(("status", "code"), REFUSALS)
def test_fan_out_to_a_second_region_is_refused_while_the_first_copy_is_in_flight(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, status: int, code: str
) -> None:
    backup_id = seed()
    client = make_client()
    standin.set_copy_limit_refusal(status, code)
    _copy(client, backup_id, AWAY)

    refused = _refusal(client, backup_id, FAR)

    assert (refused.status, refused.code) == (status, code)
    assert standin.backups(FAR) == []


def test_configured_message_replaces_the_default_one(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    first, second = _volume_backups(seed, 2)
    client = make_client()
    standin.set_copy_limit_refusal(429, "TooManyRequests", "Too many requests for the tenant")
    _copy(client, first)

    refused = _refusal(client, second)

    assert (refused.status, refused.code, refused.message) == (
        429,
        "TooManyRequests",
        "Too many requests for the tenant",
    )


@pytest.mark.parametrize(
    ("kind", "copy", "noun"),
    [
        ("volume", "copy_volume_backup", "volume"),
        ("volume_group", "copy_volume_group_backup", "volume group"),
    ],
)
@pytest.mark.parametrize("every_kind", [True, False])
def test_the_per_volume_limit_holds_for_volume_and_volume_group_backups_only_when_asked(  # noqa: PLR0917
    standin: StandIn,
    make_client: ClientFactory,
    seed: SeedFactory,
    kind: KindName,
    copy: str,
    noun: str,
    every_kind: bool,
) -> None:
    # OCI documents the limit for boot volumes only: both answers are modelled.
    standin.set_copy_limits(every_kind_one_at_a_time=every_kind)
    parent = make_ocid(kind.replace("_", ""), HOME)
    first, second = seed(kind, parent_id=parent), seed(kind, parent_id=parent)
    client = make_client()
    details_type = "CopyVolumeBackupDetails" if kind == "volume" else "CopyVolumeGroupBackupDetails"
    details = getattr(oci.core.models, details_type)(destination_region=AWAY)
    getattr(client, copy)(first, details)

    if not every_kind:
        assert getattr(client, copy)(second, details).status == 200
        return
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        getattr(client, copy)(second, details)

    assert (refused.value.status, refused.value.code) == (400, "LimitExceeded")
    assert refused.value.message.startswith(f"Only one copy per {noun} can be in progress")


def test_another_volume_is_not_held_up(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    client = make_client()
    _copy(client, seed())

    accepted = _copy(client, seed())

    assert accepted.status == 200
    assert len(standin.backups(AWAY)) == 2


def test_the_same_volume_may_copy_from_another_source_region(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    volume = make_ocid("bootvolume", HOME)
    _copy(make_client(HOME), seed(parent_id=volume), AWAY)
    # An earlier copy of the same volume, already AVAILABLE in AWAY, copied on from there.
    copied_before = seed(region=AWAY, parent_id=volume)

    accepted = _copy(make_client(AWAY), copied_before, FAR)

    assert accepted.status == 200
    assert [b.id for b in standin.backups(FAR)] == [accepted.data.id]


def test_a_seeded_copy_in_flight_holds_its_volume(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    earlier, later = _volume_backups(seed, 2)
    seed(region=AWAY, source_backup_id=earlier, lifecycle_state="CREATING")

    refused = _refusal(make_client(), later)

    assert (refused.status, refused.code) == (400, "LimitExceeded")
    assert [b.source_backup_id for b in standin.copies_in_flight(HOME)] == [earlier]


def test_concurrent_copies_of_one_volume_make_one_copy(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    backups = _volume_backups(seed, 6)
    client = make_client()

    def status(backup_id: str) -> int:
        try:
            return int(_copy(client, backup_id).status)
        except oci.exceptions.ServiceError as error:
            return int(error.status)

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(status, backups))

    assert sorted(statuses) == [200, 400, 400, 400, 400, 400]
    assert len(standin.backups(AWAY)) == 1


def test_the_eleventh_concurrent_copy_from_a_region_is_refused_by_default(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    client = make_client()
    for _ in range(10):
        _copy(client, seed())

    refused = _refusal(client, seed())

    assert (refused.status, refused.code) == (400, "LimitExceeded")
    assert refused.message == "The limit of 10 concurrent copies from us-phoenix-1 is reached"
    assert len(standin.copies_in_flight(HOME)) == 10


@pytest.mark.parametrize(("status", "code"), REFUSALS)
def test_the_cap_refuses_until_a_copy_finishes(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, status: int, code: str
) -> None:
    client = make_client()
    standin.set_copy_limits(max_copies_in_flight=3)
    standin.set_copy_limit_refusal(status, code)
    first, *_ = [_copy(client, seed()).data.id for _ in range(3)]

    refused = _refusal(client, seed())
    standin.finish_copy(first)
    accepted = _copy(client, seed())

    assert (refused.status, refused.code) == (status, code)
    assert refused.message == "The limit of 3 concurrent copies from us-phoenix-1 is reached"
    assert accepted.status == 200
    assert len(standin.copies_in_flight(HOME)) == 3


def test_the_cap_counts_only_copies_from_its_own_region(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    standin.set_copy_limits(max_copies_in_flight=1)
    _copy(make_client(HOME), seed(), AWAY)

    accepted = _copy(make_client(AWAY), seed(region=AWAY), HOME)

    assert accepted.status == 200
    assert [len(standin.copies_in_flight(region)) for region in (HOME, AWAY, FAR)] == [1, 1, 0]


def test_a_cap_of_zero_refuses_every_copy(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    standin.set_copy_limits(max_copies_in_flight=0)

    refused = _refusal(make_client(), seed())

    assert refused.message == "The limit of 0 concurrent copies from us-phoenix-1 is reached"


@pytest.mark.parametrize("state", ["AVAILABLE", "FAULTY"])
def test_finishing_a_copy_releases_its_volume(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, state: CopyEnd
) -> None:
    first, second = _volume_backups(seed, 2)
    client = make_client()
    copy_id = _copy(client, first).data.id

    finished = standin.finish_copy(copy_id, state)
    accepted = _copy(client, second)

    assert finished.lifecycle_state == state
    assert make_client(AWAY).get_boot_volume_backup(copy_id).data.lifecycle_state == state
    assert [b.id for b in standin.copies_in_flight()] == [accepted.data.id]


@pytest.mark.parametrize("state", ["AVAILABLE", "FAULTY"])
def test_finish_all_copies_ends_every_copy_in_flight(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, state: CopyEnd
) -> None:
    backup_id = seed()
    still_creating = seed(lifecycle_state="CREATING")
    copies = {
        _copy(make_client(HOME), backup_id, AWAY).data.id,
        _copy(make_client(AWAY), seed(region=AWAY), FAR).data.id,
    }

    finished = standin.finish_all_copies(state)
    again = _copy(make_client(HOME), backup_id, FAR)

    assert {b.id for b in finished} == copies
    assert {standin.backup(copy_id).lifecycle_state for copy_id in copies} == {state}
    assert standin.backup(still_creating).lifecycle_state == "CREATING"
    assert again.status == 200


def test_finish_copy_names_what_it_cannot_finish(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    copy_id = _copy(make_client(), seed()).data.id
    standin.finish_copy(copy_id)

    with pytest.raises(ValueError, match="is AVAILABLE"):
        standin.finish_copy(copy_id, "FAULTY")
    with pytest.raises(KeyError):
        standin.finish_copy(make_ocid("bootvolumebackup", AWAY))
    with pytest.raises(ValueError, match="AVAILABLE or FAULTY"):
        standin.finish_copy(copy_id, "TERMINATED")  # type: ignore[arg-type]


@pytest.mark.parametrize("state", ["AVAILABLE", "FAULTY"])
def test_a_copy_that_ends_after_its_delay_releases_its_volume(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, clock: FakeClock, state: CopyEnd
) -> None:
    first, second = _volume_backups(seed, 2)
    client = make_client()
    standin.set_copy_outcome(state)
    copy_id = _copy(client, first).data.id

    clock.advance(COPY_DELAY_SECONDS - 1)
    refused = _refusal(client, second)
    clock.advance(1)
    accepted = _copy(client, second)

    assert refused.status == 400
    assert accepted.status == 200
    assert make_client(AWAY).get_boot_volume_backup(copy_id).data.lifecycle_state == state


def test_a_retry_token_replay_of_an_accepted_copy_is_not_refused(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    standin.set_copy_limits(max_copies_in_flight=1)
    backup_id = seed()
    client = make_client()
    first = _copy(client, backup_id, opc_retry_token="event-1")

    replay = _copy(client, backup_id, opc_retry_token="event-1")

    assert replay.status == 200
    assert replay.data.id == first.data.id
    assert replay.headers["opc-work-request-id"] == first.headers["opc-work-request-id"]
    assert len(standin.backups(AWAY)) == 1


def test_a_refused_copy_is_not_remembered_under_its_retry_token(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    first, second = _volume_backups(seed, 2)
    client = make_client()
    held = _copy(client, first, opc_retry_token="event-1").data.id

    refused = _refusal(client, second, opc_retry_token="event-2")
    standin.finish_copy(held)
    accepted = _copy(client, second, opc_retry_token="event-2")

    assert refused.status == 400
    assert accepted.data.source_boot_volume_backup_id == second


@pytest.mark.parametrize("copy_limits", [False])
def test_a_stand_in_built_without_limits_copies_everything_at_once(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    backups = _volume_backups(seed, 12)
    client = make_client()

    statuses = [_copy(client, backup_id).status for backup_id in backups]
    statuses.append(_copy(client, backups[0], FAR).status)

    assert statuses == [200] * 13
    assert len(standin.copies_in_flight(HOME)) == 13


def test_limits_switched_off_while_running_give_the_old_behaviour(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    backups = _volume_backups(seed, 12)
    client = make_client()
    _copy(client, backups[0])

    standin.set_copy_limits(one_copy_per_volume=False, max_copies_in_flight=None)
    statuses = [_copy(client, backup_id).status for backup_id in backups[1:]]
    standin.set_copy_limits()
    refused = _refusal(client, seed())

    assert statuses == [200] * 11
    assert refused.message == "The limit of 10 concurrent copies from us-phoenix-1 is reached"


def test_the_per_volume_limit_alone_can_be_switched_off(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    first, second, third = _volume_backups(seed, 3)
    client = make_client()
    standin.set_copy_limits(one_copy_per_volume=False, max_copies_in_flight=2)

    statuses = [_copy(client, first).status, _copy(client, second).status]
    refused = _refusal(client, third)

    assert statuses == [200, 200]
    assert refused.message == "The limit of 2 concurrent copies from us-phoenix-1 is reached"


def test_a_negative_cap_is_a_mistake(standin: StandIn) -> None:
    with pytest.raises(ValueError, match="0 or more"):
        standin.set_copy_limits(max_copies_in_flight=-1)
