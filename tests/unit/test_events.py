"""Event validation: what is handled, what is ignored, and what is refused with a named field."""

from __future__ import annotations

import json

import pytest

from backup_copy.backups import BackupKind
from backup_copy.errors import InvalidEvent
from backup_copy.events import BackupCreatedEvent, EventHeader, SweepRequest, read_event
from tests.events import all_event_files, event_bytes, event_json

HANDLED = {
    "boot-volume-backup-end.json": BackupKind.BOOT,
    "boot-volume-backup-end-scheduled.json": BackupKind.BOOT,
    "volume-backup-end.json": BackupKind.VOLUME,
    "volume-group-backup-end.json": BackupKind.VOLUME_GROUP,
    "boot-volume-backup-end-null-tags.json": BackupKind.BOOT,
    "volume-backup-end-null-details.json": BackupKind.VOLUME,
    "volume-group-backup-end-empty-name.json": BackupKind.VOLUME_GROUP,
    "boot-volume-backup-end-odd-shapes.json": BackupKind.BOOT,
}
# Handled events whose fields the function never acts on come in shapes of their own: OCI's own
# examples (null tags), what real events carry (null details, an empty name), and shapes nobody
# documented. Each is read, and each undocumented shape is noted for a warning, never refused.
ODD_SHAPES = {
    "boot-volume-backup-end-null-tags.json": (),
    "volume-backup-end-null-details.json": (),
    "volume-group-backup-end-empty-name.json": (),
    "boot-volume-backup-end-odd-shapes.json": (
        "data.compartmentName: Input should be a valid string",
        "data.freeformTags.owner: Input should be a valid string",
        "data.definedTags.Oracle-Tags: Input should be a valid dictionary",
        "data.additionalDetails.volumeId: Input should be a valid string",
    ),
}
IGNORED = ["boot-volume-backup-begin.json", "boot-volume-backup-copy-end.json"]
# Not events: what a schedule sends to run the sweep.
COMMANDS = ["sweep-request.json"]
# Each malformed sample, and the words its rejection must contain (the field and the problem).
MALFORMED = {
    "malformed/resource-id-with-path.json": "data.resourceId: not a well-formed OCID",
    "malformed/unknown-region-key.json": "data.resourceId: unknown region key 'xyz'",
    "malformed/resource-id-not-a-backup.json": (
        "data.resourceId: expected an OCID of type bootvolumebackup, got type instance"
    ),
    "malformed/resource-id-not-a-string.json": "data.resourceId: Input should be a valid string",
    "malformed/missing-data.json": "data: Field required",
    "malformed/truncated-json.json": "the body is not valid JSON",
}


def test_every_sample_event_is_covered_here() -> None:
    assert set(all_event_files()) == set(HANDLED) | set(IGNORED) | set(MALFORMED) | set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_the_sweep_request_sample_is_read_as_a_sweep(name: str) -> None:
    assert isinstance(read_event(event_bytes(name)), SweepRequest)


@pytest.mark.parametrize(("name", "kind"), sorted(HANDLED.items()))
def test_backup_created_events_are_read_in_full(name: str, kind: BackupKind) -> None:
    event = read_event(event_bytes(name))
    assert isinstance(event, BackupCreatedEvent)
    assert event.kind is kind
    assert event.backup.region == "us-phoenix-1"
    assert event.data.resource_id == event_json(name)["data"]["resourceId"]
    assert event.event_time is not None
    assert event.event_time.tzinfo is not None


@pytest.mark.parametrize("name", IGNORED)
def test_other_event_types_are_read_by_header_only(name: str) -> None:
    event = read_event(event_bytes(name))
    assert isinstance(event, EventHeader)
    assert event.event_id == event_json(name)["eventID"]


@pytest.mark.parametrize(("name", "expected"), sorted(MALFORMED.items()))
def test_malformed_events_are_refused_naming_the_field(name: str, expected: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        read_event(event_bytes(name))
    assert expected in caught.value.reason


@pytest.mark.parametrize(("name", "odd"), sorted(ODD_SHAPES.items()))
def test_fields_the_function_does_not_act_on_are_read_in_any_shape(name: str, odd: tuple[str, ...]) -> None:
    event = read_event(event_bytes(name))
    assert isinstance(event, BackupCreatedEvent)
    assert event.odd_shapes == odd
    assert event.data.resource_id == event_json(name)["data"]["resourceId"]


def test_odd_fields_fall_back_to_nothing_and_ordinary_ones_are_kept() -> None:
    odd = read_event(event_bytes("boot-volume-backup-end-odd-shapes.json"))
    empty_name = read_event(event_bytes("volume-group-backup-end-empty-name.json"))
    null_tags = read_event(event_bytes("boot-volume-backup-end-null-tags.json"))
    assert isinstance(odd, BackupCreatedEvent)
    assert isinstance(empty_name, BackupCreatedEvent)
    assert isinstance(null_tags, BackupCreatedEvent)
    assert (odd.data.freeform_tags, odd.data.defined_tags) == ({}, {})
    assert odd.data.additional_details.volume_id is None
    assert odd.data.resource_name == "web-04 (Boot Volume) manual"
    assert odd.event_time is not None  # seconds since the epoch are a time too
    assert empty_name.data.resource_name is None
    assert (null_tags.data.freeform_tags, null_tags.data.defined_tags) == ({}, {})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("eventTime", "yesterday"),
        ("cloudEventsVersion", 1),
        ("source", None),
        ("extensions", "phx"),
        ("data.compartmentId", "ocid1.compartment.oc1..aaaaaaaaaaaa/../x"),
        ("data.resourceName", "x" * 300),
        ("data.availabilityDomain", ["AD-1"]),
        ("data.definedTags", [1, 2]),
        ("data.additionalDetails", "MANUAL"),
    ],
)
def test_an_unused_field_in_any_shape_never_rejects_the_event(field: str, value: object) -> None:
    raw = event_json("boot-volume-backup-end.json")
    *parents, last = field.split(".")
    target = raw
    for part in parents:
        target = target[part]
    target[last] = value
    event = read_event(json.dumps(raw).encode())
    assert isinstance(event, BackupCreatedEvent)
    assert event.backup.value == raw["data"]["resourceId"]
    assert all(note.startswith(field) for note in event.odd_shapes)


@pytest.mark.parametrize("field", ["eventType", "eventID", "data", "data.resourceId"])
def test_what_drives_a_call_or_labels_it_is_still_required(field: str) -> None:
    raw = event_json("boot-volume-backup-end.json")
    parent, _, last = field.rpartition(".")
    (raw[parent] if parent else raw).pop(last)
    with pytest.raises(InvalidEvent):
        read_event(json.dumps(raw).encode())


def test_both_tag_spellings_are_accepted() -> None:
    api = read_event(event_bytes("boot-volume-backup-end.json"))
    docs = read_event(event_bytes("boot-volume-backup-end-scheduled.json"))
    assert isinstance(api, BackupCreatedEvent)
    assert isinstance(docs, BackupCreatedEvent)
    assert api.data.freeform_tags == {"app": "web", "env": "prod"}
    assert docs.data.freeform_tags == {"backup-tier": "gold"}


def test_unknown_fields_are_ignored_and_models_are_frozen() -> None:
    event = read_event(event_bytes("boot-volume-backup-end-scheduled.json"))
    assert isinstance(event, BackupCreatedEvent)
    assert event.data.availability_domain is None
    with pytest.raises(ValueError, match="frozen"):
        event.data.resource_name = "changed"  # type: ignore[misc]


def test_event_type_is_matched_in_lower_case() -> None:
    raw = event_json("boot-volume-backup-end.json")
    raw["eventType"] = raw["eventType"].upper()
    assert isinstance(read_event(json.dumps(raw).encode()), BackupCreatedEvent)


@pytest.mark.parametrize(
    "bad_id",
    [
        "ocid1.bootvolumebackup.oc1.phx.abyhqljr3m5w5qzwb6jvm6ib tvxk6uj3xtbfs4hlml",
        "ocid1.bootvolumebackup.oc1.phx.abyhqljr3m5w5qzwb6jvm6ib\ntvxk6uj3xtbfs4hlml",
        "ocid1.bootvolumebackup.oc1.phx.abyhqljr3m5w5qzwb6jvm6ib%2Ftvxk6uj3xtbfs4hl",
        "ocid1.bootvolumebackup.oc1.phx.ABYHQLJR3M5W5QZWB6JVM6IBTVXK6UJ3XTBFS4HLML",
        "ocid1.bootvolumebackup.oc1.phx." + "a" * 300,
    ],
)
def test_ids_with_characters_that_could_reach_a_url_are_refused(bad_id: str) -> None:
    raw = event_json("boot-volume-backup-end.json")
    raw["data"]["resourceId"] = bad_id
    with pytest.raises(InvalidEvent, match=r"data\.resourceId"):
        read_event(json.dumps(raw).encode())


def test_a_short_region_key_and_a_full_region_name_both_resolve() -> None:
    raw = event_json("boot-volume-backup-end.json")
    raw["data"]["resourceId"] = raw["data"]["resourceId"].replace(".phx.", ".ap-sydney-1.")
    event = read_event(json.dumps(raw).encode())
    assert isinstance(event, BackupCreatedEvent)
    assert event.backup.region == "ap-sydney-1"


def test_a_sweep_command_is_a_body_without_an_event_type() -> None:
    assert isinstance(read_event(b'{"action": "sweep"}'), SweepRequest)
    raw = event_json("boot-volume-backup-end.json")
    raw["action"] = "sweep"  # whoever may invoke the function cannot turn an event into a sweep
    assert isinstance(read_event(json.dumps(raw).encode()), BackupCreatedEvent)


def test_a_rejected_event_keeps_its_readable_id_and_a_bounded_reason() -> None:
    raw = event_json("boot-volume-backup-end.json")
    raw["data"]["resourceId"] = "ocid1.bootvolumebackup.oc1.phx." + "k" * 100_000 + "\r\n"
    with pytest.raises(InvalidEvent) as caught:
        read_event(json.dumps(raw).encode())
    assert caught.value.event_id == raw["eventID"]
    assert len(caught.value.reason) <= 500
    assert "\n" not in caught.value.reason


def test_odd_field_notes_carry_no_bidi_or_zero_width_character_from_the_body() -> None:
    raw = event_json("boot-volume-backup-end.json")
    raw["data"]["freeformTags"] = {"\u202eyek\u2066\u200b\u200f\ufeff": 1}
    event = read_event(json.dumps(raw).encode())
    assert isinstance(event, BackupCreatedEvent)
    assert event.odd_shapes
    assert not any(char in note for note in event.odd_shapes for char in "\u202e\u2066\u200b\u200f\ufeff")


def test_an_odd_field_is_noted_bounded_and_printable_whatever_its_keys() -> None:
    raw = event_json("boot-volume-backup-end.json")
    raw["data"]["freeformTags"] = {"k" * 100_000 + "\r\n": 1, **{f"n{i}": i for i in range(50)}}
    event = read_event(json.dumps(raw).encode())
    assert isinstance(event, BackupCreatedEvent)
    assert 1 < len(event.odd_shapes) <= 10
    assert all(len(note) <= 200 and "\n" not in note for note in event.odd_shapes)
