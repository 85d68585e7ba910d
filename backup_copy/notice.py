"""The notification: a title a person understands, and a JSON body with the facts (backup_copy.wire)."""

from __future__ import annotations

from dataclasses import dataclass

from backup_copy.events import printable
from backup_copy.outcome import Outcome, Status, SweepOutcome, SweepReport
from backup_copy.wire import fit_json, notice_body, rpo_json, whole_json

# ONS refuses bodies over 64 KB; the title is a subject line, kept short.
MAX_BODY_BYTES = 64 * 1024
MAX_TITLE = 200
# What a subscriber acts on, never cut to fit the body: a handful of OCIDs per event, and no more
# than the sweep's copies in flight.
_KEEP_WHOLE = ("newBackupIds",)


@dataclass(frozen=True)
class Notice:
    """One message for the topic."""

    title: str
    body: str


def should_notify(outcome: Outcome) -> bool:
    """New copies, dry-run plans, every failure and every sweep report are announced.

    A destination only QUEUED is not: the sweep copies it and announces that, and a burst of backups
    would otherwise send a notice per backup (an e-mail subscription gets at most 10 a minute).
    """
    return isinstance(outcome, SweepOutcome) or outcome.status in (
        Status.COPIED,
        Status.DRY_RUN,
        Status.FAILED,
        Status.REJECTED,
    )


def build_notice(outcome: Outcome) -> Notice:
    """The notice for an outcome; the new backup OCIDs come first in the body."""
    if isinstance(outcome, SweepOutcome) and outcome.report is not None:
        return _sweep_notice(outcome, outcome.report)
    # A long OCI message or a reason quoting hostile input is cut, never the new OCIDs.
    text = fit_json(notice_body(outcome), MAX_BODY_BYTES, indent=2, keep=_KEEP_WHOLE)
    return Notice(title=_short(_title(outcome)), body=text)


def _title(outcome: Outcome) -> str:
    if isinstance(outcome, SweepOutcome):
        return f"FAILED: the backup sweep could not run ({_cause(outcome.error_class)})"
    if outcome.status is Status.REJECTED:
        return "FAILED: an event could not be read, so no backup was copied"
    name = outcome.source_name or outcome.source or "unknown backup"
    regions = ", ".join(copy.region for copy in (outcome.new_copies or outcome.copies))
    if outcome.status is Status.COPIED:
        waiting = ", ".join(item.region for item in outcome.waiting)
        queued = f" (queued for {waiting})" if waiting else ""
        untagged = any(warning.error_class == "tags" for warning in outcome.warnings)
        return f"Backup copied to {regions}{queued}{' (tags not set)' if untagged else ''}: {name}"
    if outcome.status is Status.DRY_RUN:
        planned = ", ".join(copy.region for copy in outcome.copies if copy.state == "PLANNED")
        if planned:
            return f"Dry run: backup would be copied to {planned}: {name}"
        return f"Dry run: every destination already has a copy: {name}"
    failed = ", ".join(failure.region for failure in outcome.failures)
    where = f" to {failed}" if failed else f" ({_cause(outcome.error_class)})"
    return f"FAILED: backup {name} was not copied{where}"


def _cause(error_class: str | None) -> str:
    return {
        "configuration": "invalid configuration",
        "transient": "OCI kept failing, and time ran out",
        "permanent": "OCI refused",
        "notification": "the notice could not be published",
    }.get(error_class or "", "see the reason")


def sweep_title(report: SweepReport, *, dry_run: bool) -> str:
    """A subject line a person can act on."""
    if report.examined == 0 and not report.rpo and not report.failures:
        # A wrong SWEEP_COMPARTMENT_IDS or SWEEP_REGION looks like this: never a reassuring "RPO met".
        return (
            f"Backup sweep of {report.source_region} found no backups to protect: "
            "check SWEEP_COMPARTMENT_IDS and SWEEP_REGION"
        )
    verb = "would copy" if dry_run else "copied"
    parts = [f"{verb} {len(report.copied)}"]
    if report.expired:
        parts.append(f"{'would delete' if dry_run else 'deleted'} {len(report.expired)}")
    if report.failures:
        parts.append(f"{len(report.failures)} FAILED")
    if report.queued:
        parts.append(f"{len(report.queued)} queued")
    if report.left:
        parts.append(f"{len(report.left)} left for the next run")
    parts.append(f"{len(report.flagged)} past RPO" if report.flagged else "RPO met")
    return f"Backup sweep of {report.source_region}: " + ", ".join(parts)


def _sweep_notice(outcome: SweepOutcome, report: SweepReport) -> Notice:
    body = notice_body(outcome)
    text = whole_json(body, MAX_BODY_BYTES, indent=2)
    if text is None:
        # A very large sweep: the flagged volumes matter most, then the rest as far as it fits.
        body["rpo"] = [rpo_json(line) for line in report.flagged]
        text = fit_json(
            body,
            MAX_BODY_BYTES,
            keep=_KEEP_WHOLE,
            notes={"rpo": "only the lines flagged past RPO or FAULTY"},
            totals={"rpo": len(report.rpo)},
        )
    return Notice(title=_short(sweep_title(report, dry_run=outcome.status is Status.DRY_RUN)), body=text)


def _short(title: str) -> str:
    # A title is an e-mail subject: nothing from the event may break it into header lines.
    return printable(" ".join(title.split()), MAX_TITLE)
