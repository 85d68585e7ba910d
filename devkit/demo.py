"""`make demo` / `make invoke`: one event through the real fdk, against the stand-in or a real tenancy.

    python -m devkit.demo [--queue] events/boot-volume-backup-end.json

Local (the default): starts the stand-in, seeds the event's backup in its source region, runs the
function under the fdk on a unix socket and shows the answer, the new backups and the notice.
--queue: the event goes to two destinations under OCI's copy limits (the stand-in keeps them), so one is
copied and one QUEUED; then the first copy finishes and a sweep starts the queued one.
With OCI_CONFIG_PROFILE set and no resource principal: signs with that ~/.oci/config profile
against the real regional endpoints. That makes REAL copies in your tenancy.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from backup_copy.settings import config_keys
from devkit.fdk_process import FdkProcess
from devkit.local import LocalCloud, load_event, local_cloud

# Function config a user may set for a run; what the local cloud sets (the endpoints, the topic,
# the principal's region) and everything else about the environment stays out.
SET_LOCALLY = frozenset(
    {"DESTINATION_REGIONS", "NOTIFICATION_TOPIC_ID", "OCI_ENDPOINT_TEMPLATE", "OCI_RESOURCE_PRINCIPAL_REGION"}
)
PASSED_THROUGH = tuple(key for key in config_keys() if key not in SET_LOCALLY)
REAL_RUN_KEYS = (
    "DESTINATION_REGIONS",
    "NOTIFICATION_TOPIC_ID",
    "OCI_CONFIG_PROFILE",
    "OCI_CONFIG_FILE",
    *PASSED_THROUGH,
)


def main(argv: list[str] | None = None) -> int:
    """Run one event; the exit status is 0 when the function answered 200."""
    parser = argparse.ArgumentParser(prog="python -m devkit.demo", description=__doc__.splitlines()[0])
    parser.add_argument("event", type=Path, help="an event file, e.g. events/boot-volume-backup-end.json")
    parser.add_argument(
        "--queue", action="store_true", help="two destinations under OCI's copy limits, then a sweep"
    )
    args = parser.parse_args(argv)
    body = args.event.read_bytes()
    if os.environ.get("OCI_CONFIG_PROFILE") and not os.environ.get("OCI_RESOURCE_PRINCIPAL_VERSION"):
        return _real_run(body)
    return _local_run(args.event, body, queue=args.queue)


def _local_run(path: Path, body: bytes, *, queue: bool) -> int:
    event = load_event(path)
    with (
        tempfile.TemporaryDirectory(prefix="backup-copy-demo-") as directory,
        local_cloud(Path(directory)) as cloud,
    ):
        source = cloud.seed_from_event(event)
        default = "us-ashburn-1,eu-frankfurt-1" if queue else "us-ashburn-1"
        destinations = os.environ.get("DESTINATION_REGIONS", default)
        config = {key: os.environ[key] for key in PASSED_THROUGH if key in os.environ}
        _section(f"Event {path}")
        print(f"type       {event.get('eventType')}")
        print(f"event id   {event.get('eventID')}")
        print(f"backup     {source or '(none seeded: the event names no backup the stand-in serves)'}")
        print(f"stand-in   {cloud.standin.base_url}   destinations: {destinations}")
        if queue:
            data = event.get("data")
            compartment = data.get("compartmentId") if isinstance(data, dict) else None
            config.setdefault("SWEEP_COMPARTMENT_IDS", str(compartment or cloud.principal.compartment_id))
        with FdkProcess(cloud.function_env(destinations, **config)) as function:
            answer = function.invoke(body)
            _section(f"The function answered HTTP {answer.status}")
            print(json.dumps(json.loads(answer.body), indent=2))
            if queue:
                finished = cloud.standin.finish_all_copies()
                _section(f"The copy in flight finished ({len(finished)}); the scheduled sweep runs the queue")
                swept = function.invoke(b'{"action": "sweep"}')
                report = json.loads(swept.body)
                print(f"HTTP {swept.status}, status {report['status']}")
                print(json.dumps({k: report["sweep"][k] for k in ("copied", "queued")}, indent=2))
            logs = function.logs()
        _show_cloud(cloud, destinations, source)
        _section("Function log (JSON lines)")
        print("\n".join(line for line in logs.splitlines() if line.startswith("{")))
    return 0 if answer.status == 200 else 1


def _show_cloud(cloud: LocalCloud, destinations: str, source: str | None) -> None:
    for region in (r.strip() for r in destinations.split(",") if r.strip()):
        if region not in cloud.standin.regions:
            continue
        copies = [b for b in cloud.standin.backups(region) if source and b.source_backup_id == source]
        _section(f"Backups in {region} copied from the source")
        for copy in copies:
            print(
                f"{copy.id}\n  {copy.lifecycle_state}  {copy.display_name!r}  tags={dict(copy.freeform_tags)}"
            )
        if not copies:
            print("(none)")
    messages = cloud.standin.messages(cloud.topic_id)
    _section(f"Notices published to the topic ({len(messages)})")
    for message in messages:
        print(f"title: {message.title}\n{message.body}")


def _real_run(body: bytes) -> int:
    env = {key: os.environ[key] for key in REAL_RUN_KEYS if key in os.environ}
    _section(f"REAL run with ~/.oci/config profile {env['OCI_CONFIG_PROFILE']}: this makes real copies")
    with FdkProcess(env) as function:
        answer = function.invoke(body, timeout=120)
        logs = function.logs()
    _section(f"The function answered HTTP {answer.status}")
    print(json.dumps(json.loads(answer.body), indent=2))
    _section("Function log")
    print(logs)
    return 0 if answer.status == 200 else 1


def _section(title: str) -> None:
    print(f"\n== {title} ==")


if __name__ == "__main__":
    sys.exit(main())
