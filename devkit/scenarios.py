"""Every kind of event and failure the function handles, run under the real fdk against the stand-in.

`python -m devkit.keep_list` runs them on a full install to learn what the function imports, and
tests/test_payload.py runs them on the trimmed payload alone to prove that nothing it imports was cut.
"""

from __future__ import annotations

import json
import socket
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from devkit import PROJECT
from devkit.fdk_process import FdkProcess
from devkit.local import LocalCloud, load_event, local_cloud
from devkit.standin import Fault

EVENTS = PROJECT / "events"
# The compartment of the sample events' backups, which the sweep session lists.
EVENTS_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaa4vggyw2zmbrcwxnwbzfkdcyvkcpqxadmcdwaeb6v6uqpfrw4tuxq"
MALFORMED = tuple(sorted(f"malformed/{path.name}" for path in (EVENTS / "malformed").glob("*.json")))


@dataclass(frozen=True)
class Call:
    """One event sent to the function, and the status its answer must have."""

    event: str
    expect: str
    seed: bool = True
    faults: tuple[Fault, ...] = ()
    timeout: float = 30.0


@dataclass(frozen=True)
class Session:
    """Calls to one warm function process, with its configuration and credentials."""

    name: str
    calls: tuple[Call, ...]
    destinations: str = "us-ashburn-1,eu-frankfurt-1"
    config: Mapping[str, str] = field(default_factory=dict)
    auth: Literal["resource_principal", "config_profile"] = "resource_principal"
    reachable: bool = True


@dataclass(frozen=True)
class Answered:
    """What the function answered to one call."""

    call: Call
    http_status: int
    body: dict[str, Any]

    @property
    def status(self) -> str:
        """The answer's `status` field."""
        return str(self.body.get("status"))


@dataclass(frozen=True)
class SessionRun:
    """A session's answers, the function's log, and the stand-in it ran against."""

    session: Session
    answers: list[Answered]
    logs: str
    cloud: LocalCloud


SESSIONS = (
    Session(
        "every event kind, signed by the resource principal",
        (
            Call("boot-volume-backup-end.json", "copied"),
            Call("boot-volume-backup-end.json", "already_copied", seed=False),
            Call("boot-volume-backup-begin.json", "ignored", seed=False),
            Call("boot-volume-backup-copy-end.json", "ignored", seed=False),
            *(Call(name, "rejected", seed=False) for name in MALFORMED),
            Call("boot-volume-backup-end-scheduled.json", "failed", seed=False),  # the source is gone
            Call("volume-backup-end.json", "copied", faults=(Fault("get", 429, "TooManyRequests"),)),
            Call(
                "volume-group-backup-end.json",
                "failed",
                faults=(Fault("publish", 403, "NotAuthorizedOrNotFound"),),
            ),
        ),
        # One destination: a boot volume backup is copied to one destination at a time (the rest are
        # queued), and the redelivery must find every destination copied.
        destinations="us-ashburn-1",
    ),
    Session(
        "the scheduled sweep, which posts its metrics to Monitoring",
        (
            Call("boot-volume-backup-end.json", "copied"),
            # The copy is still being made: nothing to copy, the RPO and the counts posted.
            Call("sweep-request.json", "already_copied", seed=False),
        ),
        destinations="us-ashburn-1",
        config={"SWEEP_COMPARTMENT_IDS": EVENTS_COMPARTMENT},
    ),
    Session(
        "an ~/.oci/config profile the stand-in does not accept",
        (Call("boot-volume-backup-end.json", "failed"),),
        auth="config_profile",
    ),
    Session(
        "a configuration error",
        (Call("boot-volume-backup-end.json", "failed"),),
        destinations="mars-north-1",
    ),
    Session(
        "OCI unreachable until the deadline",
        (Call("boot-volume-backup-end.json", "failed", timeout=5.0),),
        reachable=False,
    ),
)


def run_sessions(
    python_path: str, *, python_flags: tuple[str, ...] = (), sessions: tuple[Session, ...] = SESSIONS
) -> Iterator[SessionRun]:
    """Run each session in a fresh function process, each against a fresh stand-in."""
    for session in sessions:
        with (
            tempfile.TemporaryDirectory(prefix="backup-copy-scenario-") as directory,
            local_cloud(Path(directory)) as cloud,
        ):
            env = _environment(session, cloud, Path(directory))
            with FdkProcess(env, python_path=python_path, python_flags=python_flags) as function:
                answers = [_call(function, cloud, call) for call in session.calls]
                yield SessionRun(session, answers, function.logs(), cloud)


def _call(function: FdkProcess, cloud: LocalCloud, call: Call) -> Answered:
    if call.seed:
        cloud.seed_from_event(load_event(EVENTS / call.event))
    cloud.standin.script_faults(call.faults)
    answer = function.invoke((EVENTS / call.event).read_bytes(), timeout=call.timeout)
    cloud.standin.clear_faults()
    try:
        body = json.loads(answer.body)
    except ValueError:
        body = {"status": None, "unparsable": answer.body.decode(errors="replace")}
    return Answered(call, answer.status, body if isinstance(body, dict) else {"status": None})


def _environment(session: Session, cloud: LocalCloud, directory: Path) -> dict[str, str]:
    env = cloud.function_env(session.destinations, **session.config)
    if session.auth == "config_profile":
        env = {key: value for key, value in env.items() if not key.startswith("OCI_RESOURCE_PRINCIPAL_")}
        config_file = directory / "oci-config"
        config_file.write_text(
            "[SCENARIO]\n"
            "user=ocid1.user.oc1..aaaaaaaascenario\n"
            "tenancy=ocid1.tenancy.oc1..aaaaaaaascenario\n"
            f"fingerprint={':'.join(['ab'] * 16)}\n"
            f"key_file={cloud.principal.private_key_path}\n"
            f"region={cloud.principal.region}\n"
        )
        env.update({"OCI_CONFIG_PROFILE": "SCENARIO", "OCI_CONFIG_FILE": str(config_file)})
    if not session.reachable:
        env["OCI_ENDPOINT_TEMPLATE"] = f"http://127.0.0.1:{_closed_port()}/{{region}}/{{service}}"
    return env


def _closed_port() -> int:
    """A port nothing listens on: bound, read and released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
