"""The SDK's own serialiser and deserialiser, so the stand-in speaks exactly the SDK's wire format."""

import json
from functools import cache
from typing import Any, cast

import oci
from cryptography.hazmat.primitives.asymmetric import rsa


@cache
def _sdk_client() -> Any:
    # BaseClient insists on a usable signer; a token signer over a throwaway key satisfies it and is
    # never used, since this client sends nothing.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = oci.auth.signers.SecurityTokenSigner("standin.unused.token", key)
    mappings = {
        **oci.core.models.core_type_mapping,
        **oci.ons.models.ons_type_mapping,
        **oci.monitoring.models.monitoring_type_mapping,
    }
    return oci.base_client.BaseClient(
        "oci-standin", {}, signer, mappings, service_endpoint="http://127.0.0.1"
    )


def to_json(model: object) -> bytes:
    """An SDK model (or a list of them) as the camelCase JSON the service sends."""
    return json.dumps(_sdk_client().sanitize_for_serialization(model)).encode()


def from_json(data: bytes, type_name: str) -> Any:
    """A request body parsed into the SDK model `type_name`; ValueError unless it is a JSON object."""
    try:
        parsed = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"the body is not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise ValueError("the body is not a JSON object")
    return _sdk_client().deserialize_response_data(data, type_name)


def parse_json(data: bytes) -> object:
    """The body as plain JSON for the request log, or None when it is empty or not JSON."""
    if not data:
        return None
    try:
        return cast(object, json.loads(data))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
