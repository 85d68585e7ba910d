"""Reading, listing, updating and deleting backups through the SDK."""

from datetime import UTC, datetime, timedelta

import oci
import pytest

from devkit.standin import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ResourcePrincipal, StandIn, make_ocid

from .support import AWAY, HOME, ClientFactory, SeedFactory


def test_get_returns_the_seeded_backup_in_the_sdk_model(
    make_client: ClientFactory, seed: SeedFactory, principal: ResourcePrincipal
) -> None:
    backup_id = seed(
        freeform_tags={"app": "web"}, defined_tags={"ops": {"tier": "1"}}, source_type="SCHEDULED"
    )

    backup = make_client().get_boot_volume_backup(backup_id).data

    assert isinstance(backup, oci.core.models.BootVolumeBackup)
    assert backup.id.startswith("ocid1.bootvolumebackup.oc1.phx.")
    assert len(backup.id.rsplit(".", 1)[1]) == 60
    assert (backup.compartment_id, backup.display_name) == (principal.compartment_id, "web-01 daily")
    assert (backup.lifecycle_state, backup.source_type) == ("AVAILABLE", "SCHEDULED")
    assert backup.freeform_tags == {"app": "web"}
    assert backup.defined_tags == {"ops": {"tier": "1"}}
    assert backup.time_created is not None


def test_get_with_the_wrong_kind_or_region_is_not_found(
    make_client: ClientFactory, seed: SeedFactory
) -> None:
    backup_id = seed("boot")

    with pytest.raises(oci.exceptions.ServiceError) as wrong_kind:
        make_client().get_volume_backup(backup_id)
    with pytest.raises(oci.exceptions.ServiceError) as wrong_region:
        make_client(AWAY).get_boot_volume_backup(backup_id)

    assert wrong_kind.value.status == wrong_region.value.status == 404
    assert wrong_region.value.code == "NotAuthorizedOrNotFound"


def test_list_filters_by_source_backup(
    make_client: ClientFactory, seed: SeedFactory, principal: ResourcePrincipal
) -> None:
    one, two = seed(), seed()
    client = make_client()
    for source_id in (one, two, one):
        details = oci.core.models.CopyBootVolumeBackupDetails(destination_region=AWAY)
        client.copy_boot_volume_backup(source_id, details)

    copies = make_client(AWAY).list_boot_volume_backups(
        principal.compartment_id, source_boot_volume_backup_id=one
    )

    assert [c.source_boot_volume_backup_id for c in copies.data] == [one, one]


def test_list_filters_by_compartment_state_and_name(
    make_client: ClientFactory, seed: SeedFactory, principal: ResourcePrincipal
) -> None:
    wanted = seed("volume", display_name="db daily")
    seed("volume", display_name="db daily", lifecycle_state="TERMINATED")
    seed("volume", display_name="db weekly")
    seed("volume", display_name="db daily", compartment_id=make_ocid("compartment"))
    seed("boot", display_name="db daily")

    found = make_client().list_volume_backups(
        principal.compartment_id, lifecycle_state="AVAILABLE", display_name="db daily"
    )

    assert [b.id for b in found.data] == [wanted]


def test_the_lifecycle_state_filter_ignores_case(
    make_client: ClientFactory, seed: SeedFactory, principal: ResourcePrincipal
) -> None:
    # The SDK's list_*_backups docs: "The state value is case-insensitive." The SDK itself only
    # sends the upper-case values, so the request goes out through its base client.
    wanted = seed("volume")
    seed("volume", lifecycle_state="FAULTY")
    client = make_client()

    found = client.base_client.call_api(
        resource_path="/volumeBackups",
        method="GET",
        query_params={"compartmentId": principal.compartment_id, "lifecycleState": "available"},
        header_params={"accept": "application/json"},
        response_type="list[VolumeBackup]",
    )

    assert [b.id for b in found.data] == [wanted]


def test_sorting_by_display_name_is_case_sensitive(
    make_client: ClientFactory, seed: SeedFactory, principal: ResourcePrincipal
) -> None:
    # The same docs: "The DISPLAYNAME sort order is case sensitive."
    for name in ("beta", "Alpha", "alpha", "Beta"):
        seed(display_name=name)

    found = make_client().list_boot_volume_backups(principal.compartment_id, sort_by="DISPLAYNAME")

    assert [b.display_name for b in found.data] == ["Alpha", "Beta", "alpha", "beta"]


@pytest.mark.parametrize(("order", "newest_first"), [(None, True), ("DESC", True), ("ASC", False)])
def test_sorting_by_time_created_holds_across_pages(
    make_client: ClientFactory,
    seed: SeedFactory,
    principal: ResourcePrincipal,
    order: str | None,
    newest_first: bool,
) -> None:
    # The SDK's list_*_backups docs: "Default order for TIMECREATED is descending."
    now = datetime.now(UTC)
    seeded = [seed(time_created=now - timedelta(hours=hours)) for hours in (5, 1, 9, 3, 7)]
    client = make_client()
    sorting = {"sort_order": order} if order else {}

    first = client.list_boot_volume_backups(
        principal.compartment_id, sort_by="TIMECREATED", limit=3, **sorting
    )
    rest = client.list_boot_volume_backups(
        principal.compartment_id, sort_by="TIMECREATED", limit=3, page=first.next_page, **sorting
    )

    by_age = [seeded[i] for i in (1, 3, 0, 4, 2)]
    assert [b.id for b in first.data + rest.data] == (by_age if newest_first else by_age[::-1])
    assert rest.next_page is None


def test_a_locked_backup_is_not_deleted(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    retained = seed(is_retention_lock_enabled=True)
    protected = seed(is_prevent_deletion_enabled=True)
    client = make_client()

    refusals = []
    for backup_id in (retained, protected):
        with pytest.raises(oci.exceptions.ServiceError) as refused:
            client.delete_boot_volume_backup(backup_id)
        refusals.append((refused.value.status, refused.value.code))

    assert refusals == [(409, "Conflict")] * 2
    assert client.get_boot_volume_backup(retained).data.is_retention_lock_enabled is True
    assert client.get_boot_volume_backup(protected).data.is_prevent_deletion_enabled is True
    assert {standin.backup(i).lifecycle_state for i in (retained, protected)} == {"AVAILABLE"}


def test_the_deletion_lock_refusal_is_configurable(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    # Its status, code and message are undocumented.
    standin.set_deletion_lock_refusal(400, "InvalidParameter", "Backup has prevent-deletion enabled")

    with pytest.raises(oci.exceptions.ServiceError) as refused:
        make_client().delete_boot_volume_backup(seed(is_prevent_deletion_enabled=True))

    assert (refused.value.status, refused.value.code) == (400, "InvalidParameter")
    assert refused.value.message.startswith("Backup has prevent-deletion enabled")


def test_list_pages_through_every_backup(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, principal: ResourcePrincipal
) -> None:
    seeded = {seed(display_name=f"web-{n:02} daily") for n in range(5)}

    first = make_client().list_boot_volume_backups(principal.compartment_id, limit=2)
    every = oci.pagination.list_call_get_all_results(
        make_client().list_boot_volume_backups, principal.compartment_id, limit=2
    )

    assert len(first.data) == 2
    assert first.next_page
    assert {b.id for b in every.data} == seeded
    assert [r.query.get("page") is None for r in standin.requests[1:]] == [True, False, False]


def test_list_refuses_a_page_token_it_did_not_issue(
    make_client: ClientFactory, principal: ResourcePrincipal
) -> None:
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        make_client().list_boot_volume_backups(principal.compartment_id, page="nonsense")

    assert (refused.value.status, refused.value.code) == (400, "InvalidParameter")


def test_update_sets_name_and_tags(standin: StandIn, make_client: ClientFactory, seed: SeedFactory) -> None:
    backup_id = seed("volume_group", freeform_tags={"old": "1"})
    details = oci.core.models.UpdateVolumeGroupBackupDetails(
        display_name="renamed", freeform_tags={"copied-from": "x"}, defined_tags={"ops": {"a": 1}}
    )

    answer = make_client().update_volume_group_backup(backup_id, details)

    assert answer.data.display_name == "renamed"
    stored = standin.backup(backup_id)
    assert (stored.display_name, dict(stored.freeform_tags)) == ("renamed", {"copied-from": "x"})
    assert stored.defined_tags == {"ops": {"a": 1}}
    assert standin.requests[-1].body == {
        "displayName": "renamed",
        "freeformTags": {"copied-from": "x"},
        "definedTags": {"ops": {"a": 1}},
    }


def test_update_of_a_copy_still_being_created_is_allowed(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    details = oci.core.models.CopyBootVolumeBackupDetails(destination_region=AWAY)
    copy_id = make_client().copy_boot_volume_backup(seed(), details).data.id

    tags = oci.core.models.UpdateBootVolumeBackupDetails(freeform_tags={"source": "phx"})
    make_client(AWAY).update_boot_volume_backup(copy_id, tags)

    copy = standin.backup(copy_id)
    assert (copy.lifecycle_state, dict(copy.freeform_tags)) == ("CREATING", {"source": "phx"})


def test_delete_terminates_and_a_terminated_backup_cannot_be_updated(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    backup_id = seed()
    client = make_client()

    deleted = client.delete_boot_volume_backup(backup_id)
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        client.update_boot_volume_backup(
            backup_id, oci.core.models.UpdateBootVolumeBackupDetails(display_name="x")
        )

    assert deleted.status == 204
    assert client.get_boot_volume_backup(backup_id).data.lifecycle_state == "TERMINATED"
    assert (refused.value.status, refused.value.code) == (409, "IncorrectState")
    assert standin.backup(backup_id).display_name == "web-01 daily"


def test_backups_in_a_region_without_a_short_key_get_the_full_name_in_their_ocid(
    principal: ResourcePrincipal,
) -> None:
    with StandIn([HOME, "xx-nowhere-1"], principal.public_key_pem) as standin:
        backup_id = standin.seed_backup(
            kind="volume", region="xx-nowhere-1", compartment_id="c", display_name="n"
        )

    assert backup_id.startswith("ocid1.volumebackup.oc1.xx-nowhere-1.")


def test_list_pages_hold_oci_s_default_of_a_hundred_unless_asked_for_more(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, principal: ResourcePrincipal
) -> None:
    seeded = {seed(display_name=f"web-{n:03} daily") for n in range(250)}

    first = make_client().list_boot_volume_backups(principal.compartment_id)
    standin.clear_requests()
    every = oci.pagination.list_call_get_all_results(
        make_client().list_boot_volume_backups, principal.compartment_id
    )
    pages = len(standin.requests)
    one_page = make_client().list_boot_volume_backups(principal.compartment_id, limit=MAX_PAGE_SIZE)

    assert (len(first.data), DEFAULT_PAGE_SIZE) == (100, 100)
    assert first.next_page
    assert {b.id for b in every.data} == seeded
    assert pages == 3
    assert (len(one_page.data), one_page.next_page) == (250, None)


@pytest.mark.parametrize("limit", [0, MAX_PAGE_SIZE + 1])
def test_list_refuses_a_page_size_oci_does_not_allow(
    make_client: ClientFactory, principal: ResourcePrincipal, limit: int
) -> None:
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        make_client().list_boot_volume_backups(principal.compartment_id, limit=limit)

    assert (refused.value.status, refused.value.code) == (400, "InvalidParameter")
