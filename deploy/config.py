"""What the deployment needs: the function's settings, read as the function reads them, plus tenancy facts.

Only what cannot be defaulted is required: DESTINATION_REGIONS of the function's keys, and the source
region, the backups' and the function's compartments, the subnet and the tenancy of the DEPLOY_*
facts. Everything else has a default that is right for a kit that creates what it needs: the topic
(unless NOTIFICATION_TOPIC_ID names one), SWEEP_COMPARTMENT_IDS (the backups' compartment), the names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from backup_copy.errors import ConfigurationError
from backup_copy.events import CompartmentId
from backup_copy.ocids import COMPARTMENT, parse_ocid
from backup_copy.regions import REGION_KEYS, region_identifier
from backup_copy.settings import Settings, config_keys, load_settings

# The function's keys the kit defaults when they are not set (see load_deploy_config).
TOPIC_KEY, SWEEP_COMPARTMENTS_KEY = "NOTIFICATION_TOPIC_ID", "SWEEP_COMPARTMENT_IDS"
# The sweep's schedule by default: every 15 minutes, since the sweep also moves OCI's copy queue.
# Resource Scheduler takes "UNIX cron formatting" (CreateScheduleDetails.recurrence_details); whether
# it wants five fields or six (seconds first) is unconfirmed: DEPLOY_SWEEP_CRON takes either.
DEFAULT_SWEEP_CRON = "*/15 * * * *"

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
    "function_id": "DEPLOY_FUNCTION_ID",
    "notify_email": "DEPLOY_NOTIFY_EMAIL",
    "sweep_cron": "DEPLOY_SWEEP_CRON",
}

# The two-region example the tests render: Phoenix backups copied to Ashburn and Frankfurt, the
# Frankfurt copies under a customer-managed key kept in a security compartment.
# The kit creates the topic and subscribes the operators' address.
EXAMPLE_ENVIRONMENT = {
    "DESTINATION_REGIONS": "us-ashburn-1,eu-frankfurt-1",
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
    "DEPLOY_NOTIFY_EMAIL": "ops@example.com",
}

_NAME = r"[A-Za-z0-9_.-]{1,100}"
_DYNAMIC_GROUP = re.compile(rf"(?:(?P<domain>{_NAME})/)?(?P<name>{_NAME})")
_RESOURCE_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
# OCI's tag namespace names: printable ASCII but space and '.', at most 100 characters. A quote or a
# backslash is refused too: the name goes inside a quoted policy literal.
_TAG_NAMESPACE = re.compile(r"[^\x00-\x20.'\\\x7f-\U0010ffff]{1,100}")
# An address for an EMAIL subscription; no quotes, spaces, `$`, backquotes or backslashes, since it
# is written into commands.sh and into a JMESPath literal there.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
# A cron line of five fields (or six, seconds first): digits, names and the usual * / , - ?.
_CRON_FIELD = re.compile(r"[0-9A-Za-z*/,?-]{1,40}")


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


def _function(value: str) -> str:
    parse_ocid(value, resource_type="fnfunc")
    return value


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError("an e-mail address, e.g. ops@example.com")
    return value


def _cron(value: str) -> str:
    fields = value.split()
    if len(fields) not in (5, 6) or not all(_CRON_FIELD.fullmatch(field) for field in fields):
        raise ValueError("a cron expression of five fields, e.g. '*/15 * * * *' (every 15 minutes)")
    return " ".join(fields)


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
    # The application's compartment, and the dynamic group's scope: keep it for this function alone.
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
    # NOTIFICATION_TOPIC_ID when given: the kit uses that topic and creates none.
    topic_id: str | None = None
    # The function's own OCID, once it exists: the dynamic group then matches it alone.
    function_id: Annotated[str, AfterValidator(_function)] | None = None
    notify_email: Annotated[str, AfterValidator(_email)] | None = None
    sweep_cron: Annotated[str, AfterValidator(_cron)] = DEFAULT_SWEEP_CRON

    @model_validator(mode="after")
    def _source_is_not_a_destination(self) -> DeployConfig:
        if self.source_region in self.settings.destination_regions:
            raise ValueError(f"DESTINATION_REGIONS names the source region {self.source_region}")
        return self

    @model_validator(mode="after")
    def _sweep_in_the_source_region(self) -> DeployConfig:
        # The listing grants and the metrics grant name the source region: a sweep elsewhere misses them.
        sweep_region = self.settings.sweep_region
        if sweep_region is not None and sweep_region != self.source_region:
            raise ValueError(
                f"SWEEP_REGION ({sweep_region}) is not DEPLOY_SOURCE_REGION ({self.source_region}): "
                "deploy one function per source region"
            )
        return self

    @property
    def dynamic_group_domain(self) -> str | None:
        """The identity domain the dynamic group is in (Domain/name); None for the default domain."""
        return self.dynamic_group.rpartition("/")[0] or None

    @property
    def dynamic_group_name(self) -> str:
        """The dynamic group's own name, without its domain: what policies and the CLI call it."""
        return self.dynamic_group.rpartition("/")[2]

    @property
    def topic_region(self) -> str:
        """The topic's region, from its OCID (the function publishes there); a created one's: the source."""
        if self.topic_id is None:
            return self.source_region
        return parse_ocid(self.topic_id, resource_type="onstopic").region


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
    ConfigurationError naming every key that is missing or bad at once, and only those: a key whose
    default comes from a missing one is not named.
    """
    facts: dict[str, object] = {field: environ[key] for field, key in DEPLOY_KEYS.items() if environ.get(key)}
    facts.update({field: value for field, value in (overrides or {}).items() if value})
    given_topic = environ.get(TOPIC_KEY) or None
    problems: list[str] = []
    settings = _settings(environ, facts, given_topic, problems)
    if given_topic is not None:
        facts["topic_id"] = given_topic
        if "topic_compartment_id" not in facts:
            # A given topic's compartment is not in its OCID: only the operator knows it.
            problems.append(f"{DEPLOY_KEYS['topic_compartment_id']}: is required with {TOPIC_KEY}")
    defaults = {
        "key_compartment_id": "backup_compartment_id",
        "topic_compartment_id": "function_compartment_id",
        "home_region": "source_region",
    }
    for field, source in defaults.items():
        if source in facts:
            facts.setdefault(field, facts[source])
    try:
        config = DeployConfig.model_validate({**facts, "settings": settings})
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            field = str(error["loc"][0]) if error["loc"] else ""
            defaulted = field in defaults and defaults[field] not in facts
            if field == "settings" or defaulted:
                continue  # already named: the function's settings, or the key it defaults from
            where = DEPLOY_KEYS.get(field, field.upper())
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "missing":
                message = "is required but not set"
            problems.append(f"{where}: {message}" if where else message)
    else:
        if not problems:
            return config
    raise ConfigurationError("invalid deployment settings: " + "; ".join(problems))


# The topic OCID the settings are validated with when the kit is to create the topic (nothing
# rendered uses it: the commands capture the created topic's OCID).
def placeholder_topic(region: str) -> str:
    """A well-formed topic OCID in `region` that names no topic."""
    return f"ocid1.onstopic.oc1.{region_key(region)}.createdbycommandssh"


def _settings(
    environ: Mapping[str, str], facts: Mapping[str, object], given_topic: str | None, problems: list[str]
) -> Settings | None:
    """The function's settings as the kit will configure them, or None (with `problems` said)."""
    values = {key: environ[key] for key in config_keys() if key in environ}
    source = facts.get("source_region")
    region = region_identifier(source) if isinstance(source, str) else None
    if given_topic is None:
        # The kit creates the topic: validate the rest with a stand-in OCID in its region.
        values[TOPIC_KEY] = placeholder_topic(region or "us-phoenix-1")
    backups = facts.get("backup_compartment_id")
    if not values.get(SWEEP_COMPARTMENTS_KEY) and isinstance(backups, str):
        # The kit schedules the sweep, and a sweep needs compartments: the backups' by default.
        values[SWEEP_COMPARTMENTS_KEY] = backups
    try:
        return load_settings(values)
    except ConfigurationError as exc:
        problems.append(exc.reason.removeprefix("invalid configuration: "))
        return None
