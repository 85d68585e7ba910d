"""The function's configuration: fn config keys, read from a mapping (the environment) and validated.

A plain pydantic model rather than pydantic-settings: the values come from whatever mapping the
caller gives (os.environ in the function, a dict in deploy/ and the tests), or as typed values.
"""

from __future__ import annotations

import difflib
import functools
import math
import os
import string
from collections.abc import Mapping, Sequence
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
from backup_copy.regions import REGION_IDENTIFIERS, region_identifier

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
    # Whether the key may be left unset (None or empty), meaning "off".
    optional: bool = False

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
    "retention_days": Bounds(1, 3650, "days (ten years)", optional=True),
    "retention_keep": Bounds(1, 1000, "copies", whole=True),
    "rpo_hours": Bounds(0, 24 * 365, "hours (a year)", low_inclusive=False),
}
# Keys only the sweep reads: a bad one stops the sweep, never the copy of an event.
SWEEP_KEYS = frozenset(
    {
        "sweep_compartment_ids",
        "sweep_lookback_hours",
        "sweep_max_copies_in_flight",
        "retention_days",
        "retention_keep",
        "rpo_hours",
    }
)
# DRY_RUN's spellings (pydantic's, case-insensitive); anything else is refused, never read as false.
_TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "off", "f", "n"})
# The validation context's key for the problems a lenient read sets aside (read_settings).
_SET_ASIDE = "set_aside"
_NO_SWEEP = "so the sweep does not run"


@dataclass(frozen=True)
class Problem:
    """A bad value the lenient read set aside: its key, what is wrong, and what goes on without it."""

    key: str
    # What is wrong, naming the value as written.
    message: str
    # What the function does without the value, e.g. "so us-ashburn-1 is not copied".
    effect: str = ""
    # The destinations not copied to because of it (an entry that is not a region, as written).
    destinations: tuple[str, ...] = ()
    # A key only the sweep reads: the sweep cannot run without it, an event's copy can.
    stops_sweep: bool = False

    def __str__(self) -> str:
        if not self.effect:
            return f"{self.key}: {self.message}"
        if self.message.endswith("?"):  # a suggestion ends the message: the effect is a sentence of its own
            return f"{self.key}: {self.message} {self.effect[0].upper()}{self.effect[1:]}"
        return f"{self.key}: {self.message}, {self.effect}"


class NoticeSettings(BaseModel):
    """Where notices go: read on its own too, so a bad key elsewhere can still be announced."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    # "" only from read_settings, when the topic configured is missing or unusable (a Problem says).
    notification_topic_id: str
    oci_endpoint_template: str | None = None

    @field_validator("notification_topic_id")
    @classmethod
    def _topic(cls, value: str, info: ValidationInfo) -> str:
        try:
            if not value:
                raise ValueError("is required but not set")
            try:
                parse_ocid(value, resource_type="onstopic")
            except ValueError as exc:
                raise ValueError(f"{_quoted(value)}: {exc}") from None
        except ValueError as exc:
            # Copies need no topic: a lenient read goes on without one ("" is no topic at all).
            if _set_aside(info, Problem("NOTIFICATION_TOPIC_ID", str(exc), "so no notice can be published")):
                return ""
            raise
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
    def _split_regions(cls, value: object, info: ValidationInfo) -> tuple[str, ...]:
        items = _items(value)
        if items is None:
            raise ValueError("a comma-separated list of region identifiers, e.g. us-ashburn-1")
        regions: list[str] = []
        bad: list[Problem] = []
        for item in (part.strip() for part in items):
            if not item:
                continue
            try:
                region = region_named(item)
            except ValueError as exc:
                bad.append(Problem("DESTINATION_REGIONS", str(exc), destinations=(item,)))
                continue
            if region not in regions:
                regions.append(region)
        if not regions and not bad:
            raise ValueError("name at least one destination region")
        # An entry that is no region is set aside only while another destination is left to copy to.
        if bad and not (regions and _set_aside(info, *bad)):
            raise ValueError("; ".join(problem.message for problem in bad))
        return tuple(regions)

    @field_validator("destination_kms_key_ids", mode="before")
    @classmethod
    def _split_keys(cls, value: object, info: ValidationInfo) -> dict[str, str]:
        if isinstance(value, Mapping):
            value = [f"{region}={key}" for region, key in value.items()]
        items = _items(value)
        if items is None:
            raise ValueError("a comma-separated list of region=keyOCID")
        destinations = info.data.get("destination_regions")
        keys, bad = destination_keys([str(item) for item in items], destinations)
        if bad and not _set_aside(info, *bad):
            raise ValueError("; ".join(problem.message for problem in bad))
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
    def _split_compartments(cls, value: object, info: ValidationInfo) -> frozenset[str]:
        try:
            items = _items(value)
            if items is None:
                raise ValueError("a comma-separated list of compartment OCIDs")
            ids = frozenset(part.strip() for part in items if part.strip())
            for compartment in sorted(ids):
                if not _COMPARTMENT.fullmatch(compartment):
                    raise ValueError(f"{compartment!r} is not a compartment or tenancy OCID")
        except ValueError as exc:
            if _set_aside_for_sweep(info, exc):
                return frozenset()
            raise
        return ids

    @field_validator("sweep_region")
    @classmethod
    def _sweep_region(cls, value: str | None) -> str | None:
        # Not set aside for events: outside OCI Functions it names the deployment on every copy.
        if not value or not value.strip():
            return None
        return region_named(value.strip())

    @field_validator("dry_run", mode="before")
    @classmethod
    def _dry_run(cls, value: object) -> object:
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        # Never read as false: a dry run mistyped must not make real copies.
        raise ValueError(f"{_shown(value)} is not one of true/false, 1/0, yes/no, on/off")

    @field_validator("deployment_name", "fn_fn_id", mode="before")
    @classmethod
    def _unset_name(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(*NUMBER_BOUNDS, mode="before")
    @classmethod
    def _bounded(cls, value: object, info: ValidationInfo) -> float | int | None:
        name = info.field_name or ""
        if NUMBER_BOUNDS[name].optional and (value is None or value == ""):
            return None
        try:
            return bounded_number(value, NUMBER_BOUNDS[name])
        except ValueError as exc:
            if _set_aside_for_sweep(info, exc):
                default: float | int | None = cls.model_fields[name].default
                return default
            raise

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
    def _template(cls, value: str, info: ValidationInfo) -> str:
        # Tried once with sample values, so a template that cannot make a name is refused here.
        try:
            render_template(parse_template(value), _SAMPLE_NAME_VALUES, MAX_DISPLAY_NAME)
        except ValueError as exc:
            # Only the copies' names change: what is copied, where and under which key does not.
            effect = f"so copies take the default name {DEFAULT_DISPLAY_NAME_TEMPLATE!r}"
            if _set_aside(info, Problem("DISPLAY_NAME_TEMPLATE", str(exc), effect)):
                return DEFAULT_DISPLAY_NAME_TEMPLATE
            raise
        return value

    @model_validator(mode="after")
    def _parse_display_name_template(self) -> Settings:
        self._display_name_parts = parse_template(self.display_name_template)
        return self

    @model_validator(mode="after")
    def _lookback_within_retention(self, info: ValidationInfo) -> Settings:
        # The sweep copies every backup taken within the look-back that lacks a copy, and retention
        # deletes copies of backups taken before RETENTION_DAYS: a look-back reaching further back
        # would re-copy, every sweep, what retention has just deleted.
        if self.retention_days is not None and self.sweep_lookback_hours > self.retention_days * 24:
            days, hours = self.retention_days, self.sweep_lookback_hours
            detail = (
                f"is longer than RETENTION_DAYS ({days:g} day{'' if days == 1 else 's'} = {days * 24:g} h): "
                "the sweep would re-copy what retention deletes"
            )
            problem = Problem("SWEEP_LOOKBACK_HOURS", f"{hours:g} {detail}", _NO_SWEEP, stops_sweep=True)
            if not _set_aside(info, problem):
                raise ValueError(f"SWEEP_LOOKBACK_HOURS ({hours:g}) {detail}")
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


# Parsed by the field's validator and again for the settings it makes: the same string, once.
@functools.lru_cache(maxsize=8)
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


def region_named(text: str) -> str:
    """The region identifier for an identifier or a short key (iad); ValueError suggests the closest."""
    region = region_identifier(text)
    if region is None:
        raise ValueError(f"{_quoted(text.strip())} is not an OCI region{_closest_region(text)}")
    return region


def _closest_region(text: str) -> str:
    # The best-scoring identifiers, both when two tie (us-ashburn-l: us-ashburn-1 or us-ashburn-2).
    word = text.strip().lower()
    scored = sorted(
        (round(difflib.SequenceMatcher(None, word, name).ratio(), 3), name)
        for name in difflib.get_close_matches(word, REGION_IDENTIFIERS, n=3, cutoff=0.75)
    )
    if not scored:
        return " (an identifier like us-ashburn-1, or its key like iad)"
    best = sorted(name for score, name in scored if score == scored[-1][0])[:2]
    return f"; did you mean {' or '.join(best)}?"


def destination_keys(
    items: Sequence[str], destinations: Sequence[str] | None
) -> tuple[dict[str, str], list[Problem]]:
    """DESTINATION_KMS_KEY_IDS entries as each destination's key, and a Problem per bad entry.

    A bad entry holds back every destination it could be meant for (the region it names and the
    region its key is in) that has no good key of its own; one where neither can be read holds back
    every destination without a key. A held-back destination is not copied at all: a copy under an
    Oracle-managed key, when the operator asked for their own, would silently weaken its encryption.
    `destinations` None (DESTINATION_REGIONS itself is bad): the entries are checked on their own.
    """
    parsed = [(entry, *_key_entry(entry)) for entry in (item.strip() for item in items) if entry]
    named: dict[str, list[str]] = {}
    for entry, region, _, _ in parsed:
        if region is not None:
            named.setdefault(region, []).append(entry)
    keys: dict[str, str] = {}
    # What is wrong with each bad entry (or entries), and the regions it could be meant for.
    bad: list[tuple[str, set[str]]] = []
    for region, entries in named.items():
        if len(entries) > 1:
            # Which of two keys was meant cannot be known: the destination gets neither.
            shown = " and ".join(_quoted(entry, 48) for entry in entries)
            every = "both" if len(entries) == 2 else "all"
            bad.append((f"entries {shown} {every} name {region}: one key per destination", {region}))
    for entry, region, key_region, entry_error in parsed:
        if region is not None and len(named[region]) > 1 and entry_error is None:
            continue
        error = entry_error
        if error is None and region is not None and destinations is not None and region not in destinations:
            error = f"{region} is not in DESTINATION_REGIONS ({', '.join(destinations)})"
        if error is None and region is not None:
            keys[region] = entry.partition("=")[2].strip()
        else:
            bad.append((f"entry {_quoted(entry, 48)}: {error}", {r for r in (region, key_region) if r}))
    problems = []
    for message, meant in bad:
        held = tuple(d for d in destinations or () if d not in keys and (d in meant or not meant))
        effect = f"so {' and '.join(held)} {'is' if len(held) == 1 else 'are'} not copied" if held else ""
        problems.append(Problem("DESTINATION_KMS_KEY_IDS", message, effect, held))
    return keys, problems


def _key_entry(entry: str) -> tuple[str | None, str | None, str | None]:
    """One region=keyOCID entry: the region it names, the region its key is in, and what is wrong."""
    name, sep, key = (side.strip() for side in entry.partition("="))
    region = region_identifier(name) if name else None
    try:
        key_region: str | None = parse_ocid(key, resource_type="key").region
        key_error = None
    except ValueError as exc:
        key_region, key_error = None, str(exc)
    if not sep or not name or not key:
        return region, key_region, "not region=keyOCID (e.g. us-ashburn-1=ocid1.key.oc1.iad....)"
    if region is None:
        return None, key_region, f"{_quoted(name)} is not an OCI region{_closest_region(name)}"
    if key_error is not None:
        return region, None, f"the key for {region} is not a key OCID: {key_error}"
    if key_region != region:
        wrong = f"the key is in {key_region}, but a destination's key must be in that destination ({region})"
        return region, key_region, wrong
    return region, key_region, None


def _set_aside(info: ValidationInfo, *problems: Problem) -> bool:
    """Keep the problems for a lenient read, which goes on without the value; False in a strict one."""
    kept = info.context.get(_SET_ASIDE) if isinstance(info.context, dict) else None
    if not isinstance(kept, list):
        return False
    kept.extend(problems)
    return True


def _set_aside_for_sweep(info: ValidationInfo, error: ValueError) -> bool:
    """Set aside a bad value of a key only the sweep reads; False for any other key, or a strict read."""
    name = info.field_name or ""
    if name not in SWEEP_KEYS:
        return False
    return _set_aside(info, Problem(name.upper(), str(error), _NO_SWEEP, stops_sweep=True))


def config_keys() -> tuple[str, ...]:
    """Every environment variable the settings read, as upper-case names."""
    return tuple(name.upper() for name in Settings.model_fields)


def load_settings(environ: Mapping[str, object] | None = None) -> Settings:
    """Read and validate the configuration (os.environ unless given); ConfigurationError names each bad key.

    Keys are the upper-case field names, as fn config sets them; values are strings as the
    environment holds them, or already typed. Strict: any bad value refuses the whole configuration,
    as a deployment must.
    """
    return _load(Settings, os.environ if environ is None else environ)


def read_settings(environ: Mapping[str, object] | None = None) -> Configuration:
    """Read the configuration as the function acts on it: bad values that can be, are set aside.

    A copy comes first: an entry of DESTINATION_REGIONS that is no region, a bad entry of
    DESTINATION_KMS_KEY_IDS (its destinations are held back), a bad NOTIFICATION_TOPIC_ID or
    DISPLAY_NAME_TEMPLATE, and a bad key only the sweep reads are each set aside as a Problem, and
    the function copies what it still safely can. Any other bad value, or one that leaves no
    destination, refuses the configuration (ConfigurationError) as load_settings does.
    """
    problems: list[Problem] = []
    values = _values(Settings, os.environ if environ is None else environ)
    # A missing topic is set aside like a bad one (the topic's validator reads "" as not set).
    values.setdefault("notification_topic_id", "")
    try:
        settings = Settings.model_validate(values, context={_SET_ASIDE: problems})
    except ValidationError as exc:
        named = [f"{problem.key}: {problem.message}" for problem in problems]
        raise ConfigurationError("invalid configuration: " + "; ".join(_errors(exc) + named)) from None
    held = {region for problem in problems for region in problem.destinations}
    left = tuple(region for region in settings.destination_regions if region not in held)
    if not left:
        named = [str(problem) for problem in problems]
        raise ConfigurationError("invalid configuration: " + "; ".join(named) + "; no destination is left")
    if left != settings.destination_regions:
        settings = settings.model_copy(update={"destination_regions": left})
    return Configuration(settings, tuple(problems))


@dataclass(frozen=True)
class Configuration:
    """The settings a lenient read made, and each bad value it set aside to make them."""

    settings: Settings
    problems: tuple[Problem, ...] = ()


def load_notice_settings(environ: Mapping[str, object] | None = None) -> NoticeSettings:
    """Only the keys a notice needs, for announcing a configuration that is otherwise bad."""
    return _load(NoticeSettings, os.environ if environ is None else environ)


_Loaded = TypeVar("_Loaded", bound=NoticeSettings)


def _load(model: type[_Loaded], environ: Mapping[str, object]) -> _Loaded:
    try:
        return model.model_validate(_values(model, environ))
    except ValidationError as exc:
        raise ConfigurationError("invalid configuration: " + "; ".join(_errors(exc))) from None


def _values(model: type[NoticeSettings], environ: Mapping[str, object]) -> dict[str, object]:
    fields = set(model.model_fields)
    # The upper-case spelling is fn config's; a lower-case one is accepted when it is the only one.
    values = {key: value for key, value in environ.items() if key in fields}
    values.update(
        (key.lower(), value) for key, value in environ.items() if key.lower() in fields and key.isupper()
    )
    return values


def _errors(exc: ValidationError) -> list[str]:
    """Each validation error as KEY: message."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        key = ".".join(str(part) for part in error["loc"]).upper()
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "is required but not set"
        problems.append(f"{key}: {message}" if key else message)
    return problems
