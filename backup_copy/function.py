"""The composition root: one invocation, from request bytes to the JSON answer."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from threading import Lock

from backup_copy.copier import Gateway, Notifier, Outcome, Status, copy_backup, new_backup_ids
from backup_copy.deadline import Deadline
from backup_copy.errors import BackupCopyError, ConfigurationError, Failed, InvalidEvent
from backup_copy.events import BackupCreatedEvent, EventHeader, SweepRequest, read_event
from backup_copy.logs import configure_logging, log_context
from backup_copy.notice import build_notice, should_notify
from backup_copy.settings import Settings, load_notice_settings, load_settings

log = logging.getLogger(__name__)
MAX_ECHOED_ID = 128


@dataclass(frozen=True)
class Answer:
    """The HTTP answer: 200 or 502, and a JSON body."""

    status_code: int
    body: str


@dataclass(frozen=True)
class Runtime:
    """What warm invocations reuse: the validated settings and the gateway with its clients."""

    settings: Settings
    gateway: Gateway


_runtime: Runtime | None = None
_runtime_lock = Lock()


def runtime() -> Runtime:
    """Build the runtime on first use (config read, gateway made) and keep it for warm calls."""
    global _runtime  # noqa: PLW0603  # the one cache of a warm container
    with _runtime_lock:
        if _runtime is None:
            from backup_copy.oci_gateway import OciGateway  # the SDK loads on first use only

            settings = load_settings()
            _runtime = Runtime(settings, OciGateway(endpoint_template=settings.oci_endpoint_template))
        return _runtime


def reset_runtime() -> None:
    """Forget the cached runtime (the configuration changed: tests, local runs)."""
    global _runtime  # noqa: PLW0603
    with _runtime_lock:
        _runtime = None


def handle(body: bytes, *, deadline: Deadline, call_id: str | None = None) -> Answer:
    """Handle one request body: validate, copy, notify, answer."""
    configure_logging()
    with log_context(callId=call_id):
        outcome = _decide(body, deadline)
        with log_context(eventId=outcome.event_id, source=outcome.source):
            outcome = _announce(outcome, deadline)
            _log_outcome(outcome)
    return Answer(outcome.status.http_status, json.dumps(outcome.to_json()))


def _decide(body: bytes, deadline: Deadline) -> Outcome:
    try:
        event = read_event(body)
    except InvalidEvent as exc:
        return Outcome.from_error(exc, event_id=exc.event_id)
    if isinstance(event, EventHeader):
        event_type = (event.event_type or "")[:MAX_ECHOED_ID]
        return Outcome(
            status=Status.IGNORED,
            reason=f"event type {event_type!r} is not a backup-created event",
            event_id=(event.event_id or "")[:MAX_ECHOED_ID] or None,
            event_type=event_type,
        )
    try:
        return _act(event, deadline)
    except Exception as exc:
        failed = _as_failure(exc)
    if isinstance(event, BackupCreatedEvent):
        return Outcome.from_error(failed, event=event)
    return replace(Outcome.from_error(failed), event_type="sweep")


def _act(event: BackupCreatedEvent | SweepRequest, deadline: Deadline) -> Outcome:
    current = runtime()
    if isinstance(event, SweepRequest):
        from backup_copy.sweep import sweep  # a scheduled sweep's code stays off the event path

        return sweep(current.settings, current.gateway, deadline, datetime.now(UTC))
    return copy_backup(event, current.settings, current.gateway, deadline)


def _announce(outcome: Outcome, deadline: Deadline) -> Outcome:
    """Publish the notice the outcome calls for; a notice that cannot go out fails the call."""
    if not should_notify(outcome):
        return outcome
    notice = build_notice(outcome)
    try:
        topic_id, notifier = _notifier()
        message_id = notifier.publish(topic_id, notice.title, notice.body, deadline)
    except Exception as error:
        exc = _as_failure(error)
        log.error(
            "notice not published",
            extra={"fields": {"reason": exc.reason, "newBackupIds": new_backup_ids(outcome.new_copies)}},
        )
        if outcome.status.http_status != 200:
            return outcome
        # The copies stand (a redelivery finds them and makes none); the caller must hear of it.
        return replace(
            outcome,
            status=Status.FAILED,
            reason=f"{outcome.status.value}, but the notice could not be published: {exc.reason}",
            error_class="notification",
        )
    log.info("notice published", extra={"fields": {"messageId": message_id, "title": notice.title}})
    return outcome


def _as_failure(exc: Exception) -> BackupCopyError:
    """A known failure as it is; anything else is a bug, logged with its traceback and reported."""
    if isinstance(exc, BackupCopyError):
        return exc
    log.exception("unexpected error")
    return Failed(f"internal error: {type(exc).__name__}: {exc}")


def _notifier() -> tuple[str, Notifier]:
    """The topic and a publisher: the runtime's, or, if the configuration is bad, one of its own."""
    try:
        current = runtime()
    except ConfigurationError:
        from backup_copy.oci_gateway import OciGateway

        # A bad DESTINATION_REGIONS must still be heard, if the topic itself is readable.
        notice_settings = load_notice_settings()
        return notice_settings.notification_topic_id, OciGateway(
            endpoint_template=notice_settings.oci_endpoint_template
        )
    return current.settings.notification_topic_id, current.gateway


def _log_outcome(outcome: Outcome) -> None:
    fields = {
        "status": outcome.status.value,
        "newBackupIds": new_backup_ids(outcome.new_copies),
        "copies": [copy.to_json() for copy in outcome.copies],
        "reason": outcome.reason,
        "errorClass": outcome.error_class,
    }
    level = logging.ERROR if outcome.status.http_status != 200 else logging.INFO
    log.log(level, f"backup {outcome.status.value}", extra={"fields": fields})
