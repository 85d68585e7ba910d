"""The rendered Events rule, evaluated with OCI's matching rules against every sample event."""

from __future__ import annotations

import json
from typing import Any

import pytest

from backup_copy.events import BACKUP_CREATED_EVENTS
from deploy.render import Rendered
from deploy.rule_match import matches
from tests.events import all_event_files, event_bytes, event_json

# Every sample, and whether the rule must deliver it. The rule filters by event type only: a
# malformed payload of a handled type is delivered, and the function rejects it.
EXPECTED = {
    "boot-volume-backup-begin.json": False,
    "boot-volume-backup-copy-end.json": False,
    "boot-volume-backup-end-scheduled.json": True,
    "boot-volume-backup-end.json": True,
    "volume-backup-end.json": True,
    "volume-group-backup-end.json": True,
    "boot-volume-backup-end-null-tags.json": True,
    "boot-volume-backup-end-odd-shapes.json": True,
    "volume-backup-end-null-details.json": True,
    "volume-group-backup-end-empty-name.json": True,
    "malformed/missing-data.json": True,
    "malformed/resource-id-not-a-backup.json": True,
    "malformed/resource-id-not-a-string.json": True,
    "malformed/resource-id-with-path.json": True,
    "malformed/unknown-region-key.json": True,
}
# Not JSON: Events never produces it, so no rule can be asked about it.
NOT_EVENTS = {"malformed/truncated-json.json"}
# Not an event: what a schedule sends to run the sweep, never matched by a rule.
COMMANDS = {"sweep-request.json"}


def _condition(rendered: Rendered) -> dict[str, Any]:
    condition: dict[str, Any] = json.loads(rendered.rule_condition)
    return condition


def test_every_sample_event_has_an_expectation() -> None:
    assert set(all_event_files()) == set(EXPECTED) | NOT_EVENTS | COMMANDS


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_sweep_request_has_no_event_type_for_a_rule_to_match(name: str) -> None:
    assert "eventType" not in json.loads(event_bytes(name))


def test_the_condition_names_exactly_the_event_types_the_function_handles(rendered: Rendered) -> None:
    assert _condition(rendered) == {"eventType": sorted(BACKUP_CREATED_EVENTS)}


@pytest.mark.parametrize(("name", "delivered"), sorted(EXPECTED.items()))
def test_the_rule_delivers_exactly_the_events_it_should(
    rendered: Rendered, name: str, delivered: bool
) -> None:
    assert matches(_condition(rendered), event_json(name)) is delivered


@pytest.mark.parametrize("name", sorted(NOT_EVENTS))
def test_a_body_that_is_not_json_is_not_an_event(name: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(event_bytes(name))


@pytest.mark.parametrize(
    "event_type",
    [
        "com.oraclecloud.blockvolumes.createbootvolumebackup.begin",
        "com.oraclecloud.blockvolumes.copyvolumebackup.end",
        "com.oraclecloud.blockvolumes.createbootvolumebackup.endx",
        "com.oraclecloud.objectstorage.createbucket",
    ],
)
def test_another_event_type_is_not_delivered(rendered: Rendered, event_type: str) -> None:
    event = {**event_json("boot-volume-backup-end.json"), "eventType": event_type}

    assert not matches(_condition(rendered), event)


def test_an_event_without_an_event_type_is_not_delivered(rendered: Rendered) -> None:
    event = {key: value for key, value in event_json("volume-backup-end.json").items() if key != "eventType"}

    assert not matches(_condition(rendered), event)


def test_named_fields_only_and_unnamed_fields_are_ignored() -> None:
    event = {"eventType": "a", "data": {"compartmentName": "prod", "extra": 1}, "other": True}

    assert matches({"data": {"compartmentName": "prod"}}, event)
    assert not matches({"data": {"compartmentName": "dev"}}, event)
    assert not matches({"data": {"resourceName": "x"}}, event)
    assert matches({}, event)


def test_arrays_are_or_and_star_is_a_wildcard() -> None:
    event = {"eventType": "com.oraclecloud.blockvolumes.createvolumebackup.end", "data": {"tags": ["a", "b"]}}

    assert matches({"eventType": ["x", "com.oraclecloud.blockvolumes.*backup.end"]}, event)
    assert not matches({"eventType": ["x", "com.oraclecloud.blockvolumes.*.begin"]}, event)
    assert matches({"eventType": "*"}, event)
    assert matches({"data": {"tags": "b"}}, event)
    assert not matches({"eventType": "com.oraclecloud.blockvolumes.createvolumebackup"}, event)
