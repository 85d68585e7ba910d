"""Notices fit ONS's 64 KB whatever they report, titles carry no bidi characters, answers stay bounded."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from backup_copy.backups import Backup, BackupCopy, BackupKind, RegionFailure
from backup_copy.deadline import Deadline
from backup_copy.errors import PermanentError
from backup_copy.handler import MAX_LOG_FIELDS_BYTES, handle
from backup_copy.notice import MAX_BODY_BYTES, MAX_TITLE, build_notice
from backup_copy.outcome import CopyOutcome, SourceCopy, SourceFailure, Status, SweepOutcome, SweepReport
from backup_copy.runtime import Runtimes
from backup_copy.wire import MAX_ANSWER_BYTES
from tests.conftest import Config
from tests.events import event_bytes, event_json
from tests.fakes import COMPARTMENT, FakeGateway

HOME, AWAY, FAR = "us-phoenix-1", "us-ashburn-1", "eu-frankfurt-1"
BOOT_EVENT = "boot-volume-backup-end.json"
# A volume backup is copied to every destination at once.
VOLUME_EVENT = "volume-backup-end.json"
# What OCI says when it refuses a copy, at length: a KMS key error quoting a whole policy, say.
LONG_OCI_MESSAGE = "the key is not usable by the service: " + "policy statement quoted at length " * 3000
# The Unicode bidi controls and zero-width characters that can make a subject line lie.
BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200d\u2060\ufeff\u061c"


def body_of(text: str) -> dict[str, object]:
    assert len(text.encode()) <= MAX_BODY_BYTES
    body: dict[str, object] = json.loads(text)
    return body


def has_format_or_control(text: str) -> bool:
    return any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in text)


def new_copy(number: int, region: str = FAR) -> BackupCopy:
    return BackupCopy(
        region=region,
        id=f"ocid1.bootvolumebackup.oc1.{region}.copy{number:04d}" + "x" * 60,
        state="CREATING",
        work_request_id=f"ocid1.workrequest.oc1.{region}.wr{number}",
    )


def sweep_outcome(failures: int, reason: str, copied: int = 10) -> SweepOutcome:
    report = SweepReport(
        source_region=HOME,
        examined=failures + copied,
        copied=tuple(
            SourceCopy(f"ocid1.bootvolumebackup.oc1.phx.src{n}", new_copy(n)) for n in range(copied)
        ),
        failures=tuple(
            SourceFailure(
                f"ocid1.bootvolumebackup.oc1.phx.failing{n:04d}",
                RegionFailure(region=AWAY, reason=f"{n}: {reason}", error_class="permanent"),
            )
            for n in range(failures)
        ),
    )
    joined = "; ".join(f"{f.subject}: {f.failure.region}: {f.failure.reason}" for f in report.failures)
    return SweepOutcome(status=Status.FAILED, report=report, reason=joined, error_class="permanent")


def test_a_sweep_report_of_400_long_failures_fits_one_notice_that_says_what_was_cut() -> None:
    outcome = sweep_outcome(400, "OCI answered 400 InvalidParameter to copy: " + "x" * 1500)
    notice = build_notice(outcome)
    body = body_of(notice.body)
    assert next(iter(body)) == "newBackupIds"
    assert body["newBackupIds"] == [copy.id for copy in outcome.new_copies]
    assert body["totals"] == {
        "newBackupIds": 10,
        "copied": 10,
        "failures": 400,
        "warnings": 0,
        "left": 0,
        "queued": 0,
        "expired": 0,
        "kept": 0,
        "rpo": 0,
        "notes": 0,
    }
    truncated = body["truncated"]
    assert isinstance(truncated, dict)
    assert truncated["limitBytes"] == 65536
    assert truncated["lists"] == ["failures"]
    assert truncated["stringsCutTo"] == 300
    failures = body["failures"]
    assert isinstance(failures, list)
    # As many failures as fit, each still naming its backup and region, and the reason's start.
    assert 100 <= len(failures) < 400
    assert failures[0]["source"] == "ocid1.bootvolumebackup.oc1.phx.failing0000"
    assert failures[0]["reason"].startswith("0: OCI answered 400 InvalidParameter to copy: xxx")
    assert len(notice.title) <= MAX_TITLE
    assert notice.title == "Backup sweep of us-phoenix-1: copied 10, 400 FAILED, RPO met"


@pytest.mark.parametrize(
    "char",
    [
        pytest.param("é", id="two bytes"),
        pytest.param("日", id="three bytes"),
        pytest.param("🙂", id="four bytes"),
        pytest.param('"', id="escaped quote"),
        pytest.param("\x01", id="control, six bytes escaped"),
        pytest.param("\u202e", id="bidi override"),
    ],
)
def test_no_notice_passes_64_kb_whatever_characters_its_reasons_hold(char: str) -> None:
    event = CopyOutcome(
        status=Status.FAILED,
        source="ocid1.bootvolumebackup.oc1.phx.source",
        reason=char * 100_000,
        source_name=char * 255,
        new_copies=(new_copy(1),),
        copies=(new_copy(1),),
        failures=tuple(
            RegionFailure(region=f"r{n}", reason=char * 100_000, error_class="permanent") for n in range(3)
        ),
        error_class="permanent",
    )
    for outcome in (event, sweep_outcome(400, char * 2000)):
        notice = build_notice(outcome)
        body = body_of(notice.body)
        assert body["newBackupIds"] == [copy.id for copy in outcome.new_copies]
        assert "truncated" in body
        assert len(notice.title) <= MAX_TITLE
        assert not has_format_or_control(notice.title)


def test_a_notice_that_fits_is_sent_whole_and_readable() -> None:
    notice = build_notice(sweep_outcome(3, "quota exceeded"))
    body = body_of(notice.body)
    assert "truncated" not in body
    assert "totals" not in body
    assert len(body["failures"]) == 3  # type: ignore[arg-type]
    assert notice.body.startswith('{\n  "newBackupIds": [')


def call(runtimes: Runtimes, body: bytes) -> tuple[int, str]:
    answer = handle(body, deadline=Deadline.after(30), runtimes=runtimes, call_id="01TESTCALL")
    return answer.status_code, answer.body


def test_an_event_whose_oci_error_is_100_kb_is_announced_within_64_kb_with_its_new_copy_whole(
    runtimes: Runtimes, fake_runtime: FakeGateway
) -> None:
    source = event_json(VOLUME_EVENT)["data"]["resourceId"]
    fake_runtime.add_source(source, kind=BackupKind.VOLUME)
    fake_runtime.fail_copy_to[AWAY] = PermanentError(
        f"OCI answered 400 InvalidParameter to copy in {HOME}: {LONG_OCI_MESSAGE}",
        operation="copy",
        region=HOME,
    )
    status, answer = call(runtimes, event_bytes(VOLUME_EVENT))
    assert status == 502
    assert len(answer.encode()) <= MAX_ANSWER_BYTES
    [(_, title, text)] = fake_runtime.published
    body = body_of(text)
    [copied] = [copy for copy in json.loads(answer)["copies"] if copy["region"] == FAR]
    assert body["newBackupIds"] == [copied["id"]]
    assert body["status"] == "failed"
    assert str(body["reason"]).startswith(
        f"{AWAY}: OCI answered 400 InvalidParameter to copy in {HOME}: the key"
    )
    assert body["failures"] == [
        {"region": AWAY, "reason": str(body["failures"][0]["reason"]), "class": "permanent"}  # type: ignore[index]
    ]
    assert body["truncated"] == {"limitBytes": 65536, "lists": [], "stringsCutTo": 1000}
    assert title == f"FAILED: backup web-01 (Boot Volume) manual was not copied to {AWAY}"


def seed_sweep(gateway: FakeGateway, count: int) -> None:
    now = datetime.now(UTC)
    for number in range(count):
        gateway.add_backup(
            Backup(
                id=f"ocid1.bootvolumebackup.oc1.phx.sweep{number:04d}",
                kind=BackupKind.BOOT,
                region=HOME,
                compartment_id=COMPARTMENT,
                display_name=f"vm-{number} daily",
                lifecycle_state="AVAILABLE",
                volume_id=f"ocid1.bootvolume.oc1.phx.vol{number:04d}",
                source_type="SCHEDULED",
                time_created=now - timedelta(hours=1),
            )
        )


def test_a_sweep_of_3000_failing_backups_answers_under_1_mb_and_logs_what_fits(
    config: Config, runtimes: Runtimes, fake_runtime: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    config.update(DESTINATION_REGIONS=AWAY, SWEEP_COMPARTMENT_IDS=COMPARTMENT, SWEEP_REGION=HOME)
    seed_sweep(fake_runtime, 3000)
    fake_runtime.fail_copy_to[AWAY] = PermanentError(
        f"OCI answered 400 InvalidParameter to copy in {HOME}: {LONG_OCI_MESSAGE[:500]}",
        operation="copy",
        region=HOME,
    )
    status, text = call(runtimes, b'{"action": "sweep"}')
    assert status == 502
    assert len(text.encode()) <= MAX_ANSWER_BYTES
    answer = json.loads(text)
    assert answer["totals"]["sweep.failures"] == 3000
    assert "sweep.failures" in answer["truncated"]["lists"]
    assert 0 < len(answer["sweep"]["failures"]) < 3000
    [(_, title, notice)] = fake_runtime.published
    assert body_of(notice)["totals"]["failures"] == 3000  # type: ignore[index]
    # Each backup is young and waits for its copy (the next sweep retries it): failed, not yet late.
    assert title == "Backup sweep of us-phoenix-1: copied 0, 3000 FAILED, RPO met"
    [line] = [json.loads(line) for line in capsys.readouterr().err.splitlines() if "sweep failed" in line]
    assert len(json.dumps(line["sweep"]).encode()) <= MAX_LOG_FIELDS_BYTES
    assert line["totals"]["sweep.failures"] == 3000
    assert "sweep.failures" in line["truncated"]["lists"]


def test_a_sweep_log_line_keeps_the_whole_report_when_it_fits(
    config: Config, runtimes: Runtimes, fake_runtime: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    config.update(DESTINATION_REGIONS=AWAY, SWEEP_COMPARTMENT_IDS=COMPARTMENT, SWEEP_REGION=HOME)
    seed_sweep(fake_runtime, 3)
    status, text = call(runtimes, b'{"action": "sweep"}')
    assert status == 200
    [line] = [json.loads(line) for line in capsys.readouterr().err.splitlines() if "sweep copied" in line]
    assert line["sweep"] == json.loads(text)["sweep"]
    assert len(line["sweep"]["copied"]) == 3
    assert "truncated" not in line


def test_bidi_and_zero_width_characters_in_a_backup_name_never_reach_the_title(
    runtimes: Runtimes, fake_runtime: FakeGateway
) -> None:
    source = event_json(BOOT_EVENT)["data"]["resourceId"]
    backup = fake_runtime.add_source(source)
    fake_runtime.add_backup(replace(backup, display_name=f"web-01{BIDI}10-bew\u2028daily"))
    status, _ = call(runtimes, event_bytes(BOOT_EVENT))
    assert status == 200
    [(_, title, _)] = fake_runtime.published
    assert (
        title
        == "Backup copied to us-ashburn-1 (queued for eu-frankfurt-1): web-01"
        + "?" * len(BIDI)
        + "10-bew daily"
    )
    assert not has_format_or_control(title)


def test_bidi_characters_in_a_failed_events_name_never_reach_the_title(
    runtimes: Runtimes, fake_runtime: FakeGateway
) -> None:
    event = event_json(BOOT_EVENT)
    event["data"]["resourceName"] = f"\u202eweb-01{BIDI}"
    status, _ = call(runtimes, json.dumps(event).encode())
    assert status == 502  # the fake holds no such backup
    [(_, title, _)] = fake_runtime.published
    assert title.startswith("FAILED: backup ?web-01")
    assert not has_format_or_control(title)


def test_a_sweep_that_found_nothing_says_so_instead_of_rpo_met(
    config: Config, runtimes: Runtimes, fake_runtime: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    # A wrong SWEEP_COMPARTMENT_IDS: nothing to copy, nothing to report on.
    config.update(DESTINATION_REGIONS=AWAY, SWEEP_COMPARTMENT_IDS=COMPARTMENT, SWEEP_REGION=HOME)
    status, _ = call(runtimes, b'{"action": "sweep"}')
    assert status == 200
    [(_, title, _)] = fake_runtime.published
    assert title == (
        f"Backup sweep of {HOME} found no backups to protect: check SWEEP_COMPARTMENT_IDS and SWEEP_REGION"
    )
    messages = [json.loads(line)["message"] for line in capsys.readouterr().err.splitlines()]
    assert "sweep already copied" in messages


def test_a_sweep_that_cannot_run_says_so_in_a_sentence(
    config: Config, runtimes: Runtimes, fake_runtime: FakeGateway
) -> None:
    config.update(DESTINATION_REGIONS=AWAY, SWEEP_REGION=HOME)  # no SWEEP_COMPARTMENT_IDS
    status, _ = call(runtimes, b'{"action": "sweep"}')
    assert status == 502
    [(_, title, _)] = fake_runtime.published
    assert title == "FAILED: the backup sweep could not run (invalid configuration)"


def test_a_malformed_event_is_announced_in_a_sentence(runtimes: Runtimes, fake_runtime: FakeGateway) -> None:
    status, _ = call(runtimes, event_bytes("malformed/resource-id-with-path.json"))
    assert status == 502
    [(_, title, _)] = fake_runtime.published
    assert title == "FAILED: an event could not be read, so no backup was copied"
