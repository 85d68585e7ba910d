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
    "malformed/event-time-not-a-date.json": "eventTime",
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
    raw["data"]["freeformTags"] = {"k" * 100_000 + "\r\n": 1}
    with pytest.raises(InvalidEvent) as caught:
        read_event(json.dumps(raw).encode())
    assert caught.value.event_id == raw["eventID"]
    assert len(caught.value.reason) <= 500
    assert "\n" not in caught.value.reason


def test_a_rejection_quotes_no_bidi_or_zero_width_character_from_the_body() -> None:
    raw = event_json("boot-volume-backup-end.json")
    raw["data"]["freeformTags"] = {"\u202eyek\u2066\u200b\u200f\ufeff": 1}
    with pytest.raises(InvalidEvent) as caught:
        read_event(json.dumps(raw).encode())
    assert "data.freeformTags.?yek????: Input should be a valid string" in caught.value.reason
