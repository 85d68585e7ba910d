"""The stand-in accepts what the SDK's resource-principal signer sends, and nothing else."""

import json
import urllib.request
from pathlib import Path
from typing import Any
from urllib.error import HTTPError

import oci
import pytest

from devkit.standin import ResourcePrincipal, StandIn, make_resource_principal

from .support import AWAY, HOME, ClientFactory, SeedFactory


class BodyTamperingSigner(oci.auth.signers.SecurityTokenSigner):  # type: ignore[misc]
    """Signs like the SDK, then changes the body as a man in the middle would."""

    def __init__(self, principal: ResourcePrincipal) -> None:
        key = oci.signer.load_private_key_from_file(str(principal.private_key_path))
        super().__init__(principal.token, key)

    def __call__(self, request: Any, enforce_content_headers: bool = True) -> Any:
        signed = super().__call__(request, enforce_content_headers)
        body = signed.body.encode() if isinstance(signed.body, str) else signed.body
        signed.body = body.replace(b"daily", b"DAILY")
        return signed


def test_request_signed_by_the_resource_principal_is_verified(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory
) -> None:
    backup_id = seed()

    make_client().get_boot_volume_backup(backup_id)

    (request,) = standin.requests
    assert request.signature_ok
    assert request.headers["authorization"].startswith('Signature algorithm="rsa-sha256"')


def test_request_signed_with_another_key_is_refused(
    standin: StandIn,
    make_client: ClientFactory,
    seed: SeedFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backup_id = seed()
    impostor = make_resource_principal(tmp_path, region=HOME)
    for name, value in impostor.env.items():
        monkeypatch.setenv(name, value)
    details = oci.core.models.CopyBootVolumeBackupDetails(destination_region=AWAY)

    with pytest.raises(oci.exceptions.ServiceError) as refused:
        make_client().copy_boot_volume_backup(backup_id, details)

    assert (refused.value.status, refused.value.code) == (401, "NotAuthenticated")
    # The SDK's resource-principal client reloads its token after a 401 and tries once more.
    assert [(r.route, r.status, r.signature_ok) for r in standin.requests] == [
        ("copy", 401, False),
        ("copy", 401, False),
    ]
    assert standin.backups(AWAY) == []


def test_body_altered_after_signing_is_refused(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, principal: ResourcePrincipal
) -> None:
    backup_id = seed()
    client = make_client(signer=BodyTamperingSigner(principal))
    details = oci.core.models.UpdateBootVolumeBackupDetails(display_name="web-01 daily copy")

    with pytest.raises(oci.exceptions.ServiceError) as refused:
        client.update_boot_volume_backup(backup_id, details)

    assert refused.value.status == 401
    (request,) = standin.requests
    assert request.body == {"displayName": "web-01 DAILY copy"}
    assert "x-content-sha256" in request.signature_problem
    assert standin.backup(backup_id).display_name == "web-01 daily"


def test_expired_session_token_is_refused(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, tmp_path: Path
) -> None:
    backup_id = seed()
    expired = make_resource_principal(tmp_path, region=HOME, lifetime_seconds=-60)
    key = oci.signer.load_private_key_from_file(str(expired.private_key_path))
    signer = oci.auth.signers.SecurityTokenSigner(expired.token, key)
    with StandIn([HOME], expired.public_key_pem) as other:
        client = oci.core.BlockstorageClient(
            {"region": HOME},
            signer=signer,
            service_endpoint=other.endpoint(HOME, "iaas"),
            circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
        )
        try:
            with pytest.raises(oci.exceptions.ServiceError) as refused:
                client.get_boot_volume_backup(backup_id)
        finally:
            client.base_client.session.close()
        (request,) = other.requests

    assert refused.value.status == 401
    assert request.signature_problem == "the session token has expired"


def test_unsigned_request_gets_an_oci_error_body(standin: StandIn) -> None:
    url = standin.endpoint(HOME, "iaas") + "/20160918/bootVolumeBackups?compartmentId=x"

    with pytest.raises(HTTPError) as refused, urllib.request.urlopen(url):  # noqa: S310
        pass

    with refused.value as answer:
        body = json.loads(answer.read())
        assert answer.status == 401
        assert answer.headers["opc-request-id"]
    assert body["code"] == "NotAuthenticated"
    assert body["message"]
