"""Copying a backup: sent to the source region, the copy appears in the destination region."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import oci
import pytest

from devkit.standin import Fault, KindName, StandIn

from .support import AWAY, COPY_DELAY_SECONDS, FAR, HOME, ClientFactory, FakeClock, SeedFactory


@dataclass(frozen=True)
class KindCase:
    """How the SDK copies and reads one kind of backup."""

    kind: KindName
    ocid_type: str
    copy: str
    get: str
    details: Any
    source_attribute: str


KINDS = [
    KindCase(
        "boot",
        "bootvolumebackup",
        "copy_boot_volume_backup",
        "get_boot_volume_backup",
        oci.core.models.CopyBootVolumeBackupDetails,
        "source_boot_volume_backup_id",
    ),
    KindCase(
        "volume",
        "volumebackup",
        "copy_volume_backup",
        "get_volume_backup",
        oci.core.models.CopyVolumeBackupDetails,
        "source_volume_backup_id",
    ),
    KindCase(
        "volume_group",
        "volumegroupbackup",
        "copy_volume_group_backup",
        "get_volume_group_backup",
        oci.core.models.CopyVolumeGroupBackupDetails,
        "source_volume_group_backup_id",
    ),
]


def _copy(client: Any, backup_id: str, destination: str = AWAY, **kwargs: Any) -> Any:
    details = oci.core.models.CopyBootVolumeBackupDetails(destination_region=destination)
    return client.copy_boot_volume_backup(backup_id, details, **kwargs)


@pytest.mark.parametrize("case", KINDS, ids=[case.kind for case in KINDS])
def test_copy_creates_a_backup_in_the_destination_region(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, case: KindCase
) -> None:
    source_id = seed(case.kind, freeform_tags={"app": "web"}, defined_tags={"ops": {"tier": "1"}})
    key = "ocid1.key.oc1.iad.example"

    answer = getattr(make_client(HOME), case.copy)(
        source_id, case.details(destination_region=AWAY, display_name="web-01 DR", kms_key_id=key)
    )

    new = answer.data
    assert answer.status == 200
    assert answer.headers["opc-work-request-id"].startswith("ocid1.coreservicesworkrequest.oc1.phx.")
    assert answer.headers["opc-request-id"]
    assert new.id.startswith(f"ocid1.{case.ocid_type}.oc1.iad.")
    assert (new.lifecycle_state, new.display_name) == ("CREATING", "web-01 DR")
    assert getattr(new, case.source_attribute) == source_id
    fetched = getattr(make_client(AWAY), case.get)(new.id).data
    assert fetched.id == new.id
    if case.kind != "volume_group":
        assert fetched.kms_key_id == key
    assert [b.id for b in standin.backups(AWAY, case.kind)] == [new.id]
    assert [b.id for b in standin.backups(HOME, case.kind)] == [source_id]


@pytest.mark.parametrize("every_kind", [False, True])
@pytest.mark.parametrize("case", KINDS, ids=[case.kind for case in KINDS])
def test_a_volume_copy_carries_its_source_tags_and_the_other_kinds_as_switched(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, case: KindCase, every_kind: bool
) -> None:
    # OCI documents tag copying for volume backups; for boot volume and volume group backups it is
    # unconfirmed, so the stand-in has a switch.
    standin.set_tag_copying(every_kind=every_kind)
    tags = ({"app": "web"}, {"ops": {"tier": "1"}})
    source_id = seed(case.kind, freeform_tags=tags[0], defined_tags=tags[1])

    new = getattr(make_client(HOME), case.copy)(source_id, case.details(destination_region=AWAY)).data

    tagged = case.kind == "volume" or every_kind
    assert (new.freeform_tags, new.defined_tags) == (tags if tagged else ({}, {}))


def test_a_marketplace_images_boot_volume_backup_is_not_copied(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        _copy(make_client(), seed(marketplace_image=True))

    assert (refused.value.status, refused.value.code) == (400, "InvalidParameter")
    assert "Marketplace" in refused.value.message
    assert standin.backups(AWAY) == []


def test_the_marketplace_refusal_is_configurable(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    # Its status, code and message are undocumented.
    standin.set_marketplace_refusal(409, "Conflict", "Cannot copy a boot volume from an image listing")

    with pytest.raises(oci.exceptions.ServiceError) as refused:
        _copy(make_client(), seed(marketplace_image=True))

    assert (refused.value.status, refused.value.code) == (409, "Conflict")
    assert refused.value.message.startswith("Cannot copy a boot volume from an image listing")


def test_copy_without_a_name_takes_the_source_name(make_client: ClientFactory, seed: SeedFactory) -> None:
    source_id = seed(display_name="db-02 weekly")

    assert _copy(make_client(), source_id).data.display_name == "db-02 weekly"


def test_copy_becomes_available_after_the_delay(
    make_client: ClientFactory, seed: SeedFactory, clock: FakeClock
) -> None:
    new_id = _copy(make_client(), seed()).data.id
    away = make_client(AWAY)

    clock.advance(COPY_DELAY_SECONDS - 1)
    assert away.get_boot_volume_backup(new_id).data.lifecycle_state == "CREATING"
    clock.advance(1)
    assert away.get_boot_volume_backup(new_id).data.lifecycle_state == "AVAILABLE"


def test_same_retry_token_replays_the_same_copy(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    source_id = seed()
    client = make_client()

    first = _copy(client, source_id, opc_retry_token="event-1")
    second = _copy(client, source_id, opc_retry_token="event-1")

    assert second.data.id == first.data.id
    assert second.headers["opc-work-request-id"] == first.headers["opc-work-request-id"]
    assert len(standin.backups(AWAY)) == 1


def test_concurrent_requests_with_one_retry_token_make_one_copy(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    source_id = seed()
    client = make_client()

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: _copy(client, source_id, opc_retry_token="event-1"), range(4)))

    assert len({a.data.id for a in answers}) == 1
    assert len(standin.backups(AWAY)) == 1


def test_forgotten_retry_token_makes_a_second_copy(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    source_id = seed()
    client = make_client()
    first = _copy(client, source_id, opc_retry_token="event-1")

    standin.forget_retry_tokens()
    second = _copy(client, source_id, opc_retry_token="event-1")

    assert second.data.id != first.data.id
    assert len(standin.backups(AWAY)) == 2


def test_retry_token_reused_for_another_backup_is_refused(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    client = make_client()
    _copy(client, seed(), opc_retry_token="event-1")

    with pytest.raises(oci.exceptions.ServiceError) as refused:
        _copy(client, seed(), opc_retry_token="event-1")

    assert (refused.value.status, refused.value.code) == (409, "InvalidatedRetryToken")
    assert len(standin.backups(AWAY)) == 1


@pytest.mark.parametrize("listed", [True, False], ids=["still listed", "no longer listed"])
def test_a_retry_token_whose_copy_was_deleted_is_invalidated(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, listed: bool
) -> None:
    source_id = seed()
    client = make_client()
    first = _copy(client, source_id, opc_retry_token="event-1").data
    standin.finish_copy(first.id)
    make_client(AWAY).delete_boot_volume_backup(first.id)
    if not listed:
        standin.forget_backup(first.id)

    with pytest.raises(oci.exceptions.ServiceError) as refused:
        _copy(client, source_id, opc_retry_token="event-1")
    fresh = _copy(client, source_id, opc_retry_token="event-2").data

    assert (refused.value.status, refused.value.code) == (409, "InvalidatedRetryToken")
    assert first.id in refused.value.message
    assert fresh.id != first.id


def test_failed_copy_is_not_remembered_under_its_retry_token(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    source_id = seed()
    client = make_client()
    standin.script_faults([Fault("copy", 500, "InternalServerError")])

    with pytest.raises(oci.exceptions.ServiceError):
        _copy(client, source_id, opc_retry_token="event-1")
    answer = _copy(client, source_id, opc_retry_token="event-1")

    assert [b.id for b in standin.backups(AWAY)] == [answer.data.id]


def test_copy_of_an_unknown_backup_is_not_found(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    elsewhere = seed(region=AWAY)

    with pytest.raises(oci.exceptions.ServiceError) as refused:
        _copy(make_client(HOME), elsewhere, destination=FAR)

    assert (refused.value.status, refused.value.code) == (404, "NotAuthorizedOrNotFound")
    assert standin.backups(FAR) == []


@pytest.mark.parametrize("state", ["CREATING", "TERMINATED", "FAULTY"])
def test_copy_of_a_backup_that_is_not_available_is_refused(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, state: str
) -> None:
    source_id = seed(lifecycle_state=state)

    with pytest.raises(oci.exceptions.ServiceError) as refused:
        _copy(make_client(), source_id)

    assert (refused.value.status, refused.value.code) == (409, "IncorrectState")
    assert standin.backups(AWAY) == []


@pytest.mark.parametrize("destination", [HOME, "ap-tokyo-1", "iad", ""])
def test_copy_to_its_own_or_an_unknown_region_is_a_bad_request(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, destination: str
) -> None:
    source_id = seed()

    with pytest.raises(oci.exceptions.ServiceError) as refused:
        _copy(make_client(), source_id, destination=destination)

    assert (refused.value.status, refused.value.code) == (400, "InvalidParameter")
    assert all(standin.backups(region) == [] for region in (AWAY, FAR))
