"""A local cloud for one run: credentials, a running stand-in, a topic, and the function's env.

`local_cloud` runs the stand-in on threads in this process; `local_cloud_apart` runs it in a child
process of its own (devkit/standin/process.py), as the bench does, so it shares no interpreter, and
if asked no CPU, with the caller.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import oci

from devkit.standin.credentials import ResourcePrincipal, make_resource_principal
from devkit.standin.process import StandInProcess
from devkit.standin.server import StandIn
from devkit.standin.state import SPECS

HOME = "us-phoenix-1"
REGIONS = (HOME, "us-ashburn-1", "eu-frankfurt-1")
# The kind of backup an OCID's resource type names, as the stand-in makes them.
_KINDS = {spec.ocid_type: kind for kind, spec in SPECS.items()}

S = TypeVar("S", StandIn, StandInProcess)


@dataclass(frozen=True)
class _Cloud(Generic[S]):
    """The stand-in, the resource principal the function signs with, and the topic for notices."""

    standin: S
    principal: ResourcePrincipal
    topic_id: str

    @property
    def trust_env(self) -> dict[str, str]:
        """What makes the SDK trust an HTTPS stand-in's throwaway CA; empty for plain HTTP.

        REQUESTS_CA_BUNDLE: the SDK's vendored requests reads it for every request its sessions send
        (Session.merge_environment_settings, trust_env on by default), so no setting of the
        function's own is needed. It names the hashed directory, as the image's does; the bundle
        file of the same certificates (`standin.ca_bundle`) works too, given as
        `function_env(..., REQUESTS_CA_BUNDLE=...)`.
        """
        directory = self.standin.ca_directory
        return {} if directory is None else {"REQUESTS_CA_BUNDLE": str(directory)}

    def function_env(self, destinations: str = "us-ashburn-1", **config: str) -> dict[str, str]:
        """The environment OCI Functions would give the function, pointed at the stand-in."""
        return {
            **self.principal.env,
            **self.trust_env,
            "OCI_ENDPOINT_TEMPLATE": self.standin.endpoint_template,
            "NOTIFICATION_TOPIC_ID": self.topic_id,
            "DESTINATION_REGIONS": destinations,
            **config,
        }

    def seed_from_event(self, event: Mapping[str, Any], **overrides: Any) -> str | None:
        """Put the event's backup in its region, as OCI would have it; None if it names none."""
        data = event.get("data")
        resource_id = data.get("resourceId") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(resource_id, str):
            return None
        parts = resource_id.split(".")
        if len(parts) < 5 or parts[1] not in _KINDS:
            return None
        region = oci.regions.REGIONS_SHORT_NAMES.get(parts[3], parts[3])
        if region not in self.standin.regions:
            return None
        # Real events carry null tags and details, an empty name, and shapes nobody documented: the
        # seeded backup takes what is usable of each and OCI's defaults for the rest.
        given = data.get("additionalDetails")
        details: dict[str, Any] = given if isinstance(given, dict) else {}
        name, compartment = data.get("resourceName"), data.get("compartmentId")
        source_type = details.get("sourceType")
        fields: dict[str, Any] = {
            "kind": _KINDS[parts[1]],
            "region": region,
            "compartment_id": (
                compartment if isinstance(compartment, str) and compartment else self.principal.compartment_id
            ),
            "display_name": name if isinstance(name, str) and name else "backup",
            "freeform_tags": _string_tags(data.get("freeformTags", data.get("freeFormTags"))),
            "defined_tags": _defined_tags(data.get("definedTags")),
            "source_type": source_type if isinstance(source_type, str) else "MANUAL",
            "backup_id": resource_id,
        }
        volume = details.get("volumeId") or details.get("volumeGroupId")
        if isinstance(volume, str):
            fields["parent_id"] = volume
        fields.update(overrides)
        return self.standin.seed_backup(**fields)


@dataclass(frozen=True)
class LocalCloud(_Cloud[StandIn]):
    """The stand-in on threads in this process, the resource principal, and the topic for notices."""


@dataclass(frozen=True)
class LocalCloudApart(_Cloud[StandInProcess]):
    """The stand-in in a child process of its own, the resource principal, and the topic for notices."""


def _string_tags(tags: object) -> dict[str, str]:
    """Freeform tags as OCI holds them (strings to strings), whatever shape the event gave."""
    if not isinstance(tags, dict):
        return {}
    return {key: value for key, value in tags.items() if isinstance(value, str)}


def _defined_tags(tags: object) -> dict[str, dict[str, object]]:
    """Defined tags as OCI holds them (namespace to key to value), whatever shape the event gave."""
    if not isinstance(tags, dict):
        return {}
    return {namespace: dict(values) for namespace, values in tags.items() if isinstance(values, dict)}


@contextmanager
def local_cloud(
    directory: Path,
    *,
    regions: tuple[str, ...] = REGIONS,
    copy_delay_seconds: float = 30.0,
    copy_limits: bool = True,
    tls: bool = False,
) -> Iterator[LocalCloud]:
    """Start a stand-in serving `regions`, with credentials written under `directory`.

    OCI's copy limits are on, as OCI has them; copy_limits=False lifts both (for a test about
    something else that seeds copies of one volume freely). tls=True serves HTTPS with a throwaway
    CA written under `directory`, which `function_env` makes the function trust.
    """
    principal = make_resource_principal(directory, region=regions[0])
    with StandIn(
        regions,
        principal.public_key_pem,
        copy_delay_seconds=copy_delay_seconds,
        tls=tls,
        tls_dir=directory / "tls",
        **_limits(copy_limits),
    ) as standin:
        yield LocalCloud(standin, principal, standin.add_topic(regions[0]))


@contextmanager
def local_cloud_apart(
    directory: Path,
    *,
    regions: tuple[str, ...] = REGIONS,
    copy_delay_seconds: float = 30.0,
    copy_limits: bool = True,
    tls: bool = False,
    cpus: Collection[int] | None = None,
) -> Iterator[LocalCloudApart]:
    """As `local_cloud`, with the stand-in in a child process of its own, on `cpus` if given."""
    principal = make_resource_principal(directory, region=regions[0])
    with StandInProcess(
        regions,
        principal.public_key_pem,
        copy_delay_seconds=copy_delay_seconds,
        tls=tls,
        tls_dir=directory / "tls",
        cpus=cpus,
        **_limits(copy_limits),
    ) as standin:
        yield LocalCloudApart(standin, principal, standin.add_topic(regions[0]))


def _limits(copy_limits: bool) -> dict[str, Any]:
    """The stand-in's arguments for OCI's copy limits: its defaults (OCI's) when on, none when off."""
    return {} if copy_limits else {"one_copy_per_volume": False, "max_copies_in_flight": None}


def load_event(path: Path) -> dict[str, Any]:
    """An event file, parsed; an unparsable one gives {} (the function will say what is wrong)."""
    try:
        loaded = json.loads(path.read_bytes())
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}
