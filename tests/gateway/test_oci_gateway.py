"""The OCI gateway with the real SDK against the local stand-in: paths, signatures, bodies, errors."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import oci
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from backup_copy.backups import BackupKind, CopyRequest, retry_token
from backup_copy.deadline import Deadline
from backup_copy.errors import ConfigurationError, PermanentError, TransientError
from backup_copy.metrics import MetricPoint
from backup_copy.oci_gateway import (
    KEY_LOADING_READ_FOR,
    METRICS,
    Credentials,
    OciGateway,
    RetryPolicy,
    default_credentials,
    load_trusted_key,
)
from devkit import PROJECT
from devkit.local import LocalCloud
from devkit.standin import MAX_PAGE_SIZE, Fault, Garbage, wire

HOME, AWAY = "us-phoenix-1", "us-ashburn-1"
DEPLOYMENT = "backup-copy-test"
KINDS = {"boot": BackupKind.BOOT, "volume": BackupKind.VOLUME, "volume_group": BackupKind.VOLUME_GROUP}
PATHS = {"boot": "bootVolumeBackups", "volume": "volumeBackups", "volume_group": "volumeGroupBackups"}


class CountingSigner:
    """Builds the real resource-principal signer, counting how often it is asked to."""

    def __init__(self) -> None:
        self.built = 0

    def __call__(self) -> Credentials:
        self.built += 1
        return default_credentials()


def no_wait() -> RetryPolicy:
    return RetryPolicy(sleep=lambda _: None, jitter=lambda: 0.0, reserve=1.0)


def gateway_for(cloud: LocalCloud, **kwargs: Any) -> OciGateway:
    return OciGateway(endpoint_template=cloud.standin.endpoint_template, **kwargs)


def seed(cloud: LocalCloud, kind: str = "boot", **kwargs: Any) -> str:
    return cloud.standin.seed_backup(
        kind=kind,  # type: ignore[arg-type]
        region=HOME,
        compartment_id=cloud.principal.compartment_id,
        display_name="web-01 daily",
        freeform_tags={"app": "web"},
        **kwargs,
    )


def request_for(source_id: str, region: str = AWAY) -> CopyRequest:
    return CopyRequest(
        region, "web-01 daily (copy)", None, retry_token(source_id, region, deployment=DEPLOYMENT)
    )


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_copy_is_one_signed_request_to_the_source_region(cloud: LocalCloud, kind: str) -> None:
    source_id = seed(cloud, kind)
    gateway = gateway_for(cloud)
    source = gateway.get_backup(KINDS[kind], source_id, HOME, Deadline.after(30))
    copy = gateway.request_copy(source, request_for(source_id), Deadline.after(30))

    [get, post] = cloud.standin.requests
    assert (get.method, get.path) == ("GET", f"/{HOME}/iaas/20160918/{PATHS[kind]}/{source_id}")
    assert (post.method, post.path) == (
        "POST",
        f"/{HOME}/iaas/20160918/{PATHS[kind]}/{source_id}/actions/copy",
    )
    assert post.body == {"destinationRegion": AWAY, "displayName": "web-01 daily (copy)"}
    assert post.headers["opc-retry-token"] == retry_token(source_id, AWAY, deployment=DEPLOYMENT)
    assert all(request.signature_ok for request in cloud.standin.requests)
    assert all(
        request.headers["authorization"].count('keyId="ST$') == 1 for request in cloud.standin.requests
    )

    assert source.lifecycle_state == "AVAILABLE"
    assert source.freeform_tags == {"app": "web"}
    assert copy.region == AWAY
    assert copy.state == "CREATING"
    assert copy.work_request_id
    [made] = cloud.standin.backups(AWAY)
    assert (made.id, made.source_backup_id) == (copy.id, source_id)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_copies_are_found_in_the_destination_by_their_source(cloud: LocalCloud, kind: str) -> None:
    source_id = seed(cloud, kind)
    other_id = seed(cloud, kind)
    gateway = gateway_for(cloud)
    source = gateway.get_backup(KINDS[kind], source_id, HOME, Deadline.after(30))
    other = gateway.get_backup(KINDS[kind], other_id, HOME, Deadline.after(30))
    assert gateway.find_copies(source, AWAY, Deadline.after(30)) == []
    copy = gateway.request_copy(source, request_for(source_id), Deadline.after(30))
    gateway.request_copy(other, request_for(other_id), Deadline.after(30))
    found = gateway.find_copies(source, AWAY, Deadline.after(30))
    assert [(c.id, c.state) for c in found] == [(copy.id, "CREATING")]
    assert cloud.standin.requests[-1].region == AWAY


def test_the_same_retry_token_returns_the_first_copy(cloud: LocalCloud) -> None:
    source_id = seed(cloud)
    gateway = gateway_for(cloud)
    source = gateway.get_backup(BackupKind.BOOT, source_id, HOME, Deadline.after(30))
    first = gateway.request_copy(source, request_for(source_id), Deadline.after(30))
    again = gateway.request_copy(source, request_for(source_id), Deadline.after(30))
    assert again.id == first.id
    assert len(cloud.standin.backups(AWAY)) == 1


def test_the_notice_goes_to_the_topic_in_its_region(cloud: LocalCloud) -> None:
    gateway = gateway_for(cloud)
    message_id = gateway.publish(cloud.topic_id, "Backup copied", '{"newBackupIds": []}', Deadline.after(30))
    [message] = cloud.standin.messages(cloud.topic_id)
    assert (message.message_id, message.title, message.body) == (
        message_id,
        "Backup copied",
        '{"newBackupIds": []}',
    )
    [request] = cloud.standin.requests
    assert request.path == f"/{HOME}/notification/20181201/topics/{cloud.topic_id}/messages"
    assert request.signature_ok


def test_signer_and_clients_are_built_once_and_reused(cloud: LocalCloud) -> None:
    signer = CountingSigner()
    gateway = gateway_for(cloud, credentials=signer)
    source_id = seed(cloud)
    for _ in range(3):
        gateway.get_backup(BackupKind.BOOT, source_id, HOME, Deadline.after(30))
    gateway.publish(cloud.topic_id, "t", "b", Deadline.after(30))
    assert signer.built == 1
    assert (
        len({request.headers["authorization"].split('keyId="')[1][:20] for request in cloud.standin.requests})
        == 1
    )


def test_a_missing_backup_is_permanent_and_names_the_policy(cloud: LocalCloud) -> None:
    missing = "ocid1.bootvolumebackup.oc1.phx.abyhqljr3m5w5qzwb6jvm6ibtvxk6uj3xtbfs4hlmlsyntgpqvejbcz5eyia"
    with pytest.raises(PermanentError) as caught:
        gateway_for(cloud).get_backup(BackupKind.BOOT, missing, HOME, Deadline.after(30))
    assert caught.value.http_status == 404
    assert caught.value.code == "NotAuthorizedOrNotFound"
    assert "'read boot-volume-backups'" in caught.value.reason
    assert len(cloud.standin.requests) == 1


def test_a_long_oci_error_message_is_quoted_short_and_printable(cloud: LocalCloud) -> None:
    source_id = seed(cloud)
    gateway = gateway_for(cloud, retry=no_wait())
    source = gateway.get_backup(BackupKind.BOOT, source_id, HOME, Deadline.after(30))
    message = "the key \u202egnorw\u202c is refused. " + "details " * 12_500  # 100 KB
    cloud.standin.script_faults([Fault("copy", 400, "InvalidParameter", message=message)])
    with pytest.raises(PermanentError) as caught:
        gateway.request_copy(source, request_for(source_id), Deadline.after(30))
    assert caught.value.reason.startswith(
        "OCI answered 400 InvalidParameter to copy in us-phoenix-1: the key ?gnorw? is"
    )
    assert len(caught.value.reason) < 1000
    assert "\u202e" not in caught.value.reason


def test_throttling_is_retried_with_the_same_token_and_makes_one_copy(cloud: LocalCloud) -> None:
    source_id = seed(cloud)
    gateway = gateway_for(cloud, retry=no_wait())
    source = gateway.get_backup(BackupKind.BOOT, source_id, HOME, Deadline.after(30))
    cloud.standin.script_faults(
        [Fault("copy", 429, "TooManyRequests", count=2), Fault("copy", 503, "ServiceUnavailable")]
    )
    copy = gateway.request_copy(source, request_for(source_id), Deadline.after(30))
    copies = [r for r in cloud.standin.requests if r.route == "copy"]
    assert [r.status for r in copies] == [429, 429, 503, 200]
    assert len({r.headers["opc-retry-token"] for r in copies}) == 1
    assert [b.id for b in cloud.standin.backups(AWAY)] == [copy.id]


def test_a_transient_failure_gives_up_when_the_deadline_leaves_no_room(cloud: LocalCloud) -> None:
    source_id = seed(cloud)
    gateway = gateway_for(cloud, retry=RetryPolicy(sleep=lambda _: None, jitter=lambda: 1.0, reserve=5.0))
    source = gateway.get_backup(BackupKind.BOOT, source_id, HOME, Deadline.after(30))
    cloud.standin.script_faults([Fault("copy", 429, "TooManyRequests", count=100)])
    with pytest.raises(TransientError, match="gave up after 1 attempt") as caught:
        gateway.request_copy(source, request_for(source_id), Deadline.after(5.2))
    assert caught.value.http_status == 429
    assert cloud.standin.backups(AWAY) == []


def test_giving_up_counts_every_request_that_was_sent(cloud: LocalCloud) -> None:
    source_id = seed(cloud)
    # The deadline runs on a clock that only the pauses move, so the retries end by arithmetic:
    # with full jitter the pauses are 0.5, 1 and 2 s, and the 4 s after the fourth would eat the reserve.
    now = [0.0]

    def pause(seconds: float) -> None:
        now[0] += seconds

    gateway = gateway_for(cloud, retry=RetryPolicy(sleep=pause, jitter=lambda: 1.0, reserve=4.0))
    source = gateway.get_backup(BackupKind.BOOT, source_id, HOME, Deadline.after(30))
    cloud.standin.script_faults([Fault("copy", 503, "ServiceUnavailable", count=100)])
    with pytest.raises(TransientError, match=r"gave up after 4 attempt\(s\), as time ran out") as caught:
        gateway.request_copy(source, request_for(source_id), Deadline.after(10.0, clock=lambda: now[0]))
    copies = [r for r in cloud.standin.requests if r.route == "copy"]
    assert [r.status for r in copies] == [503] * 4
    assert caught.value.attempts == len(copies)
    assert (caught.value.http_status, caught.value.code) == (503, "ServiceUnavailable")


def test_unaccepted_credentials_are_permanent_and_say_so(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from devkit.standin import make_resource_principal

    stranger = make_resource_principal(tmp_path / "stranger", region=HOME)
    for name, value in stranger.env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(PermanentError, match="credentials were not accepted") as caught:
        gateway_for(cloud).get_backup(BackupKind.BOOT, seed(cloud), HOME, Deadline.after(30))
    assert caught.value.http_status == 401


def test_without_credentials_the_gateway_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCI_RESOURCE_PRINCIPAL_VERSION", raising=False)
    monkeypatch.delenv("OCI_CONFIG_PROFILE", raising=False)
    gateway = OciGateway(endpoint_template="http://127.0.0.1:9/{region}/{service}")
    with pytest.raises(Exception, match="no OCI credentials"):
        gateway.get_backup(BackupKind.BOOT, "ocid1.x", HOME, Deadline.after(1))


def test_a_slow_answer_times_out_within_the_deadline_and_is_reported(cloud: LocalCloud) -> None:
    source_id = seed(cloud)
    gateway = gateway_for(cloud, retry=RetryPolicy(sleep=lambda _: None, jitter=lambda: 0.0, reserve=2.0))
    source = gateway.get_backup(BackupKind.BOOT, source_id, HOME, Deadline.after(30))
    cloud.standin.set_latency(10.0, route="copy")
    deadline = Deadline.after(4.0)
    with pytest.raises(TransientError, match="OCI did not answer in time for copy"):
        gateway.request_copy(source, request_for(source_id), deadline)
    assert deadline.remaining() > 0.5  # failed with time left to say so


def test_no_call_starts_in_the_time_kept_for_reporting(cloud: LocalCloud) -> None:
    gateway = gateway_for(cloud, retry=RetryPolicy(reserve=4.0))
    with pytest.raises(TransientError, match="no time left for get in us-phoenix-1"):
        gateway.get_backup(BackupKind.BOOT, seed(cloud), HOME, Deadline.after(3.9))
    assert cloud.standin.requests == []


# --- OCI's error table: what is retried, what is not ---------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "retried"),
    [
        pytest.param(409, "Conflict", False, id="409 Conflict: not temporary"),
        pytest.param(409, "NotAuthorizedOrResourceAlreadyExists", False, id="409 already exists"),
        pytest.param(409, "IncorrectState", True, id="409 IncorrectState"),
        pytest.param(409, "ExternalServerIncorrectState", True, id="409 ExternalServerIncorrectState"),
        pytest.param(409, "LockConflict", True, id="409 LockConflict: the SDK retries it"),
        pytest.param(400, "LimitExceeded", False, id="400 LimitExceeded"),
        pytest.param(429, "TooManyRequests", True, id="429"),
        pytest.param(501, "MethodNotImplemented", False, id="501"),
        pytest.param(503, "ServiceUnavailable", True, id="503"),
    ],
)
def test_retries_follow_ocis_error_table(cloud: LocalCloud, status: int, code: str, retried: bool) -> None:
    source_id = seed(cloud)
    cloud.standin.script_faults([Fault("get", status, code)])
    gateway = gateway_for(cloud, retry=no_wait())

    if retried:
        gateway.get_backup(BackupKind.BOOT, source_id, HOME, Deadline.after(30))
    else:
        with pytest.raises(PermanentError) as caught:
            gateway.get_backup(BackupKind.BOOT, source_id, HOME, Deadline.after(30))
        assert (caught.value.http_status, caught.value.code) == (status, code)
    assert [r.status for r in cloud.standin.requests] == ([status, 200] if retried else [status])


# --- the tag write right after a copy ----------------------------------------------------------


def made_copy(cloud: LocalCloud, gateway: OciGateway) -> tuple[Any, Any]:
    source = gateway.get_backup(BackupKind.VOLUME, seed(cloud, "volume"), HOME, Deadline.after(30))
    return source, gateway.request_copy(source, request_for(source.id), Deadline.after(30))


def test_a_tag_write_that_meets_a_copy_not_yet_visible_is_retried(cloud: LocalCloud) -> None:
    gateway = gateway_for(cloud, retry=no_wait())
    source, copy = made_copy(cloud, gateway)
    cloud.standin.script_faults([Fault("update", 404, "NotAuthorizedOrNotFound", count=2)])

    gateway.tag_copy(source, copy, Deadline.after(30), deployment="dr-from-phoenix")

    assert [r.status for r in cloud.standin.requests if r.route == "update"] == [404, 404, 200]
    assert cloud.standin.backup(copy.id).freeform_tags["backup-copy-source"] == source.id


def test_a_tag_write_that_keeps_meeting_404_gives_up_after_a_few_tries(cloud: LocalCloud) -> None:
    gateway = gateway_for(cloud, retry=no_wait())
    source, copy = made_copy(cloud, gateway)
    cloud.standin.script_faults([Fault("update", 404, "NotAuthorizedOrNotFound", count=100)])

    with pytest.raises(PermanentError, match=r"'manage volume-backups'.*still not found after 4 attempts"):
        gateway.tag_copy(source, copy, Deadline.after(30), deployment="dr-from-phoenix")

    assert [r.status for r in cloud.standin.requests if r.route == "update"] == [404] * 4


def test_a_404_on_anything_but_the_tag_write_is_not_retried(cloud: LocalCloud) -> None:
    gateway = gateway_for(cloud, retry=no_wait())
    source, _ = made_copy(cloud, gateway)
    cloud.standin.clear_requests()
    cloud.standin.script_faults([Fault("copy", 404, "NotAuthorizedOrNotFound")])

    with pytest.raises(PermanentError):
        gateway.request_copy(source, request_for(source.id, "eu-frankfurt-1"), Deadline.after(30))

    assert [r.status for r in cloud.standin.requests] == [404]


# --- answers that are not what the operation answers -----------------------------------------------

# A 200 that proves nothing: what a proxy in the way, or a service fault, can send.
NOT_A_BACKUP = {
    "empty-object": b"{}",
    "empty-body": b"",
    "not-json": b"not json",
    "a-list": b'[{"id": "x"}]',
    "null": b"null",
}
NOT_A_LISTING = {
    "empty-object": b"{}",
    "empty-body": b"",
    "not-json": b"not json",
    "objects-without-ids": b"[{}, {}]",
    "a-list-of-strings": b'["a"]',
}


@pytest.mark.parametrize("body", NOT_A_BACKUP.values(), ids=NOT_A_BACKUP.keys())
def test_a_copy_answered_with_garbage_is_a_transient_failure_never_a_copy(
    cloud: LocalCloud, body: bytes
) -> None:
    source_id = seed(cloud)
    gateway = gateway_for(cloud, retry=no_wait())
    source = gateway.get_backup(BackupKind.BOOT, source_id, HOME, Deadline.after(30))
    cloud.standin.script_faults([Garbage("copy", body, count=10_000)])

    with pytest.raises(TransientError) as caught:
        gateway.request_copy(source, request_for(source_id), Deadline.after(3.0))

    assert caught.value.reason.startswith(
        f"OCI answered copy in {HOME} with a body that is not a boot volume backup: "
    )
    assert caught.value.reason.endswith("as time ran out)")
    assert caught.value.attempts >= 2  # retried within the deadline
    assert cloud.standin.backups(AWAY) == []


def test_a_copy_answered_with_a_backup_in_the_wrong_region_is_no_copy(cloud: LocalCloud) -> None:
    source_id = seed(cloud)
    gateway = gateway_for(cloud, retry=no_wait())
    source = gateway.get_backup(BackupKind.BOOT, source_id, HOME, Deadline.after(30))
    # The source itself, as a confused proxy or cache might answer: an OCID, but not in the destination.
    standing = wire.to_json(cloud.standin.backup(source_id).to_model())
    cloud.standin.script_faults([Garbage("copy", standing, count=10_000)])

    with pytest.raises(TransientError, match=rf"its id {source_id} is in {HOME}, not {AWAY}"):
        gateway.request_copy(source, request_for(source_id), Deadline.after(2.0))


def test_one_garbage_copy_answer_is_retried_with_the_same_token_and_makes_one_copy(
    cloud: LocalCloud,
) -> None:
    source_id = seed(cloud)
    gateway = gateway_for(cloud, retry=no_wait())
    source = gateway.get_backup(BackupKind.BOOT, source_id, HOME, Deadline.after(30))
    cloud.standin.script_faults([Garbage("copy", b"{}")])

    copy = gateway.request_copy(source, request_for(source_id), Deadline.after(30))

    copies = [r for r in cloud.standin.requests if r.route == "copy"]
    assert [r.status for r in copies] == [200, 200]
    assert len({r.headers["opc-retry-token"] for r in copies}) == 1
    assert [b.id for b in cloud.standin.backups(AWAY)] == [copy.id]


@pytest.mark.parametrize("body", NOT_A_LISTING.values(), ids=NOT_A_LISTING.keys())
def test_a_listing_answered_with_garbage_is_a_failure_never_no_copies(cloud: LocalCloud, body: bytes) -> None:
    source_id = seed(cloud)
    gateway = gateway_for(cloud, retry=no_wait())
    source = gateway.get_backup(BackupKind.BOOT, source_id, HOME, Deadline.after(30))
    gateway.request_copy(source, request_for(source_id), Deadline.after(30))
    cloud.standin.script_faults([Garbage("list", body, count=10_000)])

    with pytest.raises(TransientError) as caught:
        gateway.find_copies(source, AWAY, Deadline.after(2.0))

    assert caught.value.reason.startswith(
        f"OCI answered list in {AWAY} with a body that is not a list of boot volume backups: "
    )
    assert (caught.value.operation, caught.value.region) == ("list", AWAY)


@pytest.mark.parametrize("body", [b"{}", b"", b"[]"], ids=["empty-object", "empty-body", "a-list"])
def test_a_read_answered_with_garbage_is_a_transient_failure_naming_the_operation(
    cloud: LocalCloud, body: bytes
) -> None:
    source_id = seed(cloud)
    cloud.standin.script_faults([Garbage("get", body, count=10_000)])

    with pytest.raises(TransientError) as caught:
        gateway_for(cloud, retry=no_wait()).get_backup(BackupKind.BOOT, source_id, HOME, Deadline.after(2.0))

    assert caught.value.reason.startswith(
        f"OCI answered get in {HOME} with a body that is not a boot volume backup: "
    )


def test_a_publish_answered_with_garbage_is_not_a_published_notice(cloud: LocalCloud) -> None:
    cloud.standin.script_faults([Garbage("publish", b"{}", count=10_000)])

    with pytest.raises(TransientError, match="with a body that is not a published message: it has no"):
        gateway_for(cloud, retry=no_wait()).publish(cloud.topic_id, "t", "b", Deadline.after(2.0))


def test_an_error_answer_without_an_oci_error_code_reads_sensibly(cloud: LocalCloud) -> None:
    source_id = seed(cloud)
    cloud.standin.script_faults([Garbage("get", b"<html>Not Found</html>", status=404)])

    with pytest.raises(PermanentError) as caught:
        gateway_for(cloud).get_backup(BackupKind.BOOT, source_id, HOME, Deadline.after(30))

    assert caught.value.reason.startswith(f"OCI answered 404 (no error code) to get in {HOME}: ")
    assert "None" not in caught.value.reason
    assert (caught.value.http_status, caught.value.code) == (404, None)


# --- page size ----------------------------------------------------------------------------------


def test_a_listing_of_many_backups_asks_for_the_largest_page_and_sees_every_backup(cloud: LocalCloud) -> None:
    seeded = {seed(cloud) for _ in range(250)}
    gateway = gateway_for(cloud)

    listed = list(
        gateway.iter_backups(BackupKind.BOOT, cloud.principal.compartment_id, HOME, Deadline.after(30))
    )

    assert {b.id for b in listed} == seeded
    [request] = cloud.standin.requests
    assert request.query["limit"] == [str(MAX_PAGE_SIZE)]


def test_a_listing_longer_than_the_largest_page_is_read_page_by_page(cloud: LocalCloud) -> None:
    seeded = {seed(cloud) for _ in range(MAX_PAGE_SIZE + 50)}
    gateway = gateway_for(cloud)

    listed = list(
        gateway.iter_backups(BackupKind.BOOT, cloud.principal.compartment_id, HOME, Deadline.after(30))
    )

    assert len(listed) == len(seeded)
    assert {b.id for b in listed} == seeded
    lists = [r for r in cloud.standin.requests if r.route == "list"]
    assert [r.query["limit"] for r in lists] == [[str(MAX_PAGE_SIZE)]] * 2
    assert ["page" in r.query for r in lists] == [False, True]


def test_a_listing_comes_newest_first_and_each_page_is_asked_for_only_when_the_one_before_is_read(
    cloud: LocalCloud,
) -> None:
    now = datetime.now(UTC)
    seeded = [
        seed(cloud, time_created=now - timedelta(minutes=minutes)) for minutes in range(MAX_PAGE_SIZE + 5)
    ]
    gateway = gateway_for(cloud)

    listing = gateway.iter_backups(BackupKind.BOOT, cloud.principal.compartment_id, HOME, Deadline.after(30))
    first = [next(listing) for _ in range(MAX_PAGE_SIZE)]
    asked_before_the_second_page = len(cloud.standin.requests)
    rest = list(listing)

    assert [b.id for b in first + rest] == seeded
    assert asked_before_the_second_page == 1
    first_page, second_page = cloud.standin.requests
    assert (first_page.query["sortBy"], first_page.query["sortOrder"]) == (["TIMECREATED"], ["DESC"])
    assert (second_page.query["sortBy"], second_page.query["sortOrder"]) == (["TIMECREATED"], ["DESC"])


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_lookup_of_copies_asks_for_the_largest_page(cloud: LocalCloud, kind: str) -> None:
    source_id = seed(cloud, kind)
    gateway = gateway_for(cloud)
    source = gateway.get_backup(KINDS[kind], source_id, HOME, Deadline.after(30))
    cloud.standin.clear_requests()

    gateway.find_copies(source, AWAY, Deadline.after(30))

    [request] = cloud.standin.requests
    assert (request.route, request.query["limit"]) == ("list", [str(MAX_PAGE_SIZE)])


# --- whole-call time --------------------------------------------------------------------------------


def test_a_trickling_answer_fails_within_the_deadline_and_its_client_is_not_reused(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    source_id = seed(cloud)
    gateway = gateway_for(cloud)
    built: list[tuple[str, str]] = []
    new_client = gateway._new_client

    def counting(credentials: Credentials, service: str, region: str) -> Any:
        built.append((service, region))
        return new_client(credentials, service, region)

    monkeypatch.setattr(gateway, "_new_client", counting)
    source = gateway.get_backup(BackupKind.BOOT, source_id, HOME, Deadline.after(30))
    # Headers at once, then a byte every 0.3 s: no read ever waits long enough to time out.
    cloud.standin.set_trickle(0.3, route="copy")
    deadline = Deadline.after(6.0)
    started = time.monotonic()

    with pytest.raises(TransientError, match=f"OCI did not answer in time for copy in {HOME}"):
        gateway.request_copy(source, request_for(source_id), deadline)

    assert time.monotonic() - started < 6.0 + 2.0
    # It gave up as the 4-second reserve began, and started no request within it.
    assert deadline.remaining() > 3.0
    assert [r.route for r in cloud.standin.requests].count("copy") == 1
    # The abandoned request may still be reading through its client: the next call builds another.
    cloud.standin.set_trickle(0.0, route="copy")
    again = gateway.get_backup(BackupKind.BOOT, source_id, HOME, Deadline.after(30))
    assert again.id == source_id
    assert built == [("iaas", HOME), ("iaas", HOME)]


def rpo_points(count: int) -> list[MetricPoint]:
    now = datetime.now(UTC)
    return [
        MetricPoint("rpo_age_hours", 1.5 + index, {"volume": f"v{index}", "destinationRegion": AWAY}, now)
        for index in range(count)
    ]


def test_metrics_go_to_telemetry_ingestion_in_the_functions_compartment_fifty_streams_a_post(
    cloud: LocalCloud,
) -> None:
    gateway = gateway_for(cloud)

    gateway.post_metrics("backup_copy", rpo_points(120), HOME, Deadline.after(30))

    posts = cloud.standin.requests
    assert [(r.method, r.path) for r in posts] == [
        ("POST", f"/{HOME}/telemetry-ingestion/20180401/metrics")
    ] * 3
    assert [len(r.body["metricData"]) for r in posts] == [50, 50, 20]  # type: ignore[index]
    assert all(r.signature_ok and r.body["batchAtomicity"] == "NON_ATOMIC" for r in posts)  # type: ignore[index]
    kept = cloud.standin.metrics(HOME)
    assert len(kept) == 120
    # The resource principal's compartment (its res_compartment claim): no key names it.
    assert {m.compartment_id for m in kept} == {cloud.principal.compartment_id}
    assert (kept[7].name, kept[7].dimensions, kept[7].values) == (
        "rpo_age_hours",
        {"volume": "v7", "destinationRegion": AWAY},
        (8.5,),
    )


def test_metrics_made_as_they_are_posted_send_the_same_posts_a_batch_at_a_time(cloud: LocalCloud) -> None:
    points = rpo_points(120)
    taken: list[int] = []

    def made_as_taken() -> Iterator[MetricPoint]:
        for point in points:
            # How many posts had gone out when this point was made.
            taken.append(len(cloud.standin.requests))
            yield point

    posted = gateway_for(cloud).post_metrics("backup_copy", made_as_taken(), HOME, Deadline.after(30))

    assert posted == 120
    assert [len(r.body["metricData"]) for r in cloud.standin.requests] == [50, 50, 20]  # type: ignore[index]
    # Each batch of fifty is made when the post before it has gone, never all at once.
    assert (taken[0], taken[49], taken[50], taken[99], taken[100], taken[119]) == (0, 0, 1, 1, 2, 2)
    assert [(m.dimensions["volume"], m.values) for m in cloud.standin.metrics(HOME)] == [
        (f"v{index}", (1.5 + index,)) for index in range(120)
    ]


def test_metrics_are_posted_as_the_sdks_own_models_would_send_them(cloud: LocalCloud) -> None:
    first, second = rpo_points(2)
    # The SDK reads a naive time as UTC, and writes every time in UTC.
    points = [first, dataclasses.replace(second, timestamp=second.timestamp.replace(tzinfo=None))]
    compartment = cloud.principal.compartment_id

    gateway_for(cloud).post_metrics("backup_copy", points, HOME, Deadline.after(30))

    [post] = cloud.standin.requests
    models = oci.monitoring.models
    details = models.PostMetricDataDetails(
        metric_data=[
            models.MetricDataDetails(
                namespace="backup_copy",
                compartment_id=compartment,
                name=point.name,
                dimensions=dict(point.dimensions),
                datapoints=[models.Datapoint(timestamp=point.timestamp, value=point.value)],
            )
            for point in points
        ],
        batch_atomicity="NON_ATOMIC",
    )
    client = oci.monitoring.MonitoringClient({}, signer=default_credentials().signer, service_endpoint="x")
    assert post.body == json.loads(json.dumps(client.base_client.sanitize_for_serialization(details)))


def test_a_metric_monitoring_refuses_fails_the_post_with_its_reason(cloud: LocalCloud) -> None:
    good, bad = rpo_points(2)
    bad = dataclasses.replace(bad, dimensions={"volume": ""})

    with pytest.raises(PermanentError) as refused:
        gateway_for(cloud).post_metrics("backup_copy", [good, bad], HOME, Deadline.after(30))

    assert refused.value.reason.startswith(f"Monitoring refused 1 of 2 metric(s) in {HOME}: invalid value")
    assert [m.dimensions for m in cloud.standin.metrics()] == [good.dimensions]


def test_a_refused_post_says_so_without_a_hint_about_backups(cloud: LocalCloud) -> None:
    with pytest.raises(PermanentError) as refused:
        gateway_for(cloud).post_metrics("oci_backup_copy", rpo_points(1), HOME, Deadline.after(30))

    assert "reserved" in refused.value.reason
    assert "DESTINATION_REGIONS" not in refused.value.reason


def test_metrics_outside_oci_functions_have_no_compartment_to_go_to(cloud: LocalCloud) -> None:
    # A signer that names no compartment, as an ~/.oci/config profile's API key signer names none.
    key = oci.signer.load_private_key_from_file(str(cloud.principal.private_key_path))
    profile = Credentials(oci.auth.signers.SecurityTokenSigner(cloud.principal.token, key))

    with pytest.raises(ConfigurationError, match="only its resource principal names"):
        gateway_for(cloud, credentials=lambda: profile).post_metrics(
            "backup_copy", rpo_points(1), HOME, Deadline.after(30)
        )
    assert cloud.standin.requests == []


def test_without_a_template_metrics_go_to_the_regions_ingestion_host_not_telemetry(cloud: LocalCloud) -> None:
    gateway = OciGateway(credentials=default_credentials)

    client = gateway._take_client(METRICS, "eu-frankfurt-1")

    assert (
        client.base_client.endpoint == "https://telemetry-ingestion.eu-frankfurt-1.oraclecloud.com/20180401"
    )


def test_an_event_never_imports_monitoring_which_only_the_sweep_posts_to(cloud: LocalCloud) -> None:
    # Monitoring's SDK modules cost the event path's cold start about 4 ms and serve only the sweep.
    source = cloud.standin.seed_backup(
        kind="boot", region=HOME, compartment_id=cloud.principal.compartment_id, display_name="web-01"
    )
    sample = json.loads((PROJECT / "events" / "boot-volume-backup-end.json").read_bytes())
    event = json.dumps({**sample, "data": {**sample["data"], "resourceId": source}})
    probe = """
import json
import sys
from backup_copy.deadline import Deadline
from backup_copy.handler import handle
from backup_copy.runtime import Runtimes
runtimes = Runtimes()
copied = handle(sys.argv[1].encode(), deadline=Deadline.after(60), runtimes=runtimes)
print(json.loads(copied.body)["status"], "oci.monitoring" in sys.modules)
swept = handle(b'{"action": "sweep"}', deadline=Deadline.after(60), runtimes=runtimes)
print(json.loads(swept.body)["status"], "oci.monitoring" in sys.modules)
"""
    env = {
        **os.environ,
        **cloud.function_env(AWAY, SWEEP_COMPARTMENT_IDS=cloud.principal.compartment_id),
        "PYTHONPATH": str(PROJECT),
    }
    done = subprocess.run(  # noqa: S603  # our own interpreter and probe
        [sys.executable, "-c", probe, event], cwd=PROJECT, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["copied", "False", "already_copied", "True"]
    assert cloud.standin.metrics(HOME)


def test_the_locked_sdk_is_a_release_whose_key_loading_was_read() -> None:
    # Fails when the lock moves the SDK: read FileBasedSessionKeySupplier.refresh in the new release,
    # then list it in KEY_LOADING_READ_FOR (or the platform key is validated again, 28 to 45 ms).
    assert oci.__version__ in KEY_LOADING_READ_FOR


class CountingKeyLoads:
    """oci_gateway.load_trusted_key, counting the keys it loads."""

    def __init__(self) -> None:
        self.loaded = 0

    def __call__(self, filename: str, pass_phrase: bytes | None = None) -> Any:
        self.loaded += 1
        return load_trusted_key(filename, pass_phrase)


@pytest.mark.parametrize(
    ("releases", "key_inline", "trusted"),
    [(KEY_LOADING_READ_FOR, False, 1), (frozenset(), False, 0), (KEY_LOADING_READ_FOR, True, 0)],
    ids=["read-release", "other-release", "key-inline"],
)
def test_the_platform_key_skips_the_rsa_check_only_where_the_sdk_was_read_and_signs_either_way(
    cloud: LocalCloud,
    monkeypatch: pytest.MonkeyPatch,
    releases: frozenset[str],
    key_inline: bool,
    trusted: int,
) -> None:
    loads = CountingKeyLoads()
    monkeypatch.setattr("backup_copy.oci_gateway.load_trusted_key", loads)
    monkeypatch.setattr("backup_copy.oci_gateway.KEY_LOADING_READ_FOR", releases)
    if key_inline:
        # RP 2.2 also takes the PEM itself in the variable; the SDK then loads it its own way.
        monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", cloud.principal.private_key_path.read_text())
    sdk_loader = oci.signer.load_private_key_from_file
    source_id = seed(cloud)

    gateway = gateway_for(cloud, credentials=default_credentials)
    source = gateway.get_backup(BackupKind.BOOT, source_id, HOME, Deadline.after(30))

    assert source.id == source_id
    assert [request.signature_ok for request in cloud.standin.requests] == [True]
    assert loads.loaded == trusted
    assert oci.signer.load_private_key_from_file is sdk_loader


# --- a listing's backups, read as the SDK reads them -----------------------------------------

# Each listed model, by the kind it lists.
LISTED = {"boot": "BootVolumeBackup", "volume": "VolumeBackup", "volume_group": "VolumeGroupBackup"}
WHEN = st.sampled_from(
    [
        "2026-11-28T10:31:50.463039Z",
        "2026-11-28T10:31:50.4Z",
        "2026-11-28T10:31:50Z",
        "2026-11-28T10:31:50.463039+00:00",
        "2026-11-28T10:31:50.1234567Z",
        "2026-11-28T24:31:50.463Z",
        "2026-11-28",
        "yesterday",
    ]
)
TEXT = st.text(st.sampled_from(["a", "é", "🙂", '"', "\\", "\x01", "-"]), max_size=8)
ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


def values_of(swagger_type: str) -> st.SearchStrategy[Any]:
    """Values of a field: mostly of its type (known and unknown enum values among the strings),
    sometimes of any other."""
    typed: st.SearchStrategy[Any] = {
        "str": TEXT | st.sampled_from(["AVAILABLE", "FAULTY", "TERMINATED", "SCHEDULED", "DELETED"]),
        "int": st.integers() | st.sampled_from(["7", "x", 2.5]),
        "bool": st.booleans() | st.sampled_from(["false", 0]),
        "datetime": WHEN,
        "dict(str, str)": st.dictionaries(TEXT, TEXT | st.none(), max_size=3),
        "dict(str, dict(str, object))": st.dictionaries(
            TEXT, st.dictionaries(TEXT, ANY, max_size=2), max_size=2
        ),
        "list[str]": st.lists(TEXT | st.none(), max_size=3),
        "RetentionDuration": st.fixed_dictionaries(
            {}, optional={"timeAmount": st.integers(0, 9), "timeUnit": st.sampled_from(["DAYS", "EONS"])}
        ),
    }.get(swagger_type, ANY)
    return st.one_of(typed, typed, st.none(), ANY)


@st.composite
def listing(draw: st.DrawFn) -> tuple[str, bytes]:
    """A listing's model and a body of a few backups, each with any of the model's fields."""
    model = draw(st.sampled_from(sorted(LISTED.values())))
    prototype = getattr(oci.core.models, model)()
    fields = {
        prototype.attribute_map[attr]: values_of(kind) for attr, kind in prototype.swagger_types.items()
    }
    items = draw(st.lists(st.fixed_dictionaries({}, optional=fields), max_size=3))
    return model, json.dumps(items).encode()


def read_by(client: Any, body: bytes, model: str) -> object:
    """What the client's deserialiser makes of a listing's body: the models, or the error it raised."""
    try:
        return client.base_client.deserialize_response_data(body, f"list[{model}]")
    except Exception as exc:
        return (type(exc), str(exc))


@functools.cache
def clients() -> tuple[Any, Any]:
    """The gateway's Block Storage client, and the SDK's own, unchanged (no request is ever sent)."""
    signer = oci.auth.signers.SecurityTokenSigner("unused", rsa.generate_private_key(65537, 2048))
    gateway = OciGateway(
        endpoint_template="http://127.0.0.1:9/{region}/{service}", credentials=lambda: Credentials(signer)
    )
    sdk = oci.core.BlockstorageClient({}, signer=signer, service_endpoint="http://127.0.0.1:9")
    return gateway._take_client("iaas", AWAY), sdk


@settings(max_examples=400, deadline=None)
@given(listing())
def test_a_listing_is_read_to_the_very_models_the_sdk_makes_or_fails_as_it_fails(
    case: tuple[str, bytes],
) -> None:
    model, body = case
    ours, sdks = clients()
    assert read_by(ours, body, model) == read_by(sdks, body, model)


def test_a_listing_of_backups_is_read_without_the_sdks_own_deserialiser(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    for kind in KINDS:
        seed(cloud, kind, lifecycle_state="FAULTY")
    read_by_sdk: list[str] = []
    original = oci.base_client.BaseClient.deserialize_response_data

    def recording(self: Any, data: bytes, response_type: str, *rest: Any) -> Any:
        read_by_sdk.append(response_type)
        return original(self, data, response_type, *rest)

    monkeypatch.setattr(oci.base_client.BaseClient, "deserialize_response_data", recording)
    gateway = gateway_for(cloud)
    listed = {
        kind: list(
            gateway.iter_backups(KINDS[kind], cloud.principal.compartment_id, HOME, Deadline.after(30))
        )
        for kind in KINDS
    }

    assert {kind: [b.lifecycle_state for b in backups] for kind, backups in listed.items()} == {
        kind: ["FAULTY"] for kind in KINDS
    }
    assert [kind for kind in read_by_sdk if kind.startswith("list[")] == []


def test_two_signers_built_at_once_leave_the_sdks_own_key_loader_in_place(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The second build is started from inside the first one's key load, and its own key load waits
    # until the first build is over: without one swap at a time, the second would restore the first
    # one's swap after the first had restored the SDK's loader, leaving the trusted one in place.
    sdk_loader = oci.signer.load_private_key_from_file
    second_loading, first_built = threading.Event(), threading.Event()
    builds: list[threading.Thread] = []

    def loader(filename: str, pass_phrase: bytes | None = None) -> Any:
        if not builds:
            builds.append(threading.Thread(target=default_credentials))
            builds[0].start()
            # Under the swap's lock the second build cannot reach its key load meanwhile.
            second_loading.wait(timeout=0.5)
        else:
            second_loading.set()
            first_built.wait(timeout=10)
        return load_trusted_key(filename, pass_phrase)

    monkeypatch.setattr("backup_copy.oci_gateway.load_trusted_key", loader)

    default_credentials()
    first_built.set()
    builds[0].join(timeout=10)

    assert not builds[0].is_alive()
    assert second_loading.is_set()
    assert oci.signer.load_private_key_from_file is sdk_loader
