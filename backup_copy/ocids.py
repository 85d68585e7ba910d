"""OCIDs: the strict shape this function accepts, and the region each one lives in."""

from __future__ import annotations

import re
from dataclasses import dataclass

from backup_copy.regions import region_identifier

# ocid1.<resource type>.<realm>.<region>[.<future use>].<unique id>. Lower-case letters, digits and
# the region's hyphens only: nothing that could change a request path (no "/", "?", "%", spaces or
# control characters), since OCIDs end up in URLs.
_OCID = re.compile(
    r"ocid1\.(?P<type>[a-z0-9]+)\.(?P<realm>oc[0-9]{1,3})\.(?P<region>[a-z0-9-]{0,40})"
    r"(?:\.[a-z0-9]{1,40})?\.(?P<unique>[a-z0-9]{10,200})"
)
MAX_OCID_LENGTH = 255
# Compartments and the tenancy (the root compartment) are realm-wide: their region segment is empty.
COMPARTMENT = re.compile(r"ocid1\.(?:compartment|tenancy)\.oc[0-9]{1,3}\.[a-z0-9-]{0,40}\.[a-z0-9]{10,200}")


@dataclass(frozen=True)
class Ocid:
    """A parsed OCID whose region segment names a region OCI knows."""

    value: str
    resource_type: str
    realm: str
    region: str


def parse_ocid(value: str, *, resource_type: str) -> Ocid:
    """Parse an OCID of the given resource type; ValueError says what is wrong with it."""
    if len(value) > MAX_OCID_LENGTH:
        raise ValueError(f"an OCID has at most {MAX_OCID_LENGTH} characters")
    match = _OCID.fullmatch(value)
    if match is None:
        raise ValueError(f"not a well-formed OCID (expected ocid1.{resource_type}.<realm>.<region>.<id>)")
    if match["type"] != resource_type:
        raise ValueError(f"expected an OCID of type {resource_type}, got type {match['type']}")
    region = region_identifier(match["region"])
    if region is None:
        raise ValueError(f"unknown region key {match['region']!r} in the OCID")
    return Ocid(value=value, resource_type=match["type"], realm=match["realm"], region=region)
