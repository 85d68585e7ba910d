"""The ports: what the use cases ask of OCI. The OCI gateway implements them; tests use fakes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Protocol

from backup_copy.backups import Backup, BackupCopy, BackupKind, CopyRequest
from backup_copy.deadline import Deadline

if TYPE_CHECKING:  # only the sweep posts metrics: the event path does not import them
    from backup_copy.metrics import MetricPoint


class BackupStore(Protocol):
    """Block Storage, as far as this function needs it."""

    def get_backup(self, kind: BackupKind, backup_id: str, region: str, deadline: Deadline) -> Backup:
        """Read a backup in its region."""
        ...

    def find_copies(self, source: Backup, region: str, deadline: Deadline) -> list[BackupCopy]:
        """Every copy of `source` in `region`, whatever its state."""
        ...

    def request_copy(self, source: Backup, request: CopyRequest, deadline: Deadline) -> BackupCopy:
        """Ask the source region to copy `source` to the request's destination."""
        ...

    def tag_copy(self, source: Backup, copy: BackupCopy, deadline: Deadline, *, deployment: str) -> None:
        """Set the source's tags and the markers (naming `deployment`) on a copy, in the copy's region."""
        ...

    def iter_backups(
        self, kind: BackupKind, compartment_id: str, region: str, deadline: Deadline
    ) -> Iterator[Backup]:
        """Every backup of a kind in a compartment and region, whatever its state, newest first.

        Read a page at a time as the caller goes, so no listing is ever held whole; a failure is
        raised where the page it hit would have begun.
        """
        ...

    def delete_backup(self, kind: BackupKind, backup_id: str, region: str, deadline: Deadline) -> None:
        """Delete a backup in its region."""
        ...


class Notifier(Protocol):
    """Notifications, as far as this function needs them."""

    def publish(self, topic_id: str, title: str, body: str, deadline: Deadline) -> str:
        """Publish one message; returns its id."""
        ...


class MetricsSink(Protocol):
    """Monitoring's custom metrics, as far as the sweep reports them."""

    def post_metrics(
        self, namespace: str, points: Iterable[MetricPoint], region: str, deadline: Deadline
    ) -> int:
        """Post datapoints in `region`, into the function's own compartment; returns how many, or raises."""
        ...


class Gateway(BackupStore, Notifier, MetricsSink, Protocol):
    """Everything the function asks of OCI."""
