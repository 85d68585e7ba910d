"""Checks OCI request signatures (draft-cavage HTTP signatures, as oci.signer produces them).

The SDK's resource-principal signer (a SecurityTokenSigner) signs, in this order,
`date (request-target) host` on every request, and adds `content-length content-type
x-content-sha256` on POST, PUT and PATCH. `(request-target)` is `<method lower> <path?query>` exactly
as sent; keyId is `ST$<session token>`.
"""

import base64
import binascii
import hashlib
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

_PARAM = re.compile(r'(\w+)="([^"]*)"')
_GENERIC_HEADERS = ("date", "(request-target)", "host")
_BODY_HEADERS = ("content-length", "content-type", "x-content-sha256")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# OCI refuses a request whose date is more than five minutes off.
_MAX_CLOCK_SKEW_SECONDS = 300


@dataclass(frozen=True)
class SignatureCheck:
    """The verdict on one request: ok, or why not."""

    ok: bool
    reason: str = ""


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """An RSA public key from PEM text."""
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise TypeError("the resource principal key must be RSA")
    return key


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _rsa_sha256_ok(key: rsa.RSAPublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _check_token(token: str, key: rsa.RSAPublicKey, now: float) -> str:
    parts = token.split(".")
    if len(parts) != 3:
        return "the keyId token is not a three-part JWT"
    try:
        claims = json.loads(_b64url_decode(parts[1]))
        token_signature = _b64url_decode(parts[2])
    except (ValueError, binascii.Error):
        return "the keyId token does not decode"
    # Here the resource principal's own key signs its token; OCI's auth service would sign it.
    if not _rsa_sha256_ok(key, token_signature, f"{parts[0]}.{parts[1]}".encode("ascii")):
        return "the keyId token's signature does not verify"
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if not isinstance(exp, int | float) or exp < now:
        return "the session token has expired"
    return ""


@dataclass(frozen=True)
class SignedRequest:
    """What a signature covers: `headers` has lower-case names, `target` is the raw path and query."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes


class _Refused(Exception):
    pass


def _signature_params(headers: Mapping[str, str]) -> dict[str, str]:
    scheme, _, rest = headers.get("authorization", "").partition(" ")
    if scheme != "Signature":
        raise _Refused("no Signature authorization header")
    params = dict(_PARAM.findall(rest))
    if params.get("version") != "1" or params.get("algorithm") != "rsa-sha256":
        raise _Refused("unsupported signature version or algorithm")
    if not params.get("keyId", "").startswith("ST$"):
        raise _Refused("keyId is not a security token (ST$...)")
    return params


def _signing_string(request: SignedRequest, signed: list[str]) -> bytes:
    required = _GENERIC_HEADERS + (_BODY_HEADERS if request.method in _BODY_METHODS else ())
    missing = [name for name in required if name not in signed]
    if missing:
        raise _Refused(f"headers not signed: {' '.join(missing)}")
    lines = []
    for name in signed:
        if name == "(request-target)":
            lines.append(f"(request-target): {request.method.lower()} {request.target}")
        elif name in request.headers:
            lines.append(f"{name}: {request.headers[name]}")
        else:
            raise _Refused(f"signed header {name} is absent")
    try:
        return "\n".join(lines).encode("ascii")
    except UnicodeEncodeError as exc:
        raise _Refused("a signed header is not ASCII") from exc


def _check_date(headers: Mapping[str, str], now: float) -> None:
    try:
        skew = abs(parsedate_to_datetime(headers["date"]).timestamp() - now)
    except (TypeError, ValueError) as exc:
        raise _Refused("the date header does not parse") from exc
    if skew > _MAX_CLOCK_SKEW_SECONDS:
        raise _Refused("the date header is more than five minutes off")


def _check_body(request: SignedRequest) -> None:
    digest = base64.b64encode(hashlib.sha256(request.body).digest()).decode("ascii")
    if request.headers.get("x-content-sha256") != digest:
        raise _Refused("x-content-sha256 does not match the body")
    if request.headers.get("content-length") != str(len(request.body)):
        raise _Refused("content-length does not match the body")


def verify_request(key: rsa.RSAPublicKey, request: SignedRequest, now: float | None = None) -> SignatureCheck:
    """Verify one request's signature, session token, date and body digest."""
    wall_clock = time.time() if now is None else now
    try:
        params = _signature_params(request.headers)
        token_problem = _check_token(params["keyId"][3:], key, wall_clock)
        if token_problem:
            raise _Refused(token_problem)
        signing_string = _signing_string(request, params.get("headers", "").split())
        try:
            signature = base64.b64decode(params.get("signature", ""), validate=True)
        except binascii.Error as exc:
            raise _Refused("the signature is not base64") from exc
        if not _rsa_sha256_ok(key, signature, signing_string):
            raise _Refused("the signature does not verify")
        _check_date(request.headers, wall_clock)
        if request.method in _BODY_METHODS:
            _check_body(request)
    except _Refused as refused:
        return SignatureCheck(False, str(refused))
    return SignatureCheck(True)
