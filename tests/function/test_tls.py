"""The function under the real fdk copies a backup over HTTPS, trusting the CA through REQUESTS_CA_BUNDLE."""

from __future__ import annotations

import json
from pathlib import Path

import certifi
import pytest

from devkit.fdk_process import FdkProcess
from devkit.local import local_cloud
from image.ca_directory import make_ca_directory
from tests.events import event_bytes, event_json

BOOT_EVENT = "boot-volume-backup-end.json"
AWAY = "us-ashburn-1"
# Enough for the function to retry an unreachable OCI a few times and still answer before its deadline.
SHORT = 5.0


@pytest.mark.parametrize("trust", ["directory", "file"])
def test_a_backup_is_copied_over_https_on_one_connection_per_client(tmp_path: Path, trust: str) -> None:
    with local_cloud(tmp_path, tls=True) as cloud:
        # The image names a hashed directory (as the stand-in's default does); a file works the same.
        trusted = cloud.standin.ca_directory if trust == "directory" else cloud.standin.ca_bundle
        assert trusted is not None
        env = cloud.function_env(AWAY, REQUESTS_CA_BUNDLE=str(trusted))
        source = cloud.seed_from_event(event_json(BOOT_EVENT))
        with FdkProcess(env) as function:
            answer = function.invoke(event_bytes(BOOT_EVENT))
            connections = cloud.standin.connections_accepted
        [copy] = cloud.standin.backups(AWAY)
        requests = cloud.standin.requests
        [notice] = cloud.standin.messages(cloud.topic_id)

    assert env["OCI_ENDPOINT_TEMPLATE"].startswith("https://127.0.0.1:")
    assert trusted.is_dir() if trust == "directory" else trusted.is_file()
    assert cloud.trust_env == {"REQUESTS_CA_BUNDLE": str(cloud.standin.ca_directory)}
    assert answer.status == 200
    assert json.loads(answer.body)["status"] == "copied"
    assert copy.source_backup_id == source
    assert json.loads(notice.body)["newBackupIds"] == [copy.id]
    assert all(r.signature_ok for r in requests)
    # One client per region and service (Block Storage in the source and the destination, and
    # Notifications), each keeping its connection for all its requests.
    clients = {(r.region, r.service) for r in requests}
    assert len(requests) > len(clients)
    assert connections == len(clients)


def test_a_ca_directory_without_the_servers_ca_fails_the_event_loudly(tmp_path: Path) -> None:
    # What the image ships: certifi's certificates, hashed; the stand-in's throwaway CA is not among them.
    certifi_only = tmp_path / "certifi-only"
    make_ca_directory(Path(certifi.where()), certifi_only)
    with local_cloud(tmp_path, tls=True) as cloud:
        cloud.seed_from_event(event_json(BOOT_EVENT))
        env = cloud.function_env(AWAY, REQUESTS_CA_BUNDLE=str(certifi_only))
        with FdkProcess(env) as function:
            answer = function.invoke(event_bytes(BOOT_EVENT), timeout=SHORT)
            logs = [json.loads(line) for line in function.logs().splitlines() if line.startswith("{")]
        connections = cloud.standin.connections_accepted
        copies = cloud.standin.backups(AWAY)
        requests = cloud.standin.requests
        notices = cloud.standin.messages(cloud.topic_id)

    body = json.loads(answer.body)
    assert (answer.status, body["status"]) == (502, "failed")
    # Said as what it is, with where the trust comes from, and not retried: no retry would help.
    assert body["reason"] == (
        "the TLS certificate of the endpoint for get in us-phoenix-1 was rejected (unable to get local "
        f"issuer certificate): the function trusts the CAs in REQUESTS_CA_BUNDLE ({certifi_only}); behind "
        "a TLS-inspecting proxy, that file or hashed directory must hold the proxy's CA too"
    )
    errors = {line["message"]: line for line in logs if line["level"] == "ERROR"}
    assert errors["backup failed"]["reason"] == body["reason"]
    assert "was rejected (unable to get local issuer certificate)" in errors["notice not published"]["reason"]
    # One connection for the read, one for the notice, neither retried, and no request got past its
    # handshake: the directory is all the function trusts.
    assert connections == 2
    assert (copies, requests, notices) == ([], [], [])
