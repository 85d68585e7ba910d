"""The OCI Events payloads this function reads, validated at the edge and frozen."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AliasChoices,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from backup_copy.backups import BackupKind
from backup_copy.errors import InvalidEvent
from backup_copy.ocids import COMPARTMENT, Ocid, parse_ocid

# Event types are matched in lower case, as Events rules match them. Copy events
# (copy...backup.begin/.end) are deliberately absent: a copy is never copied again.
BACKUP_CREATED_EVENTS: dict[str, BackupKind] = {
    "com.oraclecloud.blockvolumes.createbootvolumebackup.end": BackupKind.BOOT,
    "com.oraclecloud.blockvolumes.createvolumebackup.end": BackupKind.VOLUME,
    "com.oraclecloud.blockvolumes.createvolumegroupbackup.end": BackupKind.VOLUME_GROUP,
}


def _compartment_ocid(value: str) -> str:
    if not COMPARTMENT.fullmatch(value):
        raise ValueError("not a compartment or tenancy OCID")
    return value


CompartmentId = Annotated[str, AfterValidator(_compartment_ocid)]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=255)]
# Where the fields that were in an unexpected shape are collected while one body is validated.
_ODD_SHAPES = "odd_shapes"
MAX_ODD_SHAPES = 10


def tolerated(where: str, *, empty: Callable[[], Any] = lambda: None, blank: bool = False) -> WrapValidator:
    """Accept a field the function never acts on whatever its shape: an odd one becomes `empty()`.

    Strict on what drives a call, tolerant on the rest: OCI's own examples carry null tags, and a
    backup must not go uncopied over a field nobody reads (the copy's name, compartment and tags
    come from the backup as read from OCI). Null, absent and (with `blank`) "" are ordinary and
    pass quietly; any other shape is noted under `where` for a warning, never a rejection.
    """

    def check(value: object, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        if value is None or (blank and value == ""):
            return empty()
        try:
            return handler(value)
        except ValidationError as exc:
            noted = info.context.get(_ODD_SHAPES) if isinstance(info.context, dict) else None
            if isinstance(noted, list):
                noted.extend(_error_parts(exc, prefix=where, limit=MAX_ODD_SHAPES))
            return empty()

    return WrapValidator(check)


# Event ids are UUIDs in practice; anything printable and short is accepted, since they only label.
_EVENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
EventId = Annotated[str, StringConstraints(pattern=rf"^{_EVENT_ID.pattern}$")]


class WireModel(BaseModel):
    """Frozen, strict, camelCase on the wire; unknown fields are ignored."""

    model_config = ConfigDict(
        frozen=True, strict=True, alias_generator=to_camel, populate_by_name=True, extra="ignore"
    )


class AdditionalDetails(WireModel):
    """The event's `additionalDetails`: what the backup was taken of, and how (never acted on)."""

    volume_id: str | None = None
    source_type: str | None = None
    # A `status` (operationSucceed/operationFailed) exists for backup events, but where OCI puts it
    # is unconfirmed, so it is not read: the backup's own lifecycle state, read from OCI before
    # copying, decides, wherever the status may be.


class BackupData(WireModel):
    """The event's `data`: the backup that was created; only `resourceId` drives a call."""

    resource_id: str
    # A label: it names the backup in a failure notice when OCI cannot be asked for its name.
    resource_name: Annotated[DisplayName | None, tolerated("data.resourceName", blank=True)] = None
    compartment_id: Annotated[CompartmentId | None, tolerated("data.compartmentId")] = None
    compartment_name: Annotated[str | None, tolerated("data.compartmentName")] = None
    availability_domain: Annotated[str | None, tolerated("data.availabilityDomain")] = None
    # The docs spell it freeFormTags, the API freeformTags: both are accepted.
    freeform_tags: Annotated[dict[str, str], tolerated("data.freeformTags", empty=dict)] = Field(
        default_factory=dict, validation_alias=AliasChoices("freeformTags", "freeFormTags")
    )
    defined_tags: Annotated[dict[str, dict[str, JsonValue]], tolerated("data.definedTags", empty=dict)] = (
        Field(default_factory=dict)
    )
    additional_details: Annotated[
        AdditionalDetails, tolerated("data.additionalDetails", empty=AdditionalDetails)
    ] = Field(default_factory=AdditionalDetails)


class Extensions(WireModel):
    """The envelope's `extensions` (never acted on)."""

    compartment_id: str | None = None


class EventHeader(WireModel):
    """Just enough of any request to route it: an event's type, or a command's action."""

    event_type: str | None = None
    event_id: str | None = Field(default=None, alias="eventID")
    action: str | None = None

    @model_validator(mode="after")
    def _event_or_command(self) -> EventHeader:
        if self.event_type is None and self.action is None:
            raise ValueError("eventType: Field required")
        return self


class SweepRequest(WireModel):
    """{"action": "sweep"}: catch up, expire and report, instead of handling one event."""

    action: Literal["sweep"]


class BackupCreatedEvent(WireModel):
    """A "backup completed" event: the OCI Events envelope around a new backup.

    Strict on what drives a call or labels the invocation (`eventType`, `eventID`,
    `data.resourceId`); every other field is tolerated in any shape (see `tolerated`).
    """

    event_type: str
    event_id: EventId = Field(alias="eventID")
    data: BackupData
    cloud_events_version: Annotated[str | None, tolerated("cloudEventsVersion")] = None
    event_type_version: Annotated[str | None, tolerated("eventTypeVersion")] = None
    source: Annotated[str | None, tolerated("source")] = None
    # Lax: inside a wrap validator the value is a Python str, which a strict datetime refuses.
    event_time: Annotated[AwareDatetime | None, Field(strict=False), tolerated("eventTime")] = None
    content_type: Annotated[str | None, tolerated("contentType")] = None
    extensions: Annotated[Extensions | None, tolerated("extensions")] = None
    # Derived once, while validating: what the event is about, and what was in an odd shape.
    _kind: BackupKind = PrivateAttr()
    _backup: Ocid = PrivateAttr()
    _odd_shapes: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _resource_matches_event_type(self, info: ValidationInfo) -> BackupCreatedEvent:
        kind = BACKUP_CREATED_EVENTS.get(self.event_type.lower())
        if kind is None:
            raise ValueError(f"eventType {self.event_type!r} is not a backup-created event")
        try:
            self._backup = parse_ocid(self.data.resource_id, resource_type=kind.ocid_type)
        except ValueError as exc:
            raise ValueError(f"data.resourceId: {exc}") from None
        self._kind = kind
        noted = info.context.get(_ODD_SHAPES) if isinstance(info.context, dict) else None
        if noted:
            self._odd_shapes = tuple(noted[:MAX_ODD_SHAPES])
        return self

    @property
    def odd_shapes(self) -> tuple[str, ...]:
        """The tolerated fields that were in an unexpected shape, each with what was odd (bounded)."""
        return self._odd_shapes

    @property
    def kind(self) -> BackupKind:
        """Which kind of backup the event is about."""
        return self._kind

    @property
    def backup(self) -> Ocid:
        """The new backup's OCID, parsed (its region is the source region)."""
        return self._backup


_Model = TypeVar("_Model", bound=WireModel)


def read_event(body: bytes) -> EventHeader | BackupCreatedEvent | SweepRequest:
    """Validate a request body: a handled event in full, any other event by its header only.

    Raises InvalidEvent, whose reason names the offending field.
    """
    header = _validate(EventHeader, body)
    # A command is a body without an eventType: an event carrying an "action" is still an event.
    if header.event_type is None:
        return _validate(SweepRequest, body)
    if header.event_type.lower() not in BACKUP_CREATED_EVENTS:
        return header
    try:
        return _validate(BackupCreatedEvent, body)
    except InvalidEvent as exc:
        readable = header.event_id if header.event_id and _EVENT_ID.fullmatch(header.event_id) else None
        raise InvalidEvent(exc.reason, event_id=readable) from None


def _validate(model: type[_Model], body: bytes) -> _Model:
    try:
        return model.model_validate_json(body, context={_ODD_SHAPES: []})
    except ValidationError as exc:
        raise InvalidEvent(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError, *, limit: int = 3) -> str:
    """One line naming each bad field by its wire name (data.resourceId: ...).

    Locations can hold the body's own keys (tag names), so each part is cut and made printable,
    and the whole reason is bounded: it goes into the answer, a log line and a notice.
    """
    return printable("invalid event: " + "; ".join(_error_parts(exc, limit=limit)), MAX_REASON)


def _error_parts(exc: ValidationError, *, limit: int, prefix: str = "") -> list[str]:
    """Each error as "wire.path: message", bounded and printable, at most `limit` of them."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False)[:limit]:
        location = [printable(str(part), MAX_LOCATION_PART) for part in error["loc"]]
        where = ".".join([prefix, *location] if prefix else location)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "json_invalid":
            message = f"the body is not valid JSON ({error['ctx'].get('error', 'parse error')})"
        parts.append(printable(f"{where}: {message}" if where else message, MAX_PART))
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return parts


MAX_LOCATION_PART = 40
MAX_PART = 200
MAX_REASON = 500
# What may not reach a title, a reason or a log line from input: controls (Cc, C0 and C1), format
# characters (Cf: the bidi marks, embeddings, overrides and isolates U+200E, U+200F, U+202A-U+202E,
# U+2066-U+2069, which can make a subject line read backwards, and the zero-width U+200B-U+200D,
# U+2060 and U+FEFF), line and paragraph separators, and lone surrogates, which no encoding takes.
_UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def printable(text: str, limit: int) -> str:
    """`text` with control and format characters made "?", cut to `limit` characters (with an ellipsis)."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    if text.isprintable():
        return text
    # str.isprintable is also false for other spaces, private use and unassigned characters: those stay.
    return "".join("?" if unicodedata.category(char) in _UNPRINTABLE_CATEGORIES else char for char in text)
