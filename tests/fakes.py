"""Hand-written fakes of the ports (backup_copy.ports): they keep state and record what they were asked."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from backup_copy.backups import Backup, BackupCopy, BackupKind, CopyRequest
from backup_copy.deadline import Deadline
from backup_copy.errors import Failed, PermanentError
from backup_copy.metrics import MetricPoint

COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaa4vggyw2zmbrcwxnwbzfkdcyvkcpqxadmcdwaeb6v6uqpfrw4tuxq"
TOPIC = "ocid1.onstopic.oc1.phx.aaaaaaaatopicforbackupcopynoticesxxxxxxxxxxxxxxxxxxxxxxxxxxxx"


@dataclass
class FakeClock:
    """A monotonic clock that moves only when told: give it to a Deadline, no sleeping."""

    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass."""
        self.now += seconds


@dataclass
class FakeGateway:
    """Block Storage, Notifications and Monitoring in memory."""

    backups: dict[str, Backup] = field(default_factory=dict)
    copies: dict[str, list[BackupCopy]] = field(default_factory=dict)
    copy_requests: list[tuple[str, CopyRequest]] = field(default_factory=list)
    published: list[tuple[str, str, str]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    fail_copy_to: dict[str, Failed] = field(default_factory=dict)
    fail_publish: Failed | None = None
    fail_tag: Failed | None = None
    tagged: list[tuple[str, dict[str, str], dict[str, dict[str, object]]]] = field(default_factory=list)
    # Retention and the sweep: deletes as (region, id), failures by backup id or listed region.
    deleted: list[tuple[str, str]] = field(default_factory=list)
    fail_delete: dict[str, Failed] = field(default_factory=dict)
    fail_list_in: dict[str, Failed] = field(default_factory=dict)
    # Monitoring: each post as (namespace, region, points), or the failure it meets.
    posted_metrics: list[tuple[str, str, list[MetricPoint]]] = field(default_factory=list)
    fail_metrics: Failed | None = None
    # A bug to raise (not an OCI failure): from every call about a region or a backup id, keyed by it,
    # or from one kind of call, keyed as `calls` records it ("tag us-ashburn-1").
    raises: dict[str, Exception] = field(default_factory=dict)
    # How long each call takes on `clock`, by the name `calls` records it under ("copy", "delete",
    # "list-all"); nothing takes any time unless a test says so.
    clock: FakeClock = field(default_factory=FakeClock)
    takes: dict[str, float] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def add_source(
        self,
        backup_id: str,
        *,
        kind: BackupKind = BackupKind.BOOT,
        state: str = "AVAILABLE",
        source_backup_id: str | None = None,
        region: str = "us-phoenix-1",
        source_type: str = "MANUAL",
    ) -> Backup:
        """Put a backup in the fake store."""
        backup = Backup(
            id=backup_id,
            kind=kind,
            region=region,
            compartment_id=COMPARTMENT,
            display_name="web-01 (Boot Volume) manual",
            lifecycle_state=state,
            source_backup_id=source_backup_id,
            freeform_tags={"app": "web"},
            defined_tags={"Operations": {"CostCenter": "42"}},
            source_type=source_type,
        )
        self.backups[backup_id] = backup
        return backup

    def add_backup(self, backup: Backup) -> Backup:
        """Put any backup in the fake store as it is: an original, or a copy in its destination."""
        self.backups[backup.id] = backup
        return backup

    def get_backup(self, kind: BackupKind, backup_id: str, region: str, deadline: Deadline) -> Backup:
        """Read a backup; 404 as OCI would."""
        self.calls.append(f"get {region}")
        self._bug(region, backup_id)
        if backup_id not in self.backups:
            raise PermanentError("not found", operation="get", region=region, http_status=404)
        return self.backups[backup_id]

    def find_copies(self, source: Backup, region: str, deadline: Deadline) -> list[BackupCopy]:
        """Copies of a source in a region: backups stored there naming it, then the ones it requested.

        As the gateway looks, in the source's compartment alone (where copies land).
        """
        self.calls.append(f"list {region}")
        self._bug(region, source.id, f"list {region}")
        stored = [
            b.found_copy()
            for b in self.backups.values()
            if b.region == region
            and b.source_backup_id == source.id
            and b.compartment_id == source.compartment_id
        ]
        return stored + list(self.copies.get(f"{source.id}|{region}", []))

    def request_copy(self, source: Backup, request: CopyRequest, deadline: Deadline) -> BackupCopy:
        """Make a copy, or fail as configured."""
        region = request.destination_region
        self.calls.append(f"copy {region}")
        self._spend("copy")
        self.copy_requests.append((source.id, request))
        self._bug(region, source.id, f"copy {region}")
        if region in self.fail_copy_to:
            raise self.fail_copy_to[region]
        copy = BackupCopy(
            region=region,
            id=f"ocid1.bootvolumebackup.oc1.{region}.copy{next(self._ids)}",
            state="CREATING",
            work_request_id=f"ocid1.workrequest.oc1.{region}.wr",
            display_name=request.display_name,
        )
        self.copies.setdefault(f"{source.id}|{region}", []).append(copy)
        return copy

    def tag_copy(self, source: Backup, copy: BackupCopy, deadline: Deadline, *, deployment: str) -> None:
        """Tag a copy, or fail as configured."""
        self.calls.append(f"tag {copy.region}")
        self._bug(copy.region, f"tag {copy.region}")
        if self.fail_tag is not None:
            raise self.fail_tag
        freeform, defined = source.copy_tags(deployment)
        self.tagged.append((str(copy.id), freeform, defined))
        key = f"{source.id}|{copy.region}"
        self.copies[key] = [
            replace(c, marked=True) if c.id == copy.id else c for c in self.copies.get(key, [])
        ]

    def iter_backups(
        self, kind: BackupKind, compartment_id: str, region: str, deadline: Deadline
    ) -> Iterator[Backup]:
        """The backups held in a region and compartment (the sweep's listing), or fail as configured."""
        self.calls.append(f"list-all {region}")
        self._spend("list-all")
        self._bug(region, f"list-all {region}")
        if region in self.fail_list_in:
            raise self.fail_list_in[region]
        return iter(
            [
                b
                for b in self.backups.values()
                if b.region == region and b.kind is kind and b.compartment_id == compartment_id
            ]
        )

    def delete_backup(self, kind: BackupKind, backup_id: str, region: str, deadline: Deadline) -> None:
        """Forget a backup, or fail as configured."""
        self.calls.append(f"delete {region}")
        self._spend("delete")
        self._bug(region, backup_id, f"delete {region}")
        if backup_id in self.fail_delete:
            raise self.fail_delete[backup_id]
        self.deleted.append((region, backup_id))
        self.backups.pop(backup_id, None)

    def publish(self, topic_id: str, title: str, body: str, deadline: Deadline) -> str:
        """Record a notice, or fail as configured."""
        self.calls.append("publish")
        if self.fail_publish is not None:
            raise self.fail_publish
        self.published.append((topic_id, title, body))
        return f"message-{len(self.published)}"

    def post_metrics(
        self, namespace: str, points: Iterable[MetricPoint], region: str, deadline: Deadline
    ) -> int:
        """Record a post of datapoints, or fail as configured."""
        self.calls.append(f"metrics {region}")
        if self.fail_metrics is not None:
            raise self.fail_metrics
        self.posted_metrics.append((namespace, region, list(points)))
        return len(self.posted_metrics[-1][2])

    def _bug(self, *keys: str) -> None:
        for key in keys:
            if key in self.raises:
                raise self.raises[key]

    def _spend(self, operation: str) -> None:
        self.clock.advance(self.takes.get(operation, 0.0))
