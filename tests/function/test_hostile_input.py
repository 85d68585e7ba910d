"""Hostile request bodies: each is rejected with a reason, touches no backup, and leaves the function serving.

The first half sends them through the real fdk to one long-lived process; the second half lets
hypothesis generate events and checks, in process against the stand-in, that nothing escapes
handle(), that an invalid event makes no Block Storage call, and that every request path is built
from the event's resource OCID and nothing else.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import oci
import pytest
from hypothesis import event as label_example
from hypothesis import given, settings
from hypothesis import strategies as st

from backup_copy.deadline import Deadline
from backup_copy.handler import handle
from backup_copy.runtime import Runtimes
from backup_copy.settings import Settings
from devkit.fdk_process import FdkProcess
from devkit.local import LocalCloud, local_cloud
from devkit.standin import Message, RecordedRequest
from devkit.standin.ocids import make_ocid
from tests.events import event_bytes, event_json

BOOT_EVENT = "boot-volume-backup-end.json"
PING = "boot-volume-backup-begin.json"  # ignored without any OCI call: proves the process still serves
HOME, AWAY, FAR = "us-phoenix-1", "us-ashburn-1", "eu-frankfurt-1"
# OCI Functions accepts request bodies up to 6 MB.
SIX_MB = 6 * 1024 * 1024
VALID_ID = event_json(BOOT_EVENT)["data"]["resourceId"]


def with_changes(changes: dict[str, Any]) -> bytes:
    """The sample boot volume backup event with fields replaced (dotted wire paths: data.resourceId)."""
    event = event_json(BOOT_EVENT)
    for path, value in changes.items():
        *parents, last = path.split(".")
        target = event
        for part in parents:
            target = target[part]
        target[last] = value
    return json.dumps(event).encode()


def padded_to_six_mb(prefix: bytes, filler: bytes, suffix: bytes) -> bytes:
    count = (SIX_MB - 1024 - len(prefix) - len(suffix)) // len(filler)
    return prefix + filler * count + suffix


HOSTILE_BODIES: list[tuple[str, bytes, str]] = [
    ("not-json", b"backup finished, please copy it", "the body is not valid JSON"),
    ("not-utf8", b"\xff\xfe\x00\x81 not text", "the body is not valid JSON"),
    ("not-utf8-inside-a-string", with_changes({}).replace(b"web-01", b"web-\xff\xfe"), "invalid unicode"),
    ("empty", b"", "the body is not valid JSON"),
    ("blank", b" \r\n\t ", "the body is not valid JSON"),
    ("json-null", b"null", "Input should be an object"),
    ("json-array", b"[]", "Input should be an object"),
    ("unknown-action", b'{"action": "delete-everything"}', "action: Input should be 'sweep'"),
    ("action-a-number", b'{"action": 7}', "action: Input should be a valid string"),
    ("truncated", with_changes({})[:200], "the body is not valid JSON"),
    (
        "six-mb-resource-id",
        with_changes({"data.resourceId": VALID_ID + "a" * (SIX_MB - 4096)}),
        "data.resourceId: an OCID has at most 255 characters",
    ),
    ("six-mb-array", padded_to_six_mb(b"[", b"0,", b"0]"), "Input should be an object"),
    ("deeply-nested-array", b"[" * 100_000, "recursion limit exceeded"),
    ("deeply-nested-object", b'{"a":' * 100_000, "recursion limit exceeded"),
    (
        "deeply-nested-inside-the-event",
        with_changes({}).replace(b'"definedTags": {', b'"definedTags": {"x": ' + b"[" * 50_000, 1),
        "recursion limit exceeded",
    ),
    (
        "resource-id-with-nul",
        with_changes({"data.resourceId": VALID_ID[:40] + "\x00" + VALID_ID[40:]}),
        "data.resourceId: not a well-formed OCID",
    ),
    (
        "resource-id-with-newline",
        with_changes({"data.resourceId": VALID_ID + "\r\nX-Injected: 1"}),
        "data.resourceId: not a well-formed OCID",
    ),
    (
        "resource-id-with-path",
        with_changes({"data.resourceId": VALID_ID + "/../../volumes"}),
        "data.resourceId: not a well-formed OCID",
    ),
    (
        "resource-id-with-query",
        with_changes({"data.resourceId": VALID_ID + "?compartmentId=x&limit=1"}),
        "data.resourceId: not a well-formed OCID",
    ),
    (
        "resource-id-with-encoded-slash",
        with_changes({"data.resourceId": VALID_ID + "%2F..%2Factions%2Fcopy"}),
        "data.resourceId: not a well-formed OCID",
    ),
    (
        "resource-id-with-fragment",
        with_changes({"data.resourceId": VALID_ID + "#x"}),
        "data.resourceId: not a well-formed OCID",
    ),
    (
        "resource-id-with-spaces",
        with_changes({"data.resourceId": f" {VALID_ID} "}),
        "data.resourceId: not a well-formed OCID",
    ),
    (
        "resource-id-with-look-alike-letters",
        with_changes({"data.resourceId": VALID_ID.replace("ocid1", "оcid1")}),  # noqa: RUF001  # a Cyrillic first letter
        "data.resourceId: not a well-formed OCID",
    ),
    (
        "resource-id-too-long",
        with_changes({"data.resourceId": VALID_ID + "a" * 300}),
        "data.resourceId: an OCID has at most 255 characters",
    ),
    (
        "resource-id-of-another-kind",
        with_changes({"eventType": "com.oraclecloud.blockvolumes.createvolumebackup.end"}),
        "data.resourceId: expected an OCID of type volumebackup, got type bootvolumebackup",
    ),
    (
        "event-id-with-control-characters",
        with_changes({"eventID": "6e1e2f5c\r\nX-Injected: 1"}),
        "eventID: String should match pattern",
    ),
    ("resource-id-a-number", with_changes({"data.resourceId": 12345}), "data.resourceId: Input should be"),
    ("resource-id-null", with_changes({"data.resourceId": None}), "data.resourceId: Input should be"),
    ("event-type-a-number", with_changes({"eventType": 7}), "eventType: Input should be a valid string"),
    ("event-id-a-number", with_changes({"eventID": 42}), "eventID: Input should be a valid string"),
    ("data-a-list", with_changes({"data": [VALID_ID]}), "data: Input should be an object"),
    (
        "unknown-region-key",
        with_changes({"data.resourceId": VALID_ID.replace(".phx.", ".xyz.")}),
        "data.resourceId: unknown region key 'xyz' in the OCID",
    ),
]


# Hostile values in fields the function never acts on: the event is still copied (the backup's name,
# compartment and tags are read from OCI), and the warning names the field without echoing the value.
TOLERATED_VALUES: list[tuple[str, dict[str, Any], str]] = [
    (
        "six-mb-display-name",
        {"data.resourceName": "x" * (SIX_MB - 4096)},
        "data.resourceName: String should have at most 255 characters",
    ),
    (
        "compartment-id-with-a-path",
        {"data.compartmentId": "ocid1.compartment.oc1..aaaaaaaaaaaa/../x"},
        "data.compartmentId: not a compartment or tenancy OCID",
    ),
    ("tag-value-a-number", {"data.freeformTags": {"app": 1}}, "data.freeformTags.app: "),
    (
        "five-mb-tag-key",
        {"data.freeformTags": {"k" * (5 * 1024 * 1024): 1}},
        "data.freeformTags.kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk…: Input should be a valid string",
    ),
    ("event-time-not-a-time", {"eventTime": "yesterday"}, "eventTime: Input should be a valid datetime"),
]


@dataclass
class Served:
    """The module's stand-in and fdk process, with what was published before the current test."""

    cloud: LocalCloud
    function: FdkProcess
    notices_before: int
    log_offset: int

    def notices(self) -> list[Message]:
        return self.cloud.standin.messages(self.cloud.topic_id)[self.notices_before :]

    def block_storage_requests(self) -> list[RecordedRequest]:
        return [r for r in self.cloud.standin.requests if r.service == "iaas"]

    def log_messages(self, level: str) -> list[str]:
        """The messages of the function's JSON log lines at `level` since the test began."""
        return [str(entry.get("message")) for entry in self.log_entries(level)]

    def log_entries(self, level: str) -> list[dict[str, Any]]:
        """The function's JSON log lines at `level` since the test began."""
        entries = []
        for line in self.function.logs()[self.log_offset :].splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("level") == level:
                entries.append(entry)
        return entries


@pytest.fixture(scope="module")
def module_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    with local_cloud(tmp_path_factory.mktemp("hostile"), copy_delay_seconds=600.0) as running:
        yield running


@pytest.fixture(scope="module")
def module_function(module_cloud: LocalCloud) -> Iterator[FdkProcess]:
    with FdkProcess(module_cloud.function_env(AWAY)) as running:
        yield running


@pytest.fixture
def served(module_cloud: LocalCloud, module_function: FdkProcess) -> Served:
    module_cloud.standin.clear_requests()
    return Served(
        module_cloud,
        module_function,
        notices_before=len(module_cloud.standin.messages(module_cloud.topic_id)),
        log_offset=len(module_function.logs()),
    )


def call(function: FdkProcess, body: bytes) -> tuple[int, dict[str, Any]]:
    answer = function.invoke(body, timeout=30.0)
    assert answer.headers["content-type"] == "application/json"
    parsed: dict[str, Any] = json.loads(answer.body)
    return answer.status, parsed


@pytest.mark.parametrize(
    ("body", "says"),
    [pytest.param(body, says, id=name) for name, body, says in HOSTILE_BODIES],
)
def test_a_hostile_body_is_rejected_with_its_reason_and_touches_no_backup(
    served: Served, body: bytes, says: str
) -> None:
    status, answer = call(served.function, body)

    assert (status, answer["status"]) == (502, "rejected")
    assert says in answer["reason"]
    assert len(answer["reason"]) < 1000
    assert (answer["source"], answer["copies"]) == (None, [])
    assert served.block_storage_requests() == []
    [notice] = served.notices()
    assert notice.title == "FAILED: an event could not be read, so no backup was copied"
    body_of_notice = json.loads(notice.body)
    assert (body_of_notice["status"], body_of_notice["errorClass"]) == ("rejected", "invalid_event")
    assert body_of_notice["reason"] == answer["reason"]
    assert [r.route for r in served.cloud.standin.requests] == ["publish"]
    assert served.log_messages("ERROR") == ["backup rejected"]
    # Still serving, and nothing escaped to the fdk (which would log a traceback and answer 502 text).
    ping_status, ping = call(served.function, event_bytes(PING))
    assert (ping_status, ping["status"]) == (200, "ignored")
    assert "Traceback" not in served.function.logs()[served.log_offset :]


@pytest.mark.parametrize(
    ("changes", "says"),
    [pytest.param(changes, says, id=name) for name, changes, says in TOLERATED_VALUES],
)
def test_a_hostile_value_in_a_field_never_acted_on_is_warned_about_and_the_backup_copied(
    served: Served, changes: dict[str, Any], says: str
) -> None:
    standin = served.cloud.standin
    source = standin.seed_backup(
        kind="boot", region=HOME, compartment_id=served.cloud.principal.compartment_id, display_name="web-09"
    )
    event_id = str(uuid.uuid4())

    status, answer = call(
        served.function, with_changes({**changes, "data.resourceId": source, "eventID": event_id})
    )

    assert (status, answer["status"], answer["source"]) == (200, "copied", source)
    assert [b.display_name for b in standin.backups(AWAY) if b.source_backup_id == source] == [
        "web-09 (copy from us-phoenix-1)"
    ]
    [warning] = served.log_entries("WARNING")
    assert warning["message"] == "event fields in an unexpected shape were ignored"
    assert warning["eventId"] == event_id
    assert any(note.startswith(says) for note in warning["oddFields"])
    logged = served.function.logs()[served.log_offset :]
    assert max(len(line) for line in logged.splitlines()) < 5000
    assert len(json.dumps(answer)) < 5000
    [notice] = served.notices()
    assert len(notice.body) < 5000
    standin.finish_all_copies()


def test_a_rejected_event_whose_event_id_is_readable_is_named_by_it(served: Served) -> None:
    # The envelope is fine, the resource is not: the operator needs the event id to find the delivery.
    event_id = str(uuid.uuid4())
    body = with_changes({"eventID": event_id, "data.resourceId": VALID_ID + "/../x"})

    status, answer = call(served.function, body)

    assert (status, answer["status"]) == (502, "rejected")
    assert answer.get("eventId") == event_id
    [notice] = served.notices()
    assert json.loads(notice.body)["eventId"] == event_id


def test_a_notice_title_carries_no_line_breaks_from_the_event(served: Served) -> None:
    # A well-formed event for a backup that does not exist: the title names it by the event's
    # resourceName, which is free text; a title is an e-mail subject, where CR LF starts a header.
    body = with_changes(
        {
            "data.resourceId": make_ocid("bootvolumebackup", HOME),
            "data.resourceName": "web-01\r\nBcc: someone@example.com",
        }
    )

    status, answer = call(served.function, body)

    assert (status, answer["status"]) == (502, "failed")
    [notice] = served.notices()
    assert notice.title is not None
    assert notice.title.startswith("FAILED: backup web-01")
    assert not any(ord(character) < 32 or ord(character) == 127 for character in notice.title)


def test_after_hostile_bodies_the_same_process_still_copies_a_valid_event(served: Served) -> None:
    for _, body, _ in HOSTILE_BODIES[:3]:
        assert call(served.function, body)[0] == 502
    source = served.cloud.seed_from_event(event_json(BOOT_EVENT))

    status, answer = call(served.function, event_bytes(BOOT_EVENT))

    assert (status, answer["status"], answer["source"]) == (200, "copied", source)
    [copy] = [b for b in served.cloud.standin.backups(AWAY) if b.source_backup_id == source]
    assert answer["copies"][0]["id"] == copy.id


# --- property: generated events, in process, against the stand-in ---------------------------------

HANDLED = {
    "com.oraclecloud.blockvolumes.createbootvolumebackup.end": ("bootvolumebackup", "bootVolumeBackups"),
    "com.oraclecloud.blockvolumes.createvolumebackup.end": ("volumebackup", "volumeBackups"),
    "com.oraclecloud.blockvolumes.createvolumegroupbackup.end": ("volumegroupbackup", "volumeGroupBackups"),
}
SOURCE_FILTERS = {"bootVolumeBackups": "sourceBootVolumeBackupId", "volumeBackups": "sourceVolumeBackupId"}
EVENT_TYPES = [
    *HANDLED,
    *(t.upper() for t in HANDLED),
    "com.oraclecloud.blockvolumes.createbootvolumebackup.begin",
    "com.oraclecloud.blockvolumes.copybootvolumebackup.end",
    "com.oraclecloud.blockvolumes.copyvolumebackup.end",
    "com.oraclecloud.computeapi.launchinstance.end",
    "",
]
SAMPLES = [
    "boot-volume-backup-end.json",
    "boot-volume-backup-end-scheduled.json",
    "volume-backup-end.json",
    "volume-group-backup-end.json",
    "boot-volume-backup-begin.json",
    "boot-volume-backup-copy-end.json",
]
# What a request path may carry of an OCID: nothing that could end a path segment or start a query.
SAFE_OCID = re.compile(r"ocid1\.[a-z]+\.oc[0-9]+\.[a-z0-9.-]+")
KNOWN_STATUSES = {"copied", "queued", "already_copied", "ignored", "dry_run", "rejected", "failed"}
FIELDS = [
    "action",
    "eventType",
    "eventID",
    "eventTime",
    "cloudEventsVersion",
    "eventTypeVersion",
    "source",
    "extensions",
    "data",
    "data.compartmentId",
    "data.resourceName",
    "data.resourceId",
    "data.freeformTags",
    "data.definedTags",
    "data.additionalDetails",
]
DROPPED = object()
SAMPLE_EVENTS = {name: event_bytes(name) for name in SAMPLES}
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=4,
)
HOSTILE_FRAGMENTS = ["/", "?x=1", "%2F", "/..", "#", " ", "\n", "\x00", "\u200b", "é"]


@dataclass(frozen=True)
class PropertyWorld:
    """The stand-in with a backup of every kind in the source region, and the function wired to it."""

    cloud: LocalCloud
    seeded: tuple[str, ...]
    runtimes: Runtimes


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PropertyWorld]:
    with (
        local_cloud(tmp_path_factory.mktemp("property"), copy_delay_seconds=600.0) as cloud,
        pytest.MonkeyPatch.context() as patch,
    ):
        # The composition root builds the real runtime from this environment, as in a container.
        for name in Settings.model_fields:  # no configuration but what function_env gives
            patch.delenv(name.upper(), raising=False)
        for name, value in cloud.function_env(f"{AWAY},{FAR}").items():
            patch.setenv(name, value)
        compartment = event_json(BOOT_EVENT)["data"]["compartmentId"]
        seeded = [
            cloud.standin.seed_backup(kind=kind, region=HOME, compartment_id=compartment, display_name="db")
            for kind in ("boot", "volume", "volume_group")
        ]
        seeded.append(
            cloud.standin.seed_backup(
                kind="boot",
                region=HOME,
                compartment_id=compartment,
                display_name="a copy",
                source_backup_id=make_ocid("bootvolumebackup", AWAY),
            )
        )
        seeded.append(
            cloud.standin.seed_backup(
                kind="boot",
                region=HOME,
                compartment_id=compartment,
                display_name="bad",
                lifecycle_state="FAULTY",
            )
        )
        yield PropertyWorld(cloud, tuple(seeded), Runtimes())


def unique_parts(min_size: int = 10) -> st.SearchStrategy[str]:
    return st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567", min_size=min_size, max_size=64)


def resource_ids(seeded: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """Seeded backups, well-formed OCIDs (of any kind and region), fragments glued together, any JSON."""
    well_formed = st.builds(
        "ocid1.{}.oc1.{}.{}".format,
        st.sampled_from(
            ["bootvolumebackup", "volumebackup", "volumegroupbackup", "instance", "BOOTVOLUMEBACKUP"]
        ),
        # Served (phx is the source; iad and fra are destinations), known but not served (sjc), unknown.
        st.sampled_from(["phx", "iad", "fra", "sjc", "us-phoenix-1", "xyz", "", "PHX"]),
        unique_parts(min_size=0),
    )
    fragment = st.one_of(
        st.sampled_from(
            [
                *seeded,
                "ocid1.bootvolumebackup.oc1.phx.",
                "ocid1.",
                ".",
                "/",
                "?",
                "&",
                "=",
                "#",
                "%2F",
                "%00",
                "..",
                " ",
                "\t",
                "\n",
                "\x00",
                "\\",
                "é",
                "ｏｃｉｄ",  # noqa: RUF001  # full-width look-alikes
                "\u200b",
            ]
        ),
        unique_parts(min_size=1),
    )
    glued = st.lists(fragment, min_size=1, max_size=4).map("".join)
    return st.one_of(st.sampled_from(seeded), well_formed, glued, JSON_VALUES)


@st.composite
def coherent_events(draw: st.DrawFn, seeded: tuple[str, ...]) -> dict[str, Any]:
    """A handled event naming a backup of its kind: seeded, unknown, elsewhere, or with hostile bytes."""
    event_type = draw(st.sampled_from(sorted(HANDLED)))
    ocid_type = HANDLED[event_type][0]
    event: dict[str, Any] = json.loads(SAMPLE_EVENTS["boot-volume-backup-end.json"])
    event["eventType"] = draw(st.sampled_from([event_type, event_type.upper()]))
    of_kind = [ocid for ocid in seeded if ocid.split(".")[1] == ocid_type]
    resource_id = draw(
        st.one_of(
            st.sampled_from(of_kind),
            st.builds(
                f"ocid1.{ocid_type}.oc1.{{}}.{{}}".format,
                st.sampled_from(["phx", "iad", "fra", "sjc", "us-phoenix-1"]),
                unique_parts(),
            ),
        )
    )
    if draw(st.integers(0, 3)) == 0:
        cut = draw(st.integers(0, len(resource_id)))
        resource_id = resource_id[:cut] + draw(st.sampled_from(HOSTILE_FRAGMENTS)) + resource_id[cut:]
    event["data"]["resourceId"] = resource_id
    return event


@st.composite
def wild_events(draw: st.DrawFn, seeded: tuple[str, ...]) -> dict[str, Any]:
    """Any sample, with any event type and any resource id."""
    event: dict[str, Any] = json.loads(SAMPLE_EVENTS[draw(st.sampled_from(SAMPLES))])
    event["eventType"] = draw(st.one_of(st.sampled_from(EVENT_TYPES), JSON_VALUES))
    event["data"]["resourceId"] = draw(resource_ids(seeded))
    return event


@st.composite
def events(draw: st.DrawFn, seeded: tuple[str, ...]) -> bytes:
    """A request body: mostly an event (coherent or wild) with maybe one field replaced or dropped."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.binary(max_size=64))
    event = draw(st.one_of(coherent_events(seeded), wild_events(seeded)))
    event["eventID"] = str(uuid.uuid4())
    if draw(st.integers(0, 2)) == 0:
        path = draw(st.sampled_from(FIELDS))
        parent, _, name = path.rpartition(".")
        target = event.get(parent) if parent else event
        value = draw(st.one_of(st.just(DROPPED), JSON_VALUES))
        if isinstance(target, dict) and value is DROPPED:
            target.pop(name, None)
        elif isinstance(target, dict):
            target[name] = value
    return json.dumps(event).encode()


def expected_paths(resource_id: str, collection: str, copy_ids: dict[str, set[str]]) -> set[str]:
    """Every path a request about this backup may take: built from its OCID, or from its copies'."""
    source_region = oci.regions.REGIONS_SHORT_NAMES.get(resource_id.split(".")[3], resource_id.split(".")[3])
    paths = {
        f"/{source_region}/iaas/20160918/{collection}/{resource_id}",
        f"/{source_region}/iaas/20160918/{collection}/{resource_id}/actions/copy",
    }
    for region, ids in copy_ids.items():
        paths.add(f"/{region}/iaas/20160918/{collection}")
        paths.update(f"/{region}/iaas/20160918/{collection}/{copy_id}" for copy_id in ids)
    return paths


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_generated_events_never_escape_and_only_validated_ocids_reach_a_request_path(
    world: PropertyWorld, data: st.DataObject
) -> None:
    body = data.draw(events(world.seeded), label="body")
    standin = world.cloud.standin
    standin.clear_requests()

    answer = handle(body, deadline=Deadline.after(30.0), runtimes=world.runtimes, call_id="property")

    parsed = json.loads(answer.body)
    label_example(parsed["status"])  # pytest --hypothesis-show-statistics shows how the examples spread
    assert parsed["status"] in KNOWN_STATUSES
    assert answer.status_code == (502 if parsed["status"] in ("rejected", "failed") else 200)
    block_storage = [r for r in standin.requests if r.service == "iaas"]
    notifications = [r for r in standin.requests if r.service != "iaas"]
    assert [r.route for r in notifications] in ([], ["publish"])
    if parsed["status"] == "rejected":
        assert block_storage == []
        assert len(notifications) == 1
    if not block_storage:
        return

    # Block Storage was called: the event must be a handled one naming a safe OCID of its kind, and
    # every request must be about that OCID (or the copies OCI made of it), with nothing added.
    event = json.loads(body)
    resource_id = event["data"]["resourceId"]
    ocid_type, collection = HANDLED[event["eventType"].lower()]
    assert isinstance(resource_id, str)
    assert SAFE_OCID.fullmatch(resource_id)
    assert resource_id.split(".")[1] == ocid_type
    copies = {
        region: {b.id for b in standin.backups(region) if b.source_backup_id == resource_id}
        for region in (AWAY, FAR)
    }
    allowed = expected_paths(resource_id, collection, copies)
    for request in block_storage:
        assert request.path in allowed
        if request.route == "list" and collection in SOURCE_FILTERS:
            assert request.query[SOURCE_FILTERS[collection]] == [resource_id]
    assert parsed["source"] == resource_id
