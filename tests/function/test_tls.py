"""The function under the real fdk copies a backup over HTTPS, trusting the CA through REQUESTS_CA_BUNDLE."""

from __future__ import annotations

import json
from pathlib import Path

from devkit.fdk_process import FdkProcess
from devkit.local import local_cloud
from tests.events import event_bytes, event_json

BOOT_EVENT = "boot-volume-backup-end.json"
AWAY = "us-ashburn-1"


def test_a_backup_is_copied_over_https_on_one_connection_per_client(tmp_path: Path) -> None:
    with local_cloud(tmp_path, tls=True) as cloud:
        endpoints = cloud.function_env(AWAY)["OCI_ENDPOINT_TEMPLATE"]
        source = cloud.seed_from_event(event_json(BOOT_EVENT))
        with FdkProcess(cloud.function_env(AWAY)) as function:
            answer = function.invoke(event_bytes(BOOT_EVENT))
            connections = cloud.standin.connections_accepted
        [copy] = cloud.standin.backups(AWAY)
        requests = cloud.standin.requests
        [notice] = cloud.standin.messages(cloud.topic_id)

    assert endpoints.startswith("https://127.0.0.1:")
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
