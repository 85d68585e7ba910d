"""What the deployment needs: the function's settings, read as the function reads them, plus tenancy facts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from backup_copy.errors import ConfigurationError
from backup_copy.events import CompartmentId
from backup_copy.ocids import COMPARTMENT, parse_ocid
from backup_copy.regions import REGION_KEYS, region_identifier
from backup_copy.settings import Settings, load_settings

# The function's own keys, as load_settings() reads them from the environment.
FUNCTION_KEYS = tuple(name.upper() for name in Settings.model_fields)

# Deployment facts the function never reads, by environment variable.
DEPLOY_KEYS = {
    "source_region": "DEPLOY_SOURCE_REGION",
    "backup_compartment_id": "DEPLOY_BACKUP_COMPARTMENT_ID",
    "function_compartment_id": "DEPLOY_FUNCTION_COMPARTMENT_ID",
    "topic_compartment_id": "DEPLOY_TOPIC_COMPARTMENT_ID",
    "key_compartment_id": "DEPLOY_KEY_COMPARTMENT_ID",
    "subnet_id": "DEPLOY_SUBNET_ID",
    "dynamic_group": "DEPLOY_DYNAMIC_GROUP",
    "application": "DEPLOY_APPLICATION",
    "function": "DEPLOY_FUNCTION",
    "home_region": "DEPLOY_HOME_REGION",
    "tenancy_id": "DEPLOY_TENANCY_ID",
    "tag_namespaces": "DEPLOY_TAG_NAMESPACES",
}

# The two-region example the tests render: Phoenix backups copied to Ashburn and Frankfurt, the
# Frankfurt copies under a customer-managed key kept in a security compartment.
EXAMPLE_ENVIRONMENT = {
    "DESTINATION_REGIONS": "us-ashburn-1,eu-frankfurt-1",
    "NOTIFICATION_TOPIC_ID": "ocid1.onstopic.oc1.phx.aaaaaaaaexampletopicbackupcopy0001",
    "DESTINATION_KMS_KEY_IDS": (
        "eu-frankfurt-1=ocid1.key.oc1.fra.examplevault.aaaaaaaaexamplekeyfrankfurt0001"
    ),
    "DEPLOY_SOURCE_REGION": "us-phoenix-1",
    # The compartment of the sample events in events/.
    "DEPLOY_BACKUP_COMPARTMENT_ID": (
        "ocid1.compartment.oc1..aaaaaaaa4vggyw2zmbrcwxnwbzfkdcyvkcpqxadmcdwaeb6v6uqpfrw4tuxq"
    ),
    "DEPLOY_FUNCTION_COMPARTMENT_ID": "ocid1.compartment.oc1..aaaaaaaaexamplefunctionscompartment0001",
    "DEPLOY_KEY_COMPARTMENT_ID": "ocid1.compartment.oc1..aaaaaaaaexamplesecuritycompartment0001",
    "DEPLOY_SUBNET_ID": "ocid1.subnet.oc1.phx.aaaaaaaaexamplefunctionsubnet0001",
    "DEPLOY_TENANCY_ID": "ocid1.tenancy.oc1..aaaaaaaaexampletenancybackupcopy0001",
    # The sample events' defined tags (Operations) and the tenancy's automatic tag defaults (Oracle-Tags).
    "DEPLOY_TAG_NAMESPACES": "Oracle-Tags,Operations",
}

_NAME = r"[A-Za-z0-9_.-]{1,100}"
_DYNAMIC_GROUP = re.compile(rf"(?:(?P<domain>{_NAME})/)?(?P<name>{_NAME})")
_RESOURCE_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
# OCI's tag namespace names: printable ASCII but space and '.', at most 100 characters. A quote or a
# backslash is refused too: the name goes inside a quoted policy literal.
_TAG_NAMESPACE = re.compile(r"[^\x00-\x20.'\\\x7f-\U0010ffff]{1,100}")


def _region(value: str) -> str:
    identifier = region_identifier(value)
    if identifier is None:
        raise ValueError(f"{value!r} is not an OCI region (e.g. us-phoenix-1)")
    return identifier


def _dynamic_group(value: str) -> str:
    if not _DYNAMIC_GROUP.fullmatch(value):
        raise ValueError("a dynamic group name, or Domain/name for one in an identity domain")
    return value


def _resource_name(value: str) -> str:
    if not _RESOURCE_NAME.fullmatch(value):
        raise ValueError("letters, digits, '-' and '_' only")
    return value


def _subnet(value: str) -> str:
    parse_ocid(value, resource_type="subnet")
    return value


def _tenancy(value: str) -> str:
    if not (COMPARTMENT.fullmatch(value) and value.startswith("ocid1.tenancy.")):
        raise ValueError("a tenancy OCID (ocid1.tenancy.oc1..<id>)")
    return value


def _tag_namespaces(value: object) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ValueError("a comma-separated list of tag namespace names, e.g. Oracle-Tags,Operations")
    names: dict[str, str] = {}
    for name in (str(item).strip() for item in items):
        if not name:
            continue
        if not _TAG_NAMESPACE.fullmatch(name):
            raise ValueError(f"{name!r} is not a tag namespace name (no spaces, '.' or quotes)")
        # OCI's namespace names are case-insensitive: one entry per namespace.
        names.setdefault(name.lower(), name)
    return tuple(names.values())


Region = Annotated[str, AfterValidator(_region)]


class DeployConfig(BaseModel):
    """Everything a deployment is rendered from; `settings` is exactly what the function will read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    settings: Settings
    source_region: Region
    backup_compartment_id: CompartmentId
    function_compartment_id: CompartmentId
    topic_compartment_id: CompartmentId
    key_compartment_id: CompartmentId
    subnet_id: Annotated[str, AfterValidator(_subnet)]
    dynamic_group: Annotated[str, AfterValidator(_dynamic_group)] = "backup-copy"
    application: Annotated[str, AfterValidator(_resource_name)] = "backup-copy"
    function: Annotated[str, AfterValidator(_resource_name)] = "backup-copy"
    home_region: Region
    # The tag grant is tenancy-wide, so its policy is attached to the root compartment.
    tenancy_id: Annotated[str, AfterValidator(_tenancy)]
    # The namespaces of the defined tags the source backups carry; empty: any namespace.
    tag_namespaces: Annotated[tuple[str, ...], BeforeValidator(_tag_namespaces)] = ()

    @model_validator(mode="after")
    def _source_is_not_a_destination(self) -> DeployConfig:
        if self.source_region in self.settings.destination_regions:
            raise ValueError(f"DESTINATION_REGIONS names the source region {self.source_region}")
        return self

    @property
    def topic_region(self) -> str:
        """The topic's region, from its OCID: the function publishes there."""
        return parse_ocid(self.settings.notification_topic_id, resource_type="onstopic").region


def region_key(region: str) -> str:
    """The short key (phx) that policy conditions such as request.region compare against."""
    keys = [key for key, name in REGION_KEYS.items() if name == region]
    if len(keys) != 1:
        raise ConfigurationError(f"no single short key for region {region} in the installed SDK")
    return keys[0]


def load_deploy_config(
    environ: Mapping[str, str], overrides: Mapping[str, str] | None = None
) -> DeployConfig:
    """Read the function's settings through load_settings() and the deployment facts beside them.

    The function's keys are read from `environ` alone, so an example or a test renders from exactly
    the values it names. `overrides` (from flags) win over the DEPLOY_* variables. Raises
    ConfigurationError naming each missing or bad value.
    """
    settings = load_settings({key: environ[key] for key in FUNCTION_KEYS if key in environ})
    facts = {field: environ[key] for field, key in DEPLOY_KEYS.items() if environ.get(key)}
    facts.update({field: value for field, value in (overrides or {}).items() if value})
    backups = facts.get("backup_compartment_id")
    if backups:
        for field in ("function_compartment_id", "topic_compartment_id", "key_compartment_id"):
            facts.setdefault(field, backups)
    if "source_region" in facts:
        facts.setdefault("home_region", facts["source_region"])
    try:
        return DeployConfig(settings=settings, **facts)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            field = str(error["loc"][0]) if error["loc"] else ""
            where = DEPLOY_KEYS.get(field, field.upper())
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "missing":
                message = "is required but not set"
            problems.append(f"{where}: {message}" if where else message)
        raise ConfigurationError("invalid deployment settings: " + "; ".join(problems)) from None
