"""One invocation, from request bytes to the JSON answer: parse, act, announce, log, answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from backup_copy.backups import RegionFailure, new_backup_ids
from backup_copy.copying import copy_event, problem_reason
from backup_copy.deadline import Deadline
from backup_copy.errors import BackupCopyError, ConfigurationError, Failed, InvalidEvent
from backup_copy.events import BackupCreatedEvent, EventHeader, SweepRequest, read_event
from backup_copy.logs import configure_logging, log_context
from backup_copy.notice import build_notice, should_notify
from backup_copy.outcome import CopyOutcome, Outcome, SourceFailure, Status, SweepOutcome
from backup_copy.runtime import Runtimes
from backup_copy.settings import Problem
from backup_copy.wire import MAX_ANSWER_BYTES, answer, copies_of, copy_json, fit, fit_json, report_json

log = logging.getLogger(__name__)
MAX_ECHOED_ID = 128
# A log line stays well inside what OCI Logging takes as one entry (under 1 MB, the
# loggingingestion LogEntry); a longer report is cut and says so.
MAX_LOG_FIELDS_BYTES = 256 * 1024


@dataclass(frozen=True)
class Answer:
    """The HTTP answer: 200 or 502, and a JSON body."""

    status_code: int
    body: str


def handle(body: bytes, *, deadline: Deadline, runtimes: Runtimes, call_id: str | None = None) -> Answer:
    """Handle one request body: validate, copy (or sweep), notify, answer."""
    configure_logging()
    with log_context(callId=call_id):
        outcome = _decide(body, deadline, runtimes)
        with log_context(eventId=outcome.event_id, source=outcome.source):
            outcome = _announce(outcome, deadline, runtimes)
            if isinstance(outcome, SweepOutcome):
                outcome = _post_metrics(outcome, deadline, runtimes)
            _log_outcome(outcome)
    # Bounded whatever the sweep found: the answer's lists are cut (with totals) past MAX_ANSWER_BYTES.
    return Answer(outcome.status.http_status, fit_json(answer(outcome), MAX_ANSWER_BYTES, keep=("copies",)))


def _decide(body: bytes, deadline: Deadline, runtimes: Runtimes) -> Outcome:
    try:
        request = read_event(body)
    except InvalidEvent as exc:
        return CopyOutcome.from_error(exc, event_id=exc.event_id)
    if isinstance(request, EventHeader):
        event_type = (request.event_type or "")[:MAX_ECHOED_ID]
        return CopyOutcome(
            status=Status.IGNORED,
            reason=f"event type {event_type!r} is not a backup-created event",
            event_id=(request.event_id or "")[:MAX_ECHOED_ID] or None,
            event_type=event_type,
        )
    if isinstance(request, SweepRequest):
        try:
            current = runtimes.runtime()
            stopping = [str(problem) for problem in current.problems if problem.stops_sweep]
            if stopping:
                raise ConfigurationError("invalid configuration: " + "; ".join(stopping))
            # A scheduled sweep's code stays off the event path's imports.
            from backup_copy.sweep import run_sweep

            outcome = run_sweep(current.settings, current.gateway, deadline, datetime.now(UTC))
            return _sweep_failed_for(outcome, current.problems) if current.problems else outcome
        except Exception as exc:
            return SweepOutcome.from_error(_as_failure(exc))
    if request.odd_shapes:
        # Fields the function never acts on: worth a look (OCI may have changed a shape), not a refusal.
        log.warning(
            "event fields in an unexpected shape were ignored",
            extra={"fields": {"eventId": request.event_id, "oddFields": list(request.odd_shapes)}},
        )
    problems: tuple[Problem, ...] = ()
    try:
        current = runtimes.runtime()
        problems = current.problems
        # The work's own log lines (the gateway's retries, a destination's bug) name the event too.
        with log_context(eventId=request.event_id, source=request.data.resource_id):
            return copy_event(request, current.settings, current.gateway, deadline, problems)
    except Exception as exc:
        return _event_failure(request, _as_failure(exc), problems)


def _event_failure(
    event: BackupCreatedEvent, error: BackupCopyError, problems: tuple[Problem, ...] = ()
) -> CopyOutcome:
    outcome = CopyOutcome.from_error(
        error,
        event_id=event.event_id,
        event_type=event.event_type,
        source=event.data.resource_id,
        kind=event.kind,
        source_name=event.data.resource_name,
        source_region=event.backup.region,
    )
    if problems:
        # The configuration's problems are named even when the copy failed for another reason.
        return replace(outcome, reason=problem_reason(outcome.status, outcome.reason, problems))
    return outcome


def _sweep_failed_for(outcome: SweepOutcome, problems: tuple[Problem, ...]) -> SweepOutcome:
    """The sweep failed for the configuration's problems, each one of the report's failures."""
    named = tuple(
        SourceFailure(
            problem.key,
            RegionFailure(", ".join(problem.destinations), str(problem), ConfigurationError.error_class),
        )
        for problem in problems
    )
    return replace(
        outcome,
        status=Status.FAILED,
        report=outcome.report and replace(outcome.report, failures=named + outcome.report.failures),
        reason=problem_reason(outcome.status, outcome.reason, problems),
        error_class=ConfigurationError.error_class,
    )


def _announce(outcome: Outcome, deadline: Deadline, runtimes: Runtimes) -> Outcome:
    """Publish the notice the outcome calls for; a notice that cannot go out fails the call."""
    if not should_notify(outcome):
        return outcome
    notice = build_notice(outcome)
    try:
        target = runtimes.notice_runtime()
        message_id = target.notifier.publish(target.topic_id, notice.title, notice.body, deadline)
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


def _post_metrics(outcome: SweepOutcome, deadline: Deadline, runtimes: Runtimes) -> SweepOutcome:
    """Post the sweep's RPO and counts to Monitoring, after its notice; a failure is a note, not a failure.

    The sweep's copies and deletes stand whatever Monitoring answers, and the notice has gone out:
    failing the sweep would make the failures alarm cry wolf. A sweep whose metrics never arrive is
    seen by the kit's "sweep silent" alarm (a missing stream), the WARNING line and the note.
    """
    report = outcome.report
    if report is None:  # it failed before looking at anything: there is no RPO to report
        return outcome
    from backup_copy.metrics import NAMESPACE, sweep_metrics

    try:
        current = runtimes.runtime()
        points = sweep_metrics(report, deployment=current.settings.deployment, now=datetime.now(UTC))
        posted = current.gateway.post_metrics(NAMESPACE, points, report.source_region, deadline)
    except Exception as error:
        reason = _as_failure(error).reason
        log.warning("metrics not posted", extra={"fields": {"reason": reason}})
        note = f"metrics not posted to Monitoring: {reason}"
        return replace(outcome, report=replace(report, notes=(*report.notes, note)))
    log.info("metrics posted", extra={"fields": {"namespace": NAMESPACE, "datapoints": posted}})
    return outcome


def _as_failure(exc: Exception) -> BackupCopyError:
    """A known failure as it is; anything else is a bug, logged with its traceback and reported."""
    if isinstance(exc, BackupCopyError):
        return exc
    log.exception("unexpected error")
    return Failed(f"internal error: {type(exc).__name__}: {exc}")


def _log_outcome(outcome: Outcome) -> None:
    copies = copies_of(outcome)
    fields: dict[str, object] = {
        "status": outcome.status.value,
        "newBackupIds": new_backup_ids(outcome.new_copies),
        "copies": [copy_json(copy) for copy in copies],
        "reason": outcome.reason,
        "errorClass": outcome.error_class,
    }
    if isinstance(outcome, SweepOutcome) and outcome.report is not None:
        # The complete report, which the answer and the notice may have had to cut, as far as it fits.
        fields["sweep"] = report_json(outcome.report)
    fields = fit(fields, MAX_LOG_FIELDS_BYTES, keep=("newBackupIds", "copies"))
    level = logging.ERROR if outcome.status.http_status != 200 else logging.INFO
    subject = "sweep" if isinstance(outcome, SweepOutcome) else "backup"
    log.log(level, f"{subject} {outcome.status.value.replace('_', ' ')}", extra={"fields": fields})
