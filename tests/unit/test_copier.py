"""The copy decision, against hand-written fakes of Block Storage."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from backup_copy.backups import DEPLOYMENT_TAG, MARKER_TAG, VOLUME_TAG, BackupCopy, BackupKind, retry_token
from backup_copy.copying import copy_event
from backup_copy.deadline import Deadline
from backup_copy.errors import ConfigurationError, PermanentError, TransientError
from backup_copy.events import BackupCreatedEvent, read_event
from backup_copy.outcome import Status
from backup_copy.settings import load_settings
from backup_copy.wire import answer
from tests.conftest import Config
from tests.events import event_bytes
from tests.fakes import COMPARTMENT, FakeGateway

BOOT_EVENT = "boot-volume-backup-end.json"
# OCI copies one boot volume backup at a time from a source region; volume backups fan out to every
# destination at once, so the tests about each destination on its own use one.
VOLUME_EVENT = "volume-backup-end.json"
# Why a destination that is the source's own region (us-phoenix-1) is not copied.
OWN_REGION = (
    "DESTINATION_REGIONS: 'us-phoenix-1' is the backup's own region: "
    "a backup cannot be copied to the region it is in"
)


def boot_event() -> BackupCreatedEvent:
    event = read_event(event_bytes(BOOT_EVENT))
    assert isinstance(event, BackupCreatedEvent)
    return event


def volume_event() -> BackupCreatedEvent:
    event = read_event(event_bytes(VOLUME_EVENT))
    assert isinstance(event, BackupCreatedEvent)
    return event


def steps(calls: list[str]) -> list[list[str]]:
    """The calls grouped into runs of one operation, each run sorted (its calls' order is the threads')."""
    grouped: list[list[str]] = []
    for call in calls:
        if grouped and grouped[-1][0].split()[0] == call.split()[0]:
            grouped[-1].append(call)
        else:
            grouped.append([call])
    return [sorted(group) for group in grouped]


def deadline() -> Deadline:
    return Deadline.after(30)


@pytest.fixture
def store() -> FakeGateway:
    gateway = FakeGateway()
    gateway.add_source(boot_event().data.resource_id)
    gateway.add_source(volume_event().data.resource_id, kind=BackupKind.VOLUME)
    return gateway


def test_a_new_backup_is_copied_once_to_each_destination(config: Config, store: FakeGateway) -> None:
    outcome = copy_event(volume_event(), load_settings(config), store, deadline())
    assert outcome.status is Status.COPIED
    assert [c.region for c in outcome.copies] == ["us-ashburn-1", "eu-frankfurt-1"]
    assert outcome.new_copies == outcome.copies
    assert outcome.waiting == ()
    assert [request.destination_region for _, request in store.copy_requests] == [
        "us-ashburn-1",
        "eu-frankfurt-1",
    ]
    # Every destination's lookup at once, then the copy requests in order, then every tag write at once.
    assert steps(store.calls) == [
        ["get us-phoenix-1"],
        ["list eu-frankfurt-1", "list us-ashburn-1"],
        ["copy eu-frankfurt-1", "copy us-ashburn-1"],
        ["tag eu-frankfurt-1", "tag us-ashburn-1"],
    ]
    assert [call for call in store.calls if call.startswith("copy")] == [
        "copy us-ashburn-1",
        "copy eu-frankfurt-1",
    ]


def test_a_boot_backup_is_copied_to_the_first_destination_and_queued_for_the_rest(
    config: Config, store: FakeGateway
) -> None:
    outcome = copy_event(boot_event(), load_settings(config), store, deadline())
    assert outcome.status is Status.COPIED
    assert [(c.region, c.state) for c in outcome.copies] == [
        ("us-ashburn-1", "CREATING"),
        ("eu-frankfurt-1", "QUEUED"),
    ]
    assert [c.region for c in outcome.new_copies] == ["us-ashburn-1"]
    assert [(w.region, w.error_class) for w in outcome.waiting] == [("eu-frankfurt-1", "copy_limit")]
    assert [request.destination_region for _, request in store.copy_requests] == ["us-ashburn-1"]
    assert steps(store.calls) == [
        ["get us-phoenix-1"],
        ["list eu-frankfurt-1", "list us-ashburn-1"],
        ["copy us-ashburn-1"],
        ["tag us-ashburn-1"],
    ]
    [copy, _] = outcome.copies
    body = answer(outcome)
    assert body["status"] == "copied"
    assert body["copies"] == [
        {"region": "us-ashburn-1", "id": copy.id, "state": "CREATING", "workRequestId": copy.work_request_id},
        {"region": "eu-frankfurt-1", "id": None, "state": "QUEUED", "workRequestId": None},
    ]
    assert body["queued"] == [{"region": "eu-frankfurt-1", "reason": outcome.waiting[0].reason}]


def test_a_boot_backup_whose_first_copy_has_finished_is_copied_to_the_next_destination(
    config: Config, store: FakeGateway
) -> None:
    first = copy_event(boot_event(), load_settings(config), store, deadline())
    source = boot_event().data.resource_id
    key = f"{source}|us-ashburn-1"
    store.copies[key] = [replace(copy, state="AVAILABLE") for copy in store.copies[key]]
    second = copy_event(boot_event(), load_settings(config), store, deadline())
    assert [c.region for c in first.new_copies] == ["us-ashburn-1"]
    assert second.status is Status.COPIED
    assert [c.region for c in second.new_copies] == ["eu-frankfurt-1"]
    assert second.waiting == ()
    assert [request.destination_region for _, request in store.copy_requests] == [
        "us-ashburn-1",
        "eu-frankfurt-1",
    ]


def test_each_copy_carries_a_retry_token_derived_from_source_and_destination(
    config: Config, store: FakeGateway
) -> None:
    settings = load_settings(config)
    copy_event(volume_event(), settings, store, deadline())
    tokens = [request.retry_token for _, request in store.copy_requests]
    source, ours = volume_event().data.resource_id, settings.deployment
    assert tokens == [
        retry_token(source, "us-ashburn-1", deployment=ours),
        retry_token(source, "eu-frankfurt-1", deployment=ours),
    ]
    assert len(set(tokens)) == 2
    assert all(1 <= len(token) <= 64 for token in tokens)


def test_the_retry_token_does_not_depend_on_the_event_delivery() -> None:
    source = boot_event().data.resource_id
    token = retry_token(source, "us-ashburn-1", deployment="ours")
    assert token == retry_token(source, "us-ashburn-1", deployment="ours")
    assert token != retry_token(source, "us-ashburn-1", ["ocid1.faulty"], deployment="ours")


def test_another_deployments_request_never_answers_ours() -> None:
    # A replay hands back the copy the first request made: another deployment's must not be ours.
    source = boot_event().data.resource_id
    assert retry_token(source, "us-ashburn-1", deployment="ours") != retry_token(
        source, "us-ashburn-1", deployment="theirs"
    )


def test_an_earlier_copy_listed_twice_counts_once_in_the_retry_token() -> None:
    # A listing whose pages shift may show an item twice; the token must not change with it.
    source = boot_event().data.resource_id
    once = retry_token(source, "us-ashburn-1", ["ocid1.b", "ocid1.a"], deployment="ours")
    assert once == retry_token(source, "us-ashburn-1", ["ocid1.a", "ocid1.b", "ocid1.a"], deployment="ours")


def test_the_copy_is_named_after_the_source(config: Config, store: FakeGateway) -> None:
    copy_event(boot_event(), load_settings(config), store, deadline())
    _, request = store.copy_requests[0]
    assert request.display_name == "web-01 (Boot Volume) manual (copy from us-phoenix-1)"
    assert request.kms_key_id is None


def test_redelivered_event_makes_no_second_copy(config: Config, store: FakeGateway) -> None:
    first = copy_event(volume_event(), load_settings(config), store, deadline())
    second = copy_event(volume_event(), load_settings(config), store, deadline())
    assert len(store.copy_requests) == 2
    assert second.status is Status.ALREADY_COPIED
    assert second.copies == first.copies
    assert second.new_copies == ()


def test_only_missing_destinations_are_copied(config: Config, store: FakeGateway) -> None:
    source = boot_event().data.resource_id
    store.copies[f"{source}|us-ashburn-1"] = [BackupCopy("us-ashburn-1", "ocid1.existing", "AVAILABLE")]
    outcome = copy_event(boot_event(), load_settings(config), store, deadline())
    assert outcome.status is Status.COPIED
    assert [request.destination_region for _, request in store.copy_requests] == ["eu-frankfurt-1"]
    assert outcome.copies[0].id == "ocid1.existing"


def test_a_faulty_earlier_copy_is_replaced_with_a_fresh_retry_token(
    config: Config, store: FakeGateway
) -> None:
    config["DESTINATION_REGIONS"] = "us-ashburn-1"
    source = boot_event().data.resource_id
    store.copies[f"{source}|us-ashburn-1"] = [BackupCopy("us-ashburn-1", "ocid1.broken", "FAULTY")]
    settings = load_settings(config)
    outcome = copy_event(boot_event(), settings, store, deadline())
    assert outcome.status is Status.COPIED
    assert store.copy_requests[0][1].retry_token == retry_token(
        source, "us-ashburn-1", ["ocid1.broken"], deployment=settings.deployment
    )


def test_a_second_faulty_copy_gets_a_token_of_its_own_even_when_the_first_is_no_longer_listed(
    config: Config, store: FakeGateway
) -> None:
    config["DESTINATION_REGIONS"] = "us-ashburn-1"
    source = boot_event().data.resource_id
    key = f"{source}|us-ashburn-1"
    store.copies[key] = [BackupCopy("us-ashburn-1", "ocid1.first", "FAULTY")]
    copy_event(boot_event(), load_settings(config), store, deadline())
    second = store.copies[key][-1]
    # The second copy failed too, and OCI stopped listing the first one.
    store.copies[key] = [BackupCopy("us-ashburn-1", second.id, "FAULTY")]
    copy_event(boot_event(), load_settings(config), store, deadline())
    tokens = [request.retry_token for _, request in store.copy_requests]
    assert len(set(tokens)) == 2  # a replay of the second request would hand back the FAULTY copy


@pytest.mark.parametrize(
    ("template", "name"),
    [
        pytest.param(None, "made by hand", id="a name of its own"),
        # A person copying by hand keeps the backup's name, the name this template gives too.
        pytest.param("{name}", "web-01 (Boot Volume) manual", id="the name this function would give"),
    ],
)
def test_a_copy_someone_else_made_is_counted_reported_and_never_tagged(
    config: Config, store: FakeGateway, template: str | None, name: str
) -> None:
    config["DESTINATION_REGIONS"] = "us-ashburn-1"
    if template is not None:
        config["DISPLAY_NAME_TEMPLATE"] = template
    source = boot_event().data.resource_id
    store.copies[f"{source}|us-ashburn-1"] = [
        BackupCopy("us-ashburn-1", "ocid1.theirs", "AVAILABLE", display_name=name)
    ]
    outcome = copy_event(boot_event(), load_settings(config), store, deadline())
    assert outcome.status is Status.ALREADY_COPIED
    assert store.copy_requests == []
    assert store.tagged == []  # retention deletes marked copies: the marker must not adopt this one
    [warning] = outcome.warnings
    assert (warning.region, warning.error_class) == ("us-ashburn-1", "unmarked")
    assert warning.reason.startswith("ocid1.theirs was not made by this invocation")
    assert "retention never deletes it" in warning.reason


def test_a_copy_is_never_copied_again(config: Config, store: FakeGateway) -> None:
    source = boot_event().data.resource_id
    store.add_source(source, source_backup_id="ocid1.bootvolumebackup.oc1.iad.original")
    outcome = copy_event(boot_event(), load_settings(config), store, deadline())
    assert outcome.status is Status.IGNORED
    assert "itself a copy" in (outcome.reason or "")
    assert store.copy_requests == []


@pytest.mark.parametrize("kind", [BackupKind.BOOT, BackupKind.VOLUME])
def test_a_member_of_a_volume_group_backup_is_ignored_naming_the_group(
    config: Config, store: FakeGateway, kind: BackupKind
) -> None:
    event = boot_event() if kind is BackupKind.BOOT else volume_event()
    group = "ocid1.volumegroupbackup.oc1.phx.abyhqljrgroupofmembersxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    member = store.backups[event.data.resource_id]
    store.add_backup(replace(member, volume_group_backup_id=group))
    outcome = copy_event(event, load_settings(config), store, deadline())
    assert outcome.status is Status.IGNORED
    assert outcome.reason == (
        f"this {kind.label} belongs to volume group backup {group}; copying the group copies it"
    )
    assert store.copy_requests == []
    assert store.calls == ["get us-phoenix-1"]


def test_a_faulty_source_fails_without_a_copy_request(config: Config, store: FakeGateway) -> None:
    store.add_source(boot_event().data.resource_id, state="FAULTY")
    with pytest.raises(PermanentError, match="FAULTY"):
        copy_event(boot_event(), load_settings(config), store, deadline())
    assert store.copy_requests == []


@pytest.mark.parametrize("state", ["REQUEST_RECEIVED", "CREATING", "COMMITTED"])
def test_a_source_still_being_created_is_a_transient_failure(
    config: Config, store: FakeGateway, state: str
) -> None:
    # COMMITTED: a volume group backup between CREATING and AVAILABLE.
    store.add_source(boot_event().data.resource_id, state=state)
    with pytest.raises(TransientError, match=f"the backup is {state}, not yet AVAILABLE"):
        copy_event(boot_event(), load_settings(config), store, deadline())
    assert store.copy_requests == []


def test_a_committed_volume_group_copy_counts_as_a_copy(config: Config, store: FakeGateway) -> None:
    config["DESTINATION_REGIONS"] = "us-ashburn-1"
    source = volume_event().data.resource_id
    store.copies[f"{source}|us-ashburn-1"] = [BackupCopy("us-ashburn-1", "ocid1.committed", "COMMITTED")]
    outcome = copy_event(volume_event(), load_settings(config), store, deadline())
    assert outcome.status is Status.ALREADY_COPIED
    assert [(c.id, c.state) for c in outcome.copies] == [("ocid1.committed", "COMMITTED")]
    assert store.copy_requests == []


def test_the_source_region_as_the_only_destination_is_refused(config: Config, store: FakeGateway) -> None:
    config["DESTINATION_REGIONS"] = "us-phoenix-1"
    with pytest.raises(ConfigurationError) as refused:
        copy_event(boot_event(), load_settings(config), store, deadline())
    assert refused.value.reason == OWN_REGION
    assert store.calls == []


def test_the_source_region_among_the_destinations_fails_after_the_others_are_copied(
    config: Config, store: FakeGateway
) -> None:
    config["DESTINATION_REGIONS"] = "us-ashburn-1,us-phoenix-1"
    outcome = copy_event(boot_event(), load_settings(config), store, deadline())
    assert outcome.status is Status.FAILED
    assert [(c.region, c.state) for c in outcome.new_copies] == [("us-ashburn-1", "CREATING")]
    assert [request.destination_region for _, request in store.copy_requests] == ["us-ashburn-1"]
    assert [(f.region, f.reason, f.error_class) for f in outcome.failures] == [
        ("us-phoenix-1", OWN_REGION, "configuration")
    ]
    assert outcome.reason == f"copied, but {OWN_REGION}"
    assert outcome.error_class == "configuration"


def test_one_failing_region_does_not_stop_the_others(config: Config, store: FakeGateway) -> None:
    store.fail_copy_to["us-ashburn-1"] = PermanentError("refused", operation="copy", region="us-phoenix-1")
    outcome = copy_event(boot_event(), load_settings(config), store, deadline())
    assert outcome.status is Status.FAILED
    assert [c.region for c in outcome.new_copies] == ["eu-frankfurt-1"]
    assert [f.region for f in outcome.failures] == ["us-ashburn-1"]
    assert outcome.reason == "us-ashburn-1: refused"


def test_dry_run_plans_without_copying(config: Config, store: FakeGateway) -> None:
    config["DRY_RUN"] = "true"
    outcome = copy_event(boot_event(), load_settings(config), store, deadline())
    assert outcome.status is Status.DRY_RUN
    assert [(c.region, c.id, c.state) for c in outcome.copies] == [
        ("us-ashburn-1", None, "PLANNED"),
        ("eu-frankfurt-1", None, "PLANNED"),
    ]
    assert store.copy_requests == []


def test_each_copy_gets_the_source_tags_the_marker_and_the_deployment(
    config: Config, store: FakeGateway
) -> None:
    config["DEPLOYMENT_NAME"] = "dr-from-phoenix"
    outcome = copy_event(volume_event(), load_settings(config), store, deadline())
    source = volume_event().data.resource_id
    assert [copy_id for copy_id, _, _ in store.tagged] == [c.id for c in outcome.copies]
    for _, freeform, defined in store.tagged:
        assert freeform == {"app": "web", MARKER_TAG: source, DEPLOYMENT_TAG: "dr-from-phoenix"}
        assert defined == {"Operations": {"CostCenter": "42"}}


@pytest.mark.parametrize("volume", ["ocid1.volume.oc1.phx.thesource", None])
def test_the_markers_on_a_copy_are_always_the_sources_own(store: FakeGateway, volume: str | None) -> None:
    # The source's own tags may carry marker keys (set by hand, or copied by OCI from elsewhere):
    # they must never name another source, volume or deployment on this source's copies.
    source = replace(
        store.backups[volume_event().data.resource_id],
        volume_id=volume,
        freeform_tags={
            "app": "web",
            MARKER_TAG: "ocid1.other",
            VOLUME_TAG: "ocid1.volume.oc1.phx.other",
            DEPLOYMENT_TAG: "someone-else",
        },
    )
    freeform, _ = source.copy_tags("dr-from-phoenix")
    expected = {"app": "web", MARKER_TAG: source.id, DEPLOYMENT_TAG: "dr-from-phoenix"} | (
        {VOLUME_TAG: volume} if volume else {}
    )
    assert freeform == expected


def test_a_redelivery_never_tags_a_copy_it_did_not_make_and_reports_it(
    config: Config, store: FakeGateway
) -> None:
    config["DESTINATION_REGIONS"] = "us-ashburn-1"
    store.fail_tag = TransientError("throttled", operation="tag", region="us-ashburn-1")
    first = copy_event(boot_event(), load_settings(config), store, deadline())
    store.fail_tag = None
    second = copy_event(boot_event(), load_settings(config), store, deadline())
    assert (first.status, second.status) == (Status.COPIED, Status.ALREADY_COPIED)
    assert len(store.copy_requests) == 1
    # The found copy may as well be one made by hand: only the request's own answer is proof.
    assert store.tagged == []
    assert [(w.region, w.error_class) for w in first.warnings] == [("us-ashburn-1", "tags")]
    assert [(w.region, w.error_class) for w in second.warnings] == [("us-ashburn-1", "unmarked")]


def test_a_failed_tag_write_is_a_warning_not_a_failure(config: Config, store: FakeGateway) -> None:
    store.fail_tag = PermanentError("403 NotAuthorized", operation="tag", region="us-ashburn-1")
    outcome = copy_event(volume_event(), load_settings(config), store, deadline())
    assert outcome.status is Status.COPIED
    assert len(store.copy_requests) == 2
    assert [(w.region, w.error_class) for w in outcome.warnings] == [
        ("us-ashburn-1", "tags"),
        ("eu-frankfurt-1", "tags"),
    ]
    assert answer(outcome)["warnings"] == [
        {"region": "us-ashburn-1", "reason": "tags not set: 403 NotAuthorized", "class": "tags"},
        {"region": "eu-frankfurt-1", "reason": "tags not set: 403 NotAuthorized", "class": "tags"},
    ]


def test_the_destination_key_is_used_for_its_region_only(config: Config, store: FakeGateway) -> None:
    key = "ocid1.key.oc1.iad.abuwcljrkeyforashburnxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    config["DESTINATION_KMS_KEY_IDS"] = f"us-ashburn-1={key}"
    copy_event(volume_event(), load_settings(config), store, deadline())
    assert [(r.destination_region, r.kms_key_id) for _, r in store.copy_requests] == [
        ("us-ashburn-1", key),
        ("eu-frankfurt-1", None),
    ]


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("REQUIRED_TAG", "backup-dr=true", "lacks the freeform tag backup-dr=true"),
        ("REQUIRED_TAG", "app=db", "lacks the freeform tag app=db"),
        (
            "COMPARTMENT_IDS",
            "ocid1.compartment.oc1..aaaaaaaaotherxxxxxxxxxxxxxxxxxx",
            "is not in COMPARTMENT_IDS",
        ),
        ("SOURCE_TYPES", "SCHEDULED", "source type MANUAL is not in SOURCE_TYPES (SCHEDULED)"),
    ],
)
def test_a_filtered_backup_is_ignored_with_the_reason(
    config: Config, store: FakeGateway, key: str, value: str, reason: str
) -> None:
    config[key] = value
    outcome = copy_event(boot_event(), load_settings(config), store, deadline())
    assert outcome.status is Status.IGNORED
    assert reason in (outcome.reason or "")
    assert store.copy_requests == []
    assert store.calls == ["get us-phoenix-1"]


def test_a_backup_passing_every_filter_is_copied(config: Config, store: FakeGateway) -> None:
    config["REQUIRED_TAG"] = "app=web"
    config["COMPARTMENT_IDS"] = f"{COMPARTMENT}, ocid1.compartment.oc1..aaaaaaaaotherxxxxxxxxxxxxxxxxxx"
    config["SOURCE_TYPES"] = "manual,scheduled"
    assert copy_event(boot_event(), load_settings(config), store, deadline()).status is Status.COPIED


def test_dry_run_tags_nothing(config: Config, store: FakeGateway) -> None:
    config["DRY_RUN"] = "1"
    copy_event(boot_event(), load_settings(config), store, deadline())
    assert not [call for call in store.calls if call.startswith(("copy", "tag"))]


def test_a_bug_in_one_destination_fails_that_destination_alone_and_is_logged_once(
    config: Config, store: FakeGateway, tracebacks: list[logging.LogRecord]
) -> None:
    store.raises["us-ashburn-1"] = RuntimeError("the fake's bug")
    outcome = copy_event(volume_event(), load_settings(config), store, deadline())
    assert outcome.status is Status.FAILED
    assert [c.region for c in outcome.new_copies] == ["eu-frankfurt-1"]
    assert [(f.region, f.reason, f.error_class) for f in outcome.failures] == [
        ("us-ashburn-1", "internal error: RuntimeError: the fake's bug", "error")
    ]
    assert [record.exc_info[1] for record in tracebacks if record.exc_info] == [store.raises["us-ashburn-1"]]


def test_a_bug_tagging_a_copy_is_a_warning_and_the_copy_stands(
    config: Config, store: FakeGateway, tracebacks: list[logging.LogRecord]
) -> None:
    store.raises["tag us-ashburn-1"] = KeyError("freeform")
    outcome = copy_event(volume_event(), load_settings(config), store, deadline())
    assert outcome.status is Status.COPIED
    assert [c.region for c in outcome.new_copies] == ["us-ashburn-1", "eu-frankfurt-1"]
    assert [(w.region, w.reason, w.error_class) for w in outcome.warnings] == [
        ("us-ashburn-1", "tags not set: internal error: KeyError: 'freeform'", "tags")
    ]
    assert len(tracebacks) == 1
