"""The stand-in in a child process of its own: the real SDK reaches it, and the caller sets it up."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oci
import pytest

from devkit.local import LocalCloudApart, local_cloud_apart
from devkit.standin import ResourcePrincipal
from devkit.standin.process import StandInProcess

from .support import AWAY, HOME


@pytest.fixture
def apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalCloudApart]:
    """A stand-in over HTTPS in its own process, and this process's environment as the function's."""
    with local_cloud_apart(tmp_path, copy_limits=False, tls=True) as running:
        for name, value in running.function_env(AWAY).items():
            monkeypatch.setenv(name, value)
        yield running


def _client(kind: str, region: str) -> Any:
    """A client built as the function builds it: the resource principal and the endpoint template."""
    service = "iaas" if kind == "blockstorage" else "notification"
    client_class = (
        oci.core.BlockstorageClient if kind == "blockstorage" else oci.ons.NotificationDataPlaneClient
    )
    return client_class(
        {"region": region},
        signer=oci.auth.signers.get_resource_principals_signer(),
        service_endpoint=os.environ["OCI_ENDPOINT_TEMPLATE"].format(region=region, service=service),
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
        retry_strategy=oci.retry.NoneRetryStrategy(),
    )


def _seed(cloud: LocalCloudApart) -> str:
    return cloud.standin.seed_backup(
        kind="boot", region=HOME, compartment_id=cloud.principal.compartment_id, display_name="web-01 daily"
    )


def test_the_sdk_copies_and_publishes_through_a_standin_in_a_process_of_its_own(
    apart: LocalCloudApart,
) -> None:
    backup_id = _seed(apart)
    storage, notices = _client("blockstorage", HOME), _client("notification", HOME)
    try:
        source = storage.get_boot_volume_backup(backup_id).data
        copy = storage.copy_boot_volume_backup(
            backup_id,
            oci.core.models.CopyBootVolumeBackupDetails(destination_region=AWAY, display_name="copy"),
        ).data
        notices.publish_message(
            os.environ["NOTIFICATION_TOPIC_ID"],
            oci.ons.models.MessageDetails(title="Backup copied", body=json.dumps({"id": copy.id})),
        )
    finally:
        storage.base_client.session.close()
        notices.base_client.session.close()

    assert apart.standin.pid != os.getpid()
    assert apart.standin.base_url.startswith("https://127.0.0.1:")
    assert source.display_name == "web-01 daily"
    assert [b.id for b in apart.standin.backups(AWAY)] == [copy.id]
    assert apart.standin.backup(copy.id).source_backup_id == backup_id
    assert [m.title for m in apart.standin.messages(apart.topic_id)] == ["Backup copied"]
    assert [(r.route, r.signature_ok) for r in apart.standin.requests] == [
        ("get", True),
        ("copy", True),
        ("publish", True),
    ]
    # One kept-alive connection per client, each a TLS handshake.
    assert apart.standin.connections_accepted == 2


def test_latency_set_by_the_caller_delays_the_answers_of_the_child(apart: LocalCloudApart) -> None:
    backup_id = _seed(apart)
    apart.standin.set_latency(0.3)
    storage = _client("blockstorage", HOME)
    try:
        began = time.perf_counter()
        storage.get_boot_volume_backup(backup_id)
        waited = time.perf_counter() - began
    finally:
        storage.base_client.session.close()

    assert waited >= 0.3


def test_forgotten_requests_are_no_longer_listed(apart: LocalCloudApart) -> None:
    storage = _client("blockstorage", HOME)
    try:
        storage.get_boot_volume_backup(_seed(apart))
    finally:
        storage.base_client.session.close()
    assert len(apart.standin.requests) == 1

    apart.standin.clear_requests()

    assert apart.standin.requests == []


def test_an_error_raised_in_the_child_is_raised_in_the_caller(apart: LocalCloudApart) -> None:
    with pytest.raises(KeyError, match="no-such-backup"):
        apart.standin.backup("no-such-backup")


def test_the_child_runs_on_the_cpus_given_and_is_gone_once_stopped(principal: ResourcePrincipal) -> None:
    cpu = min(os.sched_getaffinity(0))
    with StandInProcess([HOME], principal.public_key_pem, cpus={cpu}) as standin:
        pid = standin.pid
        assert os.sched_getaffinity(pid) == {cpu}

    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(RuntimeError, match="not running"):
        _ = standin.regions
