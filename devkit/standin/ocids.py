"""OCIDs shaped like OCI's: ocid1.<type>.oc1.<region key>.<60 lowercase base32 characters>."""

import base64
import secrets

import oci


def _region_keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for short, full in oci.regions.REGIONS_SHORT_NAMES.items():
        keys.setdefault(str(full), str(short))
    return keys


_REGION_KEYS = _region_keys()


def region_key(region: str) -> str:
    """The short key OCIDs carry for a region (phx), or the full name when the SDK knows none."""
    return _REGION_KEYS.get(region, region)


def make_ocid(resource_type: str, region: str | None = None) -> str:
    """A new random OCID; region None gives the tenancy-wide form (ocid1.compartment.oc1..xxx)."""
    # Base32 of random bytes is the OCID alphabet (a-z, 2-7), each character 5 random bits; one call
    # per OCID, not sixty, so seeding a large estate takes moments.
    unique = base64.b32encode(secrets.token_bytes(40)).decode("ascii").lower()[:60]
    return f"ocid1.{resource_type}.oc1.{region_key(region) if region else ''}.{unique}"
