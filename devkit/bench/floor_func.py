"""The floor: an fdk function that makes only the bare SDK calls, for `make bench` to compare against.

FLOOR_REQUESTS=floor (cold start): signer, two clients, get, copy, publish.
FLOOR_REQUESTS=same (warm): the requests backup_copy makes for one destination (get, list, copy,
update, publish), so the difference is the function's own time per event.
"""

from __future__ import annotations

import io
import json
import logging
import os
from typing import Any

import oci
from fdk import response

_clients: dict[str, Any] = {}
# As backup_copy does: `import fdk` sets the root logger to DEBUG, and the SDK's debug lines cost time.
for _name in ("oci", "urllib3"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def _client(kind: str, region: str) -> Any:
    key = f"{kind} {region}"
    if key not in _clients:
        if "signer" not in _clients:
            _clients["signer"] = oci.auth.signers.get_resource_principals_signer()
        service = "iaas" if kind == "blockstorage" else "notification"
        endpoint = os.environ["OCI_ENDPOINT_TEMPLATE"].format(region=region, service=service)
        client_class = (
            oci.core.BlockstorageClient if kind == "blockstorage" else oci.ons.NotificationDataPlaneClient
        )
        # As backup_copy builds its clients: no circuit breaker, so both sides send the same requests.
        _clients[key] = client_class(
            {"region": region},
            signer=_clients["signer"],
            service_endpoint=endpoint,
            circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
        )
    return _clients[key]


def handler(ctx: Any, data: io.BytesIO | None = None) -> response.Response:
    """Copy the event's boot volume backup to DESTINATION_REGIONS and publish its id."""
    event = json.loads(data.getvalue() if data else b"{}")
    backup_id = event["data"]["resourceId"]
    home = os.environ["OCI_RESOURCE_PRINCIPAL_REGION"]
    destination = os.environ["DESTINATION_REGIONS"]
    same = os.environ.get("FLOOR_REQUESTS") == "same"
    source = _client("blockstorage", home).get_boot_volume_backup(backup_id).data
    if same:
        _client("blockstorage", destination).list_boot_volume_backups(
            source.compartment_id, source_boot_volume_backup_id=backup_id
        )
    copy = (
        _client("blockstorage", home)
        .copy_boot_volume_backup(
            backup_id,
            oci.core.models.CopyBootVolumeBackupDetails(
                destination_region=destination, display_name=f"{source.display_name} (copy)"
            ),
            opc_retry_token=backup_id[-40:],
        )
        .data
    )
    if same:
        _client("blockstorage", destination).update_boot_volume_backup(
            copy.id, oci.core.models.UpdateBootVolumeBackupDetails(freeform_tags=source.freeform_tags)
        )
    _client("notification", home).publish_message(
        os.environ["NOTIFICATION_TOPIC_ID"],
        oci.ons.models.MessageDetails(title="Backup copied", body=json.dumps({"newBackupIds": [copy.id]})),
    )
    return response.Response(
        ctx,
        response_data=json.dumps({"status": "copied", "copies": [{"id": copy.id}]}),
        headers={"Content-Type": "application/json"},
    )
