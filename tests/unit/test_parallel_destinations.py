"""The destinations' round trips overlap, and the answer reads as if they had not."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import pytest

from backup_copy.backups import Backup, BackupCopy, BackupKind
from backup_copy.deadline import Deadline
from backup_copy.handler import handle
from backup_copy.runtime import Runtimes
from tests.conftest import Config
from tests.events import event_bytes
from tests.fakes import FakeGateway

VOLUME_EVENT = "volume-backup-end.json"
BOOT_EVENT = "boot-volume-backup-end.json"
DESTINATIONS = ("us-ashburn-1", "eu-frankfurt-1", "uk-london-1")
# A wait that only a missing overlap would run into: a barrier that is never met breaks after it.
STUCK = 5.0


@dataclass
class OverlapGateway(FakeGateway):
    """Each operation waits until every destination's call of it has begun: only overlapping calls pass.

    Once through, each destination finishes only after the one after it in DESTINATION_REGIONS,
    so they finish in the reverse of that order (when every destination makes the call).
    """

    met: dict[str, threading.Barrier] = field(default_factory=dict)
    done: dict[tuple[str, str], threading.Event] = field(default_factory=dict)

    def meet(self, operation: str, region: str, parties: int) -> None:
        barrier = self.met.setdefault(operation, threading.Barrier(parties, timeout=STUCK))
        barrier.wait()
        later = DESTINATIONS[DESTINATIONS.index(region) + 1 :]
        if later and parties == len(DESTINATIONS):
            assert self.done.setdefault((operation, later[0]), threading.Event()).wait(STUCK)

    def finished(self, operation: str, region: str) -> None:
        self.done.setdefault((operation, region), threading.Event()).set()

    def find_copies(self, source: Backup, region: str, deadline: Deadline) -> list[BackupCopy]:
        self.meet("list", region, len(DESTINATIONS))
        try:
            return super().find_copies(source, region, deadline)
        finally:
            self.finished("list", region)

    def tag_copy(self, source: Backup, copy: BackupCopy, deadline: Deadline, *, deployment: str) -> None:
        # Only the new copies are tagged: every destination for a volume backup, one for a boot one.
        parties = len(DESTINATIONS) if source.kind is BackupKind.VOLUME else 1
        self.meet("tag", copy.region, parties)
        try:
            super().tag_copy(source, copy, deadline, deployment=deployment)
        finally:
            self.finished("tag", copy.region)


def invoke(gateway: FakeGateway, config: Config, name: str) -> dict[str, object]:
    config["DESTINATION_REGIONS"] = ",".join(DESTINATIONS)
    source: str = json.loads(event_bytes(name))["data"]["resourceId"]
    gateway.add_source(source, kind=BackupKind.VOLUME if name == VOLUME_EVENT else BackupKind.BOOT)
    runtimes = Runtimes(config, gateway=lambda _: gateway)
    answer = handle(event_bytes(name), deadline=Deadline.after(30), runtimes=runtimes, call_id="01TESTCALL")
    body: dict[str, object] = json.loads(answer.body)
    return body


def test_every_destination_is_looked_up_and_tagged_at_once_and_listed_in_configured_order(
    config: Config,
) -> None:
    gateway = OverlapGateway()
    answer = invoke(gateway, config, VOLUME_EVENT)
    assert answer["status"] == "copied"
    assert [copy["region"] for copy in answer["copies"]] == list(DESTINATIONS)  # type: ignore[attr-defined]
    assert sorted(gateway.calls[1:4]) == sorted(f"list {region}" for region in DESTINATIONS)
    assert len(gateway.copy_requests) == 3


def test_a_boot_backup_still_asks_one_copy_and_queues_the_rest_in_configured_order(config: Config) -> None:
    gateway = OverlapGateway()
    answer = invoke(gateway, config, BOOT_EVENT)
    assert answer["status"] == "copied"
    copies = [(copy["region"], copy["state"]) for copy in answer["copies"]]  # type: ignore[attr-defined]
    assert copies == [("us-ashburn-1", "CREATING"), ("eu-frankfurt-1", "QUEUED"), ("uk-london-1", "QUEUED")]
    assert [request.destination_region for _, request in gateway.copy_requests] == ["us-ashburn-1"]
    assert [queued["region"] for queued in answer["queued"]] == ["eu-frankfurt-1", "uk-london-1"]  # type: ignore[attr-defined]


def test_a_bug_in_one_destination_fails_the_call_but_costs_no_other_its_copy(
    config: Config, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = FakeGateway()
    find_copies = gateway.find_copies

    def broken_in_frankfurt(source: Backup, region: str, deadline: Deadline) -> list[BackupCopy]:
        if region == "eu-frankfurt-1":
            raise KeyError("lifecycleState")
        return find_copies(source, region, deadline)

    monkeypatch.setattr(gateway, "find_copies", broken_in_frankfurt)
    answer = invoke(gateway, config, VOLUME_EVENT)
    assert answer["status"] == "failed"
    assert [copy["region"] for copy in answer["copies"]] == ["us-ashburn-1", "uk-london-1"]  # type: ignore[attr-defined]
    assert sorted(request.destination_region for _, request in gateway.copy_requests) == [
        "uk-london-1",
        "us-ashburn-1",
    ]
    assert "eu-frankfurt-1: internal error: KeyError" in str(answer["reason"])
    # Logged from the destination's own thread, with the invocation's ids and the traceback.
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    [bug] = [line for line in lines if line["message"] == "unexpected error for one destination"]
    assert (bug["callId"], bug["region"]) == ("01TESTCALL", "eu-frankfurt-1")
    assert bug["eventId"] == json.loads(event_bytes(VOLUME_EVENT))["eventID"]
    assert "broken_in_frankfurt" in bug["exception"]
