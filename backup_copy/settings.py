"""The function's configuration: fn config keys, read from a mapping (the environment) and validated.

A plain pydantic model rather than pydantic-settings: the values come from whatever mapping the
caller gives (os.environ in the function, a dict in deploy/ and the tests), or as typed values.
"""

from __future__ import annotations

import math
import os
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from backup_copy.errors import ConfigurationError
from backup_copy.ocids import COMPARTMENT as _COMPARTMENT
from backup_copy.ocids import parse_ocid
from backup_copy.regions import region_identifier

DEFAULT_DISPLAY_NAME_TEMPLATE = "{name} (copy from {source_region})"
# What a display name template may use; anything else is refused when the config is read.
DISPLAY_NAME_FIELDS = frozenset({"name", "source_region", "destination_region", "source_id", "kind"})
MAX_DISPLAY_NAME = 255
# OCI's longest freeform tag value.
MAX_TAG_VALUE = 256
SOURCE_TYPES = frozenset({"MANUAL", "SCHEDULED"})
# Values that stand in for a real backup when a template is tried out as the configuration is read.
_SAMPLE_NAME_VALUES = {
    "name": "web-01",
    "source_region": "us-phoenix-1",
    "destination_region": "us-ashburn-1",
    "source_id": "ocid1.bootvolumebackup.oc1.phx.sample",
    "kind": "boot volume backup",
}
# A template as literal text and placeholder pairs: (text before, field name or None).
TemplatePart = tuple[str, str | None]


@dataclass(frozen=True)
class Bounds:
    """The range a numeric key may take: finite, and small enough that date arithmetic cannot overflow."""

    low: float
    high: float
    unit: str
    low_inclusive: bool = True
    whole: bool = False

    def describe(self) -> str:
        """The range in words, for the error that refuses a value outside it."""
        kind = "a whole number" if self.whole else "a number"
        if self.low_inclusive:
            return f"{kind} from {self.low:g} to {self.high:g} {self.unit}"
        return f"{kind} above {self.low:g}, at most {self.high:g} {self.unit}"

    def contains(self, number: float) -> bool:
        """Whether a finite number is inside the range."""
        above = number >= self.low if self.low_inclusive else number > self.low
        return above and number <= self.high


# Every numeric key, with its range; a value outside it (inf and nan included) is refused when the
# configuration is read, rather than failing every sweep later (datetime arithmetic overflows).
NUMBER_BOUNDS: dict[str, Bounds] = {
    "sweep_lookback_hours": Bounds(0, 24 * 90, "hours (90 days)", low_inclusive=False),
    # OCI allows up to ten concurrent copies per tenancy from a source region; more than 100 would
    # only be refused by OCI's limits.
    "sweep_max_copies_in_flight": Bounds(1, 100, "copies", whole=True),
    "retention_days": Bounds(1, 3650, "days (ten years)"),
    "retention_keep": Bounds(1, 1000, "copies", whole=True),
    "rpo_hours": Bounds(0, 24 * 365, "hours (a year)", low_inclusive=False),
}


class NoticeSettings(BaseModel):
    """Where notices go: read on its own too, so a bad key elsewhere can still be announced."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    notification_topic_id: str
    oci_endpoint_template: str | None = None

    @field_validator("notification_topic_id")
    @classmethod
    def _topic(cls, value: str) -> str:
        parse_ocid(value, resource_type="onstopic")
        return value

    @field_validator("oci_endpoint_template")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("a base URL starting http:// or https://")
        if "{region}" not in value or "{service}" not in value:
            raise ValueError("the URL must contain both {region} and {service}")
        return value.rstrip("/")


class Settings(NoticeSettings):
    """Every key the function reads; environment names are the upper-case field names."""

    destination_regions: tuple[str, ...]
    destination_kms_key_ids: dict[str, str] = Field(default_factory=dict)
    display_name_template: str = DEFAULT_DISPLAY_NAME_TEMPLATE
    dry_run: bool = False
    # Filters: a backup that fails one is ignored (200) with the reason, and nothing is copied.
    required_tag: tuple[str, str] | None = None
    compartment_ids: frozenset[str] = frozenset()
    source_types: frozenset[str] = SOURCE_TYPES
    # The sweep ({"action": "sweep"}): catch-up, retention and the RPO report.
    sweep_compartment_ids: frozenset[str] = frozenset()
    # Numeric keys are checked against NUMBER_BOUNDS.
    sweep_lookback_hours: float = 24.0
    sweep_region: str | None = None
    # Set by OCI Functions: the function's own region, the sweep's source region by default.
    oci_resource_principal_region: str | None = None
    # This deployment's identity on its copies (see `deployment`); FN_FN_ID is set by OCI Functions
    # ("Environment Variables Populated by OCI Functions": the function's OCID).
    deployment_name: str | None = Field(default=None, max_length=MAX_TAG_VALUE)
    fn_fn_id: str | None = None
    # OCI allows up to ten concurrent copies per tenancy from a source region ("Copying a Boot Volume
    # Backup Between Regions", Limitations): the sweep starts no more than this many at once.
    sweep_max_copies_in_flight: int = 10
    retention_days: float | None = None
    retention_keep: int = 1
    rpo_hours: float = 24.0
    # The display name template, parsed once when the configuration is read.
    _display_name_parts: tuple[TemplatePart, ...] = PrivateAttr(default=())

    @field_validator("destination_regions", mode="before")
    @classmethod
    def _split_regions(cls, value: object) -> tuple[str, ...]:
        items = _items(value)
        if items is None:
            raise ValueError("a comma-separated list of region identifiers, e.g. us-ashburn-1")
        regions: list[str] = []
        for item in (part.strip().lower() for part in items):
            if not item:
                continue
            if region_identifier(item) != item:
                raise ValueError(f"{item!r} is not an OCI region identifier (e.g. us-ashburn-1)")
            if item not in regions:
                regions.append(item)
        if not regions:
            raise ValueError("name at least one destination region")
        return tuple(regions)

    @field_validator("destination_kms_key_ids", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> dict[str, str]:
        if isinstance(value, Mapping):
            value = [f"{region}={key}" for region, key in value.items()]
        items = _items(value)
        if items is None:
            raise ValueError("a comma-separated list of region=keyOCID")
        keys: dict[str, str] = {}
        for item in (str(part).strip() for part in items):
            if not item:
                continue
            region, sep, key = (side.strip() for side in item.partition("="))
            if not sep or not region or not key:
                raise ValueError(f"{item!r} is not region=keyOCID")
            if region in keys:
                raise ValueError(f"two keys for {region}")
            if parse_ocid(key, resource_type="key").region != region:
                raise ValueError(f"the key for {region} is not in {region}: a key must be in its destination")
            keys[region] = key
        return keys

    @field_validator("required_tag", mode="before")
    @classmethod
    def _split_tag(cls, value: object) -> tuple[str, str] | None:
        if value is None or value == "":
            return None
        if isinstance(value, tuple) and len(value) == 2:
            value = f"{value[0]}={value[1]}"
        key, sep, tag_value = str(value).partition("=")
        if not sep or not key.strip():
            raise ValueError("a freeform tag as key=value, e.g. backup-dr=true")
        return key.strip(), tag_value.strip()

    @field_validator("compartment_ids", "sweep_compartment_ids", mode="before")
    @classmethod
    def _split_compartments(cls, value: object) -> frozenset[str]:
        items = _items(value)
        if items is None:
            raise ValueError("a comma-separated list of compartment OCIDs")
        ids = frozenset(part.strip() for part in items if part.strip())
        for compartment in ids:
            if not _COMPARTMENT.fullmatch(compartment):
                raise ValueError(f"{compartment!r} is not a compartment or tenancy OCID")
        return ids

    @field_validator("sweep_region")
    @classmethod
    def _sweep_region(cls, value: str | None) -> str | None:
        if not value:
            return None
        if region_identifier(value.strip().lower()) != value.strip().lower():
            raise ValueError(f"{value!r} is not an OCI region identifier")
        return value.strip().lower()

    @field_validator("deployment_name", "fn_fn_id", mode="before")
    @classmethod
    def _unset_name(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(*NUMBER_BOUNDS, mode="before")
    @classmethod
    def _bounded(cls, value: object, info: ValidationInfo) -> float | int | None:
        name = info.field_name or ""
        if name == "retention_days" and (value is None or value == ""):
            return None
        return bounded_number(value, NUMBER_BOUNDS[name])

    @field_validator("source_types", mode="before")
    @classmethod
    def _split_source_types(cls, value: object) -> frozenset[str]:
        items = _items(value)
        if items is None:
            raise ValueError("a comma-separated list: MANUAL, SCHEDULED or both")
        types = frozenset(part.strip().upper() for part in items if part.strip())
        if not types:
            return SOURCE_TYPES
        unknown = sorted(types - SOURCE_TYPES)
        if unknown:
            raise ValueError(f"unknown source type {', '.join(unknown)}; use MANUAL, SCHEDULED or both")
        return types

    @field_validator("display_name_template")
    @classmethod
    def _template(cls, value: str) -> str:
        # Tried once with sample values, so a template that cannot make a name is refused here.
        render_template(parse_template(value), _SAMPLE_NAME_VALUES, MAX_DISPLAY_NAME)
        return value

    @model_validator(mode="after")
    def _keys_for_destinations(self) -> Settings:
        strays = sorted(set(self.destination_kms_key_ids) - set(self.destination_regions))
        if strays:
            raise ValueError(f"DESTINATION_KMS_KEY_IDS names {', '.join(strays)}, not in DESTINATION_REGIONS")
        return self

    @model_validator(mode="after")
    def _parse_display_name_template(self) -> Settings:
        self._display_name_parts = parse_template(self.display_name_template)
        return self

    @model_validator(mode="after")
    def _lookback_within_retention(self) -> Settings:
        # The sweep copies every backup taken within the look-back that lacks a copy, and retention
        # deletes copies of backups taken before RETENTION_DAYS: a look-back reaching further back
        # would re-copy, every sweep, what retention has just deleted.
        if self.retention_days is not None and self.sweep_lookback_hours > self.retention_days * 24:
            days = self.retention_days
            raise ValueError(
                f"SWEEP_LOOKBACK_HOURS ({self.sweep_lookback_hours:g}) is longer than RETENTION_DAYS "
                f"({days:g} day{'' if days == 1 else 's'} = {days * 24:g} h): the sweep would re-copy "
                "what retention deletes"
            )
        return self

    @property
    def sweep_source_region(self) -> str | None:
        """Where the sweep looks for backups: SWEEP_REGION, else the function's own region."""
        return self.sweep_region or self.oci_resource_principal_region

    @property
    def deployment(self) -> str:
        """This deployment's identity, written on every copy it makes: retention deletes no other copy.

        DEPLOYMENT_NAME when set; else the function's OCID (FN_FN_ID), unique to the function;
        else, outside OCI Functions, backup-copy-<sweep source region>.
        """
        if self.deployment_name:
            return self.deployment_name.strip()
        if self.fn_fn_id:
            return self.fn_fn_id
        region = self.sweep_source_region
        return f"backup-copy-{region}" if region else "backup-copy"

    def display_name(
        self, *, name: str, source_region: str, destination_region: str, source_id: str, kind: str
    ) -> str:
        """The copy's display name from the template, cut to OCI's 255-character limit."""
        values = {
            "name": name,
            "source_region": source_region,
            "destination_region": destination_region,
            "source_id": source_id,
            "kind": kind,
        }
        rendered = render_template(self._display_name_parts, values, MAX_DISPLAY_NAME)
        return rendered or name[:MAX_DISPLAY_NAME]


def parse_template(template: str) -> tuple[TemplatePart, ...]:
    """A display name template as literal text and placeholders; ValueError says what is not allowed.

    Only bare placeholders are: a format spec ({name:>400000000} asks for a 400 MB string), a
    conversion ({name!r}) or an attribute or index ({name.__class__}, {name[0]}) is refused, and the
    name is then made by substitution (render_template), never by str.format on the template.
    """
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"not a valid template ({exc})") from None
    allowed = ", ".join("{" + name + "}" for name in sorted(DISPLAY_NAME_FIELDS))
    parts: list[TemplatePart] = []
    for literal, field, spec, conversion in parsed:
        if field is None:
            parts.append((literal, None))
            continue
        shown = _quoted(
            "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        )
        if spec:
            raise ValueError(f"{shown}: a placeholder takes no format spec; use {allowed} as they are")
        if conversion is not None:
            raise ValueError(f"{shown}: a placeholder takes no conversion; use {allowed} as they are")
        if field not in DISPLAY_NAME_FIELDS:
            if any(mark in field for mark in ".["):
                raise ValueError(f"{shown}: a placeholder takes no attribute or index; use {allowed}")
            raise ValueError(f"unknown placeholder {shown}; use {allowed}")
        parts.append((literal, field))
    return tuple(parts)


def render_template(parts: tuple[TemplatePart, ...], values: Mapping[str, str], limit: int) -> str:
    """The parsed template with each placeholder replaced by its value, at most `limit` characters.

    It stops once `limit` is reached, so a template of a thousand placeholders costs no more than one.
    """
    pieces: list[str] = []
    room = limit
    for literal, field in parts:
        for piece in (literal, values[field] if field is not None else ""):
            pieces.append(piece[:room])
            room -= len(pieces[-1])
            if room <= 0:
                return "".join(pieces)
    return "".join(pieces)


def bounded_number(value: object, bounds: Bounds) -> float | int:
    """A numeric key's value (a number, or its text) inside its bounds; ValueError names the range."""
    refusal = ValueError(f"must be {bounds.describe()}; got {_shown(value)}")
    if isinstance(value, bool):
        raise refusal
    if isinstance(value, str):
        try:
            number: float | int = float(value)
        except ValueError:
            raise refusal from None
    elif isinstance(value, (int, float)):
        number = value
    else:
        raise refusal
    # An int too large for a float has no finite float value, but compares as it is.
    if isinstance(number, float) and not math.isfinite(number):
        raise refusal
    if not bounds.contains(number):
        raise refusal
    if bounds.whole:
        if number != int(number):
            raise refusal
        return int(number)
    return float(number)


def _shown(value: object) -> str:
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        return "a very large number"  # str() of a huge int is itself refused past 4300 digits
    return _quoted(repr(value)) if isinstance(value, (int, float)) else type(value).__name__


def _quoted(text: str, limit: int = 40) -> str:
    # The configuration's own text, echoed in an error: short, and repr escapes what is unprintable.
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _items(value: object) -> list[str] | None:
    """A comma-separated string, or an already-split collection of strings; None for anything else."""
    if isinstance(value, str):
        return value.split(",")
    if isinstance(value, (list, tuple, set, frozenset)) and all(isinstance(item, str) for item in value):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    return None


def config_keys() -> tuple[str, ...]:
    """Every environment variable the settings read, as upper-case names."""
    return tuple(name.upper() for name in Settings.model_fields)


def load_settings(environ: Mapping[str, object] | None = None) -> Settings:
    """Read and validate the configuration (os.environ unless given); ConfigurationError names each bad key.

    Keys are the upper-case field names, as fn config sets them; values are strings as the
    environment holds them, or already typed.
    """
    return _load(Settings, os.environ if environ is None else environ)


def load_notice_settings(environ: Mapping[str, object] | None = None) -> NoticeSettings:
    """Only the keys a notice needs, for announcing a configuration that is otherwise bad."""
    return _load(NoticeSettings, os.environ if environ is None else environ)


_Loaded = TypeVar("_Loaded", bound=NoticeSettings)


def _load(model: type[_Loaded], environ: Mapping[str, object]) -> _Loaded:
    fields = set(model.model_fields)
    # The upper-case spelling is fn config's; a lower-case one is accepted when it is the only one.
    values = {key: value for key, value in environ.items() if key in fields}
    values.update(
        (key.lower(), value) for key, value in environ.items() if key.lower() in fields and key.isupper()
    )
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            key = ".".join(str(part) for part in error["loc"]).upper()
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "missing":
                message = "is required but not set"
            problems.append(f"{key}: {message}" if key else message)
        raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None
