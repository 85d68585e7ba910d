"""Volume group backups: their members, and COMMITTED between CREATING and AVAILABLE.

Source: the SDK's models (oci.core.models): VolumeGroupBackup.volume_backup_ids and its lifecycle
states (COMMITTED among them); BootVolumeBackup and VolumeBackup.volume_group_backup_id.
"""

import oci
import pytest

from devkit.standin import ResourcePrincipal, StandIn

from .support import AWAY, COPY_DELAY_SECONDS, HOME, ClientFactory, FakeClock, SeedFactory


def test_a_group_lists_its_members_and_each_member_names_its_group(
    make_client: ClientFactory, seed: SeedFactory, principal: ResourcePrincipal
) -> None:
    group = seed("volume_group")
    boot = seed("boot", volume_group_backup_id=group)
    data = seed("volume", volume_group_backup_id=group)
    alone = seed("volume")
    client = make_client()

    assert client.get_volume_group_backup(group).data.volume_backup_ids == [boot, data]
    assert client.get_boot_volume_backup(boot).data.volume_group_backup_id == group
    listed = {
        b.id: b.volume_group_backup_id for b in client.list_volume_backups(principal.compartment_id).data
    }
    assert listed == {data: group, alone: None}


def test_a_member_must_name_a_group_in_its_region(seed: SeedFactory) -> None:
    not_a_group = seed("volume")
    with pytest.raises(ValueError, match="is not a volume group backup"):
        seed("boot", volume_group_backup_id=not_a_group)


def test_a_group_copy_is_committed_before_it_is_available(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, clock: FakeClock
) -> None:
    details = oci.core.models.CopyVolumeGroupBackupDetails(destination_region=AWAY)
    copy_id = make_client().copy_volume_group_backup(seed("volume_group"), details).data.id
    away = make_client(AWAY)

    states = []
    for _ in range(3):
        states.append(away.get_volume_group_backup(copy_id).data.lifecycle_state)
        clock.advance(COPY_DELAY_SECONDS / 2)

    assert states == ["CREATING", "COMMITTED", "AVAILABLE"]


def test_a_committed_copy_is_in_flight_and_cannot_be_deleted_yet(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, clock: FakeClock
) -> None:
    details = oci.core.models.CopyVolumeGroupBackupDetails(destination_region=AWAY)
    copy_id = make_client().copy_volume_group_backup(seed("volume_group"), details).data.id
    clock.advance(COPY_DELAY_SECONDS / 2)

    with pytest.raises(oci.exceptions.ServiceError) as refused:
        make_client(AWAY).delete_volume_group_backup(copy_id)

    assert [b.id for b in standin.copies_in_flight(HOME)] == [copy_id]
    assert (refused.value.status, refused.value.code) == (409, "IncorrectState")


def test_a_committed_source_is_not_copied(make_client: ClientFactory, seed: SeedFactory) -> None:
    details = oci.core.models.CopyVolumeGroupBackupDetails(destination_region=AWAY)
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        make_client().copy_volume_group_backup(seed("volume_group", lifecycle_state="COMMITTED"), details)

    assert (refused.value.status, refused.value.code) == (409, "IncorrectState")


def test_deleting_a_group_deletes_its_members(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    group = seed("volume_group")
    members = [seed("boot", volume_group_backup_id=group), seed("volume", volume_group_backup_id=group)]

    make_client().delete_volume_group_backup(group)

    assert {standin.backup(i).lifecycle_state for i in (group, *members)} == {"TERMINATED"}
