"""Resource-principal credentials for local runs: the files and variables OCI Functions provides."""

import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from devkit.standin.ocids import make_ocid

RP_VERSION = "2.2"


@dataclass(frozen=True)
class ResourcePrincipal:
    """What `get_resource_principals_signer()` reads (as `env`) and what the stand-in checks."""

    region: str
    private_key_path: Path
    token_path: Path
    token: str
    public_key_pem: str
    tenancy_id: str
    compartment_id: str

    @property
    def env(self) -> dict[str, str]:
        """The OCI_RESOURCE_PRINCIPAL_* variables, with file paths as the platform sets them."""
        return {
            "OCI_RESOURCE_PRINCIPAL_VERSION": RP_VERSION,
            "OCI_RESOURCE_PRINCIPAL_RPST": str(self.token_path),
            "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": str(self.private_key_path),
            "OCI_RESOURCE_PRINCIPAL_REGION": self.region,
        }


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_session_token(
    private_key: rsa.RSAPrivateKey,
    tenancy_id: str,
    compartment_id: str,
    lifetime_seconds: float,
    now: float | None = None,
) -> str:
    """A three-part RS256 JWT carrying the claims the SDK reads (res_tenant, res_compartment, exp)."""
    issued = int(time.time() if now is None else now)
    header = {"alg": "RS256", "typ": "JWT", "kid": "oci-standin"}
    claims = {
        "iss": "authService.oracle.com",
        "sub": make_ocid("fnfunc", None),
        "ttype": "res",
        "res_type": "resource",
        "res_tenant": tenancy_id,
        "res_compartment": compartment_id,
        "iat": issued,
        "exp": issued + int(lifetime_seconds),
    }
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


def make_resource_principal(
    directory: Path | str,
    region: str = "us-phoenix-1",
    *,
    tenancy_id: str | None = None,
    compartment_id: str | None = None,
    lifetime_seconds: float = 24 * 3600,
) -> ResourcePrincipal:
    """Generate an RSA key and a session token into `directory` (created if missing)."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    tenancy = tenancy_id or make_ocid("tenancy", None)
    compartment = compartment_id or make_ocid("compartment", None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = make_session_token(key, tenancy, compartment, lifetime_seconds)

    key_path = folder / "rp_private_key.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    token_path = folder / "rpst"
    token_path.write_text(token)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # The SDK decides between "file path" and "literal value" with os.path.isabs: keep paths absolute.
    return ResourcePrincipal(
        region=region,
        private_key_path=key_path.resolve(),
        token_path=token_path.resolve(),
        token=token,
        public_key_pem=public_pem.decode("ascii"),
        tenancy_id=tenancy,
        compartment_id=compartment,
    )
