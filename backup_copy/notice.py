"""The notification: a title a person understands, and a JSON body with the facts."""

from __future__ import annotations

import json
from dataclasses import dataclass

from backup_copy.copier import Outcome, Status, new_backup_ids
from backup_copy.events import printable

# ONS refuses bodies over 64 KB; the title is a subject line, kept short.
MAX_BODY_BYTES = 64 * 1024
MAX_TITLE = 200


@dataclass(frozen=True)
class Notice:
    """One message for the topic."""

    title: str
    body: str


def should_notify(outcome: Outcome) -> bool:
    """New copies, dry-run plans, every failure and every sweep report are announced."""
    return outcome.report is not None or outcome.status in (
        Status.COPIED,
        Status.DRY_RUN,
        Status.FAILED,
        Status.REJECTED,
    )


def build_notice(outcome: Outcome) -> Notice:
    """The notice for an outcome; the new backup OCIDs come first in the body."""
    if outcome.report is not None:
        return _sweep_notice(outcome)
    name = (
        outcome.source_name
        or outcome.source
        or ("sweep" if outcome.event_type == "sweep" else "unknown backup")
    )
    regions = ", ".join(copy.region for copy in (outcome.new_copies or outcome.copies))
    if outcome.status is Status.COPIED:
        title = f"Backup copied to {regions}{' (tags not set)' if outcome.warnings else ''}: {name}"
    elif outcome.status is Status.DRY_RUN:
        planned = ", ".join(copy.region for copy in outcome.copies if copy.state == "PLANNED")
        title = (
            f"Dry run: backup would be copied to {planned}: {name}"
            if planned
            else f"Dry run: every destination already has a copy: {name}"
        )
    else:
        title = f"Backup copy FAILED ({outcome.status.value}): {name}"
    body: dict[str, object] = {
        "newBackupIds": new_backup_ids(outcome.new_copies),
        "status": outcome.status.value,
        "source": outcome.source,
        "sourceName": outcome.source_name,
        "sourceRegion": outcome.source_region,
        "kind": outcome.kind.value if outcome.kind else None,
        "regions": [copy.region for copy in outcome.copies] + [f.region for f in outcome.failures],
        "copies": [copy.to_json() for copy in outcome.copies],
        "workRequestIds": [c.work_request_id for c in outcome.new_copies if c.work_request_id],
        "eventId": outcome.event_id,
        "eventType": outcome.event_type,
    }
    if outcome.reason is not None:
        body["reason"] = outcome.reason
    if outcome.error_class is not None:
        body["errorClass"] = outcome.error_class
    if outcome.failures:
        body["failures"] = [failure.to_json() for failure in outcome.failures]
    if outcome.warnings:
        body["warnings"] = [warning.to_json() for warning in outcome.warnings]
    text = json.dumps(body, indent=2)
    if len(text.encode()) > MAX_BODY_BYTES:
        # Only a reason quoting hostile input can be this long; the OCIDs matter more than it.
        body["reason"] = str(body.get("reason", ""))[:1000] + " (truncated)"
        text = json.dumps(body, indent=2)
    return Notice(title=_short(title), body=text)


def _sweep_notice(outcome: Outcome) -> Notice:
    assert outcome.report is not None  # noqa: S101  # the caller checked
    report = outcome.report
    body: dict[str, object] = {
        "newBackupIds": new_backup_ids(outcome.new_copies),
        "status": outcome.status.value,
        "reason": outcome.reason,
        "errorClass": outcome.error_class,
        **report.to_json(),
    }
    text = json.dumps(body, indent=2)
    if len(text.encode()) > MAX_BODY_BYTES:
        # A very large sweep: the flagged volumes matter most, then the rest as far as it fits.
        body["rpo"] = [line.to_json() for line in report.flagged]
        text = _fit(body)
    return Notice(title=_short(report.title(outcome.status is Status.DRY_RUN)), body=text)


def _fit(body: dict[str, object]) -> str:
    """The body as JSON within ONS's limit, halving its longest list until it fits; counts stay."""
    lists: dict[str, list[object]] = {key: value for key, value in body.items() if isinstance(value, list)}
    body["totals"] = {key: len(items) for key, items in lists.items()}
    text = json.dumps(body)
    while len(text.encode()) > MAX_BODY_BYTES and any(lists.values()):
        longest = max(lists, key=lambda key: len(lists[key]))
        lists[longest] = lists[longest][: len(lists[longest]) // 2]
        body.update(lists)
        body["truncated"] = "lists are cut to fit the 64 KB notice; totals gives their full lengths"
        text = json.dumps(body)
    return text


def _short(title: str) -> str:
    # A title is an e-mail subject: nothing from the event may break it into header lines.
    return printable(" ".join(title.split()), MAX_TITLE)
