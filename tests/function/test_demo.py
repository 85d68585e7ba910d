"""`make demo` and `make invoke` as a new user meets them: a short summary, outcomes not crashes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from backup_copy.settings import config_keys

PROJECT = Path(__file__).resolve().parents[2]


def demo(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in config_keys() and not k.startswith("OCI_")}
    return subprocess.run(  # noqa: S603  # our own interpreter and module
        [sys.executable, "-m", "devkit.demo", *args],
        cwd=PROJECT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_demo_copies_then_shows_a_redelivery_that_makes_no_second_copy() -> None:
    done = demo("--redeliver", "events/boot-volume-backup-end.json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "Event: copied (HTTP 200)" in lines
    assert any(
        line.startswith("  us-ashburn-1     CREATING   ocid1.bootvolumebackup.oc1.iad.") for line in lines
    )
    assert '  notice: "Backup copied to us-ashburn-1: web-01 (Boot Volume) manual"' in lines
    assert "The same event again (a redelivery): already_copied (HTTP 200)" in lines
    assert "  us-ashburn-1 holds 1 copy of the backup" in lines
    # Short enough to read at a glance; the full JSON is behind VERBOSE=1.
    assert len(lines) < 20
    assert max(len(line) for line in lines) < 200


def test_verbose_adds_the_full_answer_and_the_log() -> None:
    done = demo("events/boot-volume-backup-end.json", VERBOSE="1")
    assert done.returncode == 0, done.stderr
    assert '"workRequestId": "ocid1.coreservicesworkrequest.' in done.stdout
    assert "== Function log (JSON lines) ==" in done.stdout


def test_the_queue_demo_copies_one_destination_queues_the_other_and_a_sweep_copies_it() -> None:
    done = demo("--queue", "events/boot-volume-backup-end.json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("  eu-frankfurt-1   QUEUED") for line in lines)
    assert "Sweep: copied (HTTP 200)" in lines
    assert any(line.startswith("  eu-frankfurt-1   CREATING") for line in lines)


def test_a_malformed_sample_reads_as_an_outcome_not_a_crash() -> None:
    done = demo("events/malformed/resource-id-with-path.json")
    assert done.returncode == 0
    assert "Event: rejected (HTTP 502)" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_a_missing_event_file_is_one_line() -> None:
    done = demo("events/no-such-event.json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "no such event file: events/no-such-event.json (the samples are in events/)"
    ]


def test_a_key_the_local_run_sets_itself_is_refused_loudly_not_dropped() -> None:
    topic = "ocid1.onstopic.oc1.phx.aaaaaaaatopicforbackupcopynoticesxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    done = demo("events/boot-volume-backup-end.json", NOTIFICATION_TOPIC_ID=topic)
    assert done.returncode == 2
    assert done.stderr.startswith("NOTIFICATION_TOPIC_ID is set, but a local run sets it itself")


def test_the_sweep_request_sample_runs_a_sweep() -> None:
    done = demo("events/sweep-request.json")
    assert done.returncode == 0, done.stderr
    assert "Sweep: " in done.stdout
