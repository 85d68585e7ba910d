"""`make demo` / `make invoke`: one event through the real fdk, against the stand-in or a real tenancy.

    python -m devkit.demo [--queue] [--redeliver] events/boot-volume-backup-end.json

Local (the default): starts the stand-in, seeds the event's backup in its source region, runs the
function under the fdk on a unix socket, and prints a short summary: the status, a line per
destination, the notice as a subscriber sees it. VERBOSE=1 adds the full answer, the notice body and
the function's log lines.
--redeliver: sends the same event again, as OCI Events may, and shows that no second copy is made.
--queue: the event goes to two destinations under OCI's copy limits (the stand-in keeps them), so one
is copied and one QUEUED; then the first copy finishes and a sweep starts the queued one.
With OCI_CONFIG_PROFILE set and no resource principal: signs with that ~/.oci/config profile
against the real regional endpoints. Unless DRY_RUN is on, that makes REAL copies in your tenancy.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from backup_copy.settings import config_keys
from devkit.fdk_process import FdkProcess, FnAnswer
from devkit.local import LocalCloud, load_event, local_cloud

# What a local run sets itself: the stand-in's endpoints and topic, and the principal's region.
SET_LOCALLY = frozenset({"NOTIFICATION_TOPIC_ID", "OCI_ENDPOINT_TEMPLATE", "OCI_RESOURCE_PRINCIPAL_REGION"})
PASSED_THROUGH = tuple(key for key in config_keys() if key not in SET_LOCALLY)
REAL_RUN_KEYS = ("NOTIFICATION_TOPIC_ID", "OCI_CONFIG_PROFILE", "OCI_CONFIG_FILE", *PASSED_THROUGH)
SWEEP = b'{"action": "sweep"}'
SHORT_ID = 48


def main(argv: list[str] | None = None) -> int:
    """Run one event; 0 whenever the function answered (a 502 is an outcome), 2 for a bad request."""
    parser = argparse.ArgumentParser(prog="python -m devkit.demo", description=__doc__.splitlines()[0])
    parser.add_argument("event", type=Path, help="an event file, e.g. events/boot-volume-backup-end.json")
    parser.add_argument(
        "--queue", action="store_true", help="two destinations under OCI's copy limits, then a sweep"
    )
    parser.add_argument("--redeliver", action="store_true", help="send the event twice, as OCI Events may")
    args = parser.parse_args(argv)
    if not args.event.is_file():
        print(f"no such event file: {args.event} (the samples are in events/)", file=sys.stderr)
        return 2
    body = args.event.read_bytes()
    verbose = os.environ.get("VERBOSE", "") not in ("", "0")
    if os.environ.get("OCI_CONFIG_PROFILE") and not os.environ.get("OCI_RESOURCE_PRINCIPAL_VERSION"):
        return _real_run(body, verbose=verbose)
    overridden = sorted(key for key in SET_LOCALLY if os.environ.get(key))
    if overridden:
        print(
            f"{', '.join(overridden)} is set, but a local run sets it itself (the stand-in's topic, "
            "endpoints and region): unset it, or set OCI_CONFIG_PROFILE for a run against a real tenancy",
            file=sys.stderr,
        )
        return 2
    return _local_run(args.event, body, queue=args.queue, redeliver=args.redeliver, verbose=verbose)


def _local_run(path: Path, body: bytes, *, queue: bool, redeliver: bool, verbose: bool) -> int:
    event = load_event(path)
    with (
        tempfile.TemporaryDirectory(prefix="backup-copy-demo-") as directory,
        local_cloud(Path(directory)) as cloud,
    ):
        source = cloud.seed_from_event(event)
        default = "us-ashburn-1,eu-frankfurt-1" if queue else "us-ashburn-1"
        destinations = os.environ.get("DESTINATION_REGIONS", default)
        config = {
            key: os.environ[key]
            for key in PASSED_THROUGH
            if key in os.environ and key != "DESTINATION_REGIONS"
        }
        config.setdefault("SWEEP_COMPARTMENT_IDS", _compartment(event) or cloud.principal.compartment_id)
        print(f"backup-copy on {path}, against the local OCI stand-in ({cloud.standin.base_url})")
        print(f"  source region {cloud.principal.region}; destinations {destinations} (DESTINATION_REGIONS)")
        with FdkProcess(cloud.function_env(destinations, **config)) as function:
            _show_answer("Event", function.invoke(body), verbose=verbose)
            _show_notices(cloud, verbose=verbose)
            if redeliver:
                seen = len(cloud.standin.messages(cloud.topic_id))
                _show_answer("The same event again (a redelivery)", function.invoke(body), verbose=verbose)
                _show_copies(cloud, destinations, source)
                if len(cloud.standin.messages(cloud.topic_id)) == seen:
                    print("  no notice: nothing new to say")
            if queue:
                finished = cloud.standin.finish_all_copies()
                print(f"\nThe copy in flight finished ({len(finished)}); the scheduled sweep runs the queue:")
                _show_answer("Sweep", function.invoke(SWEEP), verbose=verbose)
            if verbose:
                _section("Function log (JSON lines)")
                print("\n".join(line for line in function.logs().splitlines() if line.startswith("{")))
    return 0


def _show_answer(what: str, answer: FnAnswer, *, verbose: bool) -> None:
    parsed: dict[str, Any] = json.loads(answer.body)
    status = parsed.get("status")
    what = "Sweep" if what == "Event" and "sweep" in parsed else what
    print(f"\n{what}: {status} (HTTP {answer.status})")
    if parsed.get("reason"):
        print(f"  reason: {parsed['reason']}")
    copies = parsed.get("copies") or []
    report = parsed.get("sweep")
    if isinstance(report, dict):
        copies = report.get("copied", [])
        for item in report.get("queued", []):
            print(f"  {item['region']:<16} QUEUED     {_short(item['source'])}: {item['reason']}")
    for copy in copies:
        work = f"  work request {_short(copy['workRequestId'])}" if copy.get("workRequestId") else ""
        print(f"  {copy['region']:<16} {copy['state']:<10} {_short(copy['id'] or '-')}{work}")
    for failure in parsed.get("failures", []):
        print(f"  {failure.get('region', '?'):<16} FAILED     {failure.get('reason')}")
    if verbose:
        print(json.dumps(parsed, indent=2))


def _show_notices(cloud: LocalCloud, *, verbose: bool) -> None:
    messages = cloud.standin.messages(cloud.topic_id)
    if not messages:
        print("  no notice published")
    for message in messages:
        body = json.loads(message.body)
        print(f'  notice: "{message.title}"')
        if body.get("newBackupIds"):
            print(f"          new backups: {', '.join(body['newBackupIds'])}")
        if verbose:
            print(json.dumps(body, indent=2))


def _show_copies(cloud: LocalCloud, destinations: str, source: str | None) -> None:
    for region in (r.strip() for r in destinations.split(",") if r.strip()):
        if region in cloud.standin.regions and source:
            count = sum(1 for b in cloud.standin.backups(region) if b.source_backup_id == source)
            print(f"  {region} holds {count} {'copy' if count == 1 else 'copies'} of the backup")


def _real_run(body: bytes, *, verbose: bool) -> int:
    env = {key: os.environ[key] for key in REAL_RUN_KEYS if key in os.environ}
    config_file = os.environ.get("OCI_CONFIG_FILE", "~/.oci/config")
    dry = os.environ.get("DRY_RUN", "").strip().lower() in ("1", "true", "yes", "on")
    what = (
        "DRY_RUN is on: nothing will be copied or tagged" if dry else "this makes REAL copies in your tenancy"
    )
    regions = env.get("DESTINATION_REGIONS", "(DESTINATION_REGIONS unset)")
    print(f"REAL run with profile {env['OCI_CONFIG_PROFILE']} from {config_file}, to {regions}: {what}")
    with FdkProcess(env) as function:
        answer = function.invoke(body, timeout=120)
        _show_answer("Event", answer, verbose=verbose)
        if verbose:
            _section("Function log")
            print(function.logs())
    return 0


def _compartment(event: dict[str, Any]) -> str | None:
    data = event.get("data")
    compartment = data.get("compartmentId") if isinstance(data, dict) else None
    return compartment if isinstance(compartment, str) else None


def _short(ocid: str) -> str:
    return ocid if len(ocid) <= SHORT_ID else ocid[: SHORT_ID - 1] + "…"


def _section(title: str) -> None:
    print(f"\n== {title} ==")


if __name__ == "__main__":
    sys.exit(main())
