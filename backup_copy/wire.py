"""Every JSON shape the function sends: the answer, the notice body and the sweep report.

One serialiser per shape, here and nowhere else. Plain functions rather than pydantic models:
building seven frozen response models costs about 28 ms of a cold start on the development machine
(2 vCPU, Python 3.11.7, pydantic 2.14), and these shapes need no validation.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping

from backup_copy import __version__
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

# Fn refuses a response body over 6 MB (OCI Functions limits, invocation payload); an answer is
# kept far below that, and a sweep's long lists are what gets cut.
MAX_ANSWER_BYTES = 1024 * 1024
# Strings are cut to these lengths in turn, lists only after the second; OCIDs (about 100
# characters) survive both.
_STRING_CUTS = (1000, 300)
_LAST_STRING_CUTS = (100, 40, 10)


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
        "copies": [copy_json(copy) for copy in copies_of(outcome)],
        "version": __version__,
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
            "version": __version__,
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


def copies_of(outcome: Outcome) -> tuple[BackupCopy, ...]:
    """The copies an answer lists: an event's every destination, a sweep's new copies."""
    if isinstance(outcome, SweepOutcome):
        return outcome.new_copies
    return outcome.copies


def fit_json(
    body: JsonObject,
    limit: int,
    *,
    indent: int | None = None,
    keep: Collection[str] = (),
    notes: Mapping[str, str] | None = None,
    totals: Mapping[str, int] | None = None,
) -> str:
    """`body` as JSON text of at most `limit` bytes of UTF-8, cut by fit() if it is longer."""
    if not notes:
        text = json.dumps(body, indent=indent)
        if len(text.encode()) <= limit:
            return text
    return json.dumps(fit(body, limit, keep=keep, notes=notes, totals=totals))


def fit(
    body: JsonObject,
    limit: int,
    *,
    keep: Collection[str] = (),
    notes: Mapping[str, str] | None = None,
    totals: Mapping[str, int] | None = None,
) -> JsonObject:
    """`body`, or a copy cut until its compact JSON takes at most `limit` bytes of UTF-8.

    Long strings are cut first (ending in an ellipsis), then every list to as many items as fit, then
    strings again; the top-level lists named in `keep` stay whole unless nothing else is left to cut.
    A cut body says so: `truncated` names what was cut (with the caller's `notes` on cuts it made
    itself), and `totals` gives the full length of every list, `totals` overriding what the body shows.
    """
    if not notes and _size(body) <= limit:
        return body
    full = {**_list_lengths(body), **(totals or {})}
    longest = max(full.values(), default=0)
    longest_string = _longest_string(body, keep)

    def attempt(strings: int | None, items: int | None, kept: int | None = None) -> JsonObject | None:
        cut: JsonObject = {
            key: (value[:kept] if kept is not None and isinstance(value, list) else value)
            if key in keep
            else _cut(value, strings, items)
            for key, value in body.items()
        }
        shortened = sorted(path for path, length in _list_lengths(cut).items() if length < full.get(path, 0))
        truncated: JsonObject = {"limitBytes": limit, "lists": shortened, **(notes or {})}
        if strings is not None and longest_string > strings:
            truncated["stringsCutTo"] = strings
        cut["truncated"] = truncated
        cut["totals"] = full
        return cut if _size(cut) <= limit else None

    # Uncut, the body fits only when the caller's own cut is all there is to say (`notes`).
    for strings in (None, *_STRING_CUTS) if notes else _STRING_CUTS:
        if (fitted := attempt(strings, None)) is not None:
            return fitted
    strings = _STRING_CUTS[-1]
    best = attempt(strings, 0)
    if best is not None:
        # The largest number of items per list that still fits: fewer items never make it longer.
        low, high = 0, longest
        while high - low > 1:
            middle = (low + high) // 2
            if (fitted := attempt(strings, middle)) is not None:
                best, low = fitted, middle
            else:
                high = middle
        return best
    for strings in _LAST_STRING_CUTS:
        if (fitted := attempt(strings, 0)) is not None:
            return fitted
    # Only the kept lists are left to cut (more new OCIDs than the limit holds, which cannot happen
    # with OCI's copy limits): as many as fit.
    for kept in _halvings(
        max((len(v) for k, v in body.items() if k in keep and isinstance(v, list)), default=0)
    ):
        if (fitted := attempt(_LAST_STRING_CUTS[-1], 0, kept)) is not None:
            return fitted
    return {"truncated": {"limitBytes": limit, "lists": sorted(full)}}


def _cut(value: object, strings: int | None, items: int | None) -> object:
    if isinstance(value, str):
        return value if strings is None or len(value) <= strings else value[: strings - 1] + "…"
    if isinstance(value, list):
        return [_cut(item, strings, items) for item in (value if items is None else value[:items])]
    if isinstance(value, dict):
        return {key: _cut(item, strings, items) for key, item in value.items()}
    return value


def _list_lengths(value: object, path: str = "") -> dict[str, int]:
    """The length of every list reached through objects alone, by its dotted path (sweep.failures)."""
    lengths: dict[str, int] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(item, list):
                lengths[where] = len(item)
            else:
                lengths.update(_list_lengths(item, where))
    return lengths


def _longest_string(value: object, skip: Collection[str] = ()) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return max((_longest_string(item) for key, item in value.items() if key not in skip), default=0)
    if isinstance(value, list):
        return max((_longest_string(item) for item in value), default=0)
    return 0


def _halvings(count: int) -> list[int]:
    steps = []
    while count > 0:
        count //= 2
        steps.append(count)
    return steps


def _size(body: JsonObject) -> int:
    return len(json.dumps(body).encode())
