"""The domain: backups, their copies, what is asked of OCI, and the marker tags. No SDK, no I/O."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class BackupKind(StrEnum):
    """The three kinds of block storage backup OCI can copy across regions."""

    BOOT = "boot"
    VOLUME = "volume"
    VOLUME_GROUP = "volume_group"

    @property
    def ocid_type(self) -> str:
        """The resource-type segment of this kind's OCIDs."""
        return _OCID_TYPES[self]

    @property
    def label(self) -> str:
        """How a person names this kind of backup."""
        return _LABELS[self]


_OCID_TYPES = {
    BackupKind.BOOT: "bootvolumebackup",
    BackupKind.VOLUME: "volumebackup",
    BackupKind.VOLUME_GROUP: "volumegroupbackup",
}
_LABELS = {
    BackupKind.BOOT: "boot volume backup",
    BackupKind.VOLUME: "volume backup",
    BackupKind.VOLUME_GROUP: "volume group backup",
}

# COMMITTED is a volume group backup's state between CREATING and AVAILABLE (the SDK's
# VolumeGroupBackup lifecycle states): the group backup is still being made.
# A backup being made (COMMITTED: a volume group backup's state between CREATING and AVAILABLE).
# OCI's copy limits count copies in these.
IN_FLIGHT_STATES = frozenset({"REQUEST_RECEIVED", "CREATING", "COMMITTED"})
# A copy in one of these states exists or is on its way: a second one would be a duplicate.
LIVE_COPY_STATES = IN_FLIGHT_STATES | {"AVAILABLE"}
# A source in one of these may still become AVAILABLE: worth a redelivery, not a verdict.
PENDING_SOURCE_STATES = IN_FLIGHT_STATES
# The state this function reports for a destination waiting on OCI's copy limits (never OCI's own).
QUEUED = "QUEUED"
# Deleted, or on its way out.
GONE_STATES = frozenset({"TERMINATING", "TERMINATED"})
# The freeform tag set on every copy: marks it as made by backup-copy and names its source, so
# operators can find (and clean up) copies, and a redelivery knows the tags are already there.
MARKER_TAG = "backup-copy-source"
# And the volume (or volume group) the source was taken of: retention keeps copies per volume.
VOLUME_TAG = "backup-copy-volume"
# And which deployment made it (Settings.deployment): several deployments, one per source region,
# may copy into one destination, and each may delete only its own copies.
DEPLOYMENT_TAG = "backup-copy-deployment"
MARKER_KEYS = frozenset({MARKER_TAG, VOLUME_TAG, DEPLOYMENT_TAG})
MAX_RETRY_TOKEN = 64


@dataclass(frozen=True)
class Backup:
    """Any backup as OCI describes it now: a source read before copying, or a copy in a listing."""

    id: str
    kind: BackupKind
    region: str
    compartment_id: str
    display_name: str
    lifecycle_state: str
    source_backup_id: str | None = None
    freeform_tags: Mapping[str, str] = field(default_factory=dict)
    defined_tags: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    source_type: str | None = None
    volume_id: str | None = None
    time_created: datetime | None = None
    # The volume group backup this boot volume or volume backup belongs to, if any: copying the
    # group copies its members, so a member is never copied on its own.
    volume_group_backup_id: str | None = None

    @property
    def is_copy(self) -> bool:
        """Whether OCI made this backup by copying another one."""
        return self.source_backup_id is not None

    def found_copy(self) -> BackupCopy:
        """This backup, listed in a destination, as a copy of its source: marked if its marker names it."""
        marker = self.freeform_tags.get(MARKER_TAG)
        return BackupCopy(
            region=self.region,
            id=self.id,
            state=self.lifecycle_state,
            marked=marker is not None and marker == self.source_backup_id,
            display_name=self.display_name,
        )

    def copy_tags(self, deployment: str) -> tuple[dict[str, str], dict[str, dict[str, object]]]:
        """The tags a copy of this backup made by `deployment` carries: the source's own, plus the markers.

        The markers are this function's alone: whatever the source's own tags say under their keys
        (copied over by hand, or by OCI with the backup) is replaced, and a volume marker the source
        carries is dropped when OCI names no volume, so retention never groups a copy by a stranger's.
        """
        freeform = {k: v for k, v in self.freeform_tags.items() if k not in MARKER_KEYS}
        freeform[MARKER_TAG] = self.id
        freeform[DEPLOYMENT_TAG] = deployment
        if self.volume_id:
            freeform[VOLUME_TAG] = self.volume_id
        return freeform, {namespace: dict(values) for namespace, values in self.defined_tags.items()}


@dataclass(frozen=True)
class BackupCopy:
    """One copy in a destination region: found there, just requested, or (dry run) planned."""

    region: str
    id: str | None
    state: str
    work_request_id: str | None = None
    # Whether the copy already carries the marker tag (and so the source's tags).
    marked: bool = field(default=False, compare=False)
    display_name: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class CopyRequest:
    """What is asked of OCI for one destination."""

    destination_region: str
    display_name: str
    kms_key_id: str | None
    retry_token: str


@dataclass(frozen=True)
class RegionFailure:
    """A destination whose copy did not happen (or, as a warning, whose tags were not set), and why."""

    region: str
    reason: str
    error_class: str


def retry_token(
    source_id: str,
    region: str,
    failed_copies: Sequence[str] = (),
    *,
    deployment: str,
    invalidated: str | None = None,
) -> str:
    """The copy's opc-retry-token: the same source, destination and deployment give the same token.

    Derived from what is copied where, never from the event id, so a redelivered event (a new
    delivery, the same backup) replays the first request instead of making a second copy; the event
    path and the sweep derive it alike, so their requests converge on one copy too. `deployment`
    keeps another deployment's request from answering ours: a replay hands back the copy the first
    request made, and this one would tag that copy as its own. `failed_copies` are the ids of earlier
    copies in the destination that failed or were deleted: after a FAULTY or deleted copy a new
    request must not be answered with the old one, and ids (not a count) keep that true when OCI
    stops listing an old failure; an id listed twice counts once. `invalidated` is a token OCI
    refused as invalidated (what it made was deleted, and no longer listed): the token after it.
    """
    failed = ",".join(sorted(set(failed_copies)))
    after = f"|after:{invalidated}" if invalidated else ""
    digest = hashlib.sha256(f"{source_id}|{region}|{deployment}|{failed}{after}".encode()).hexdigest()
    return f"backup-copy-{digest}"[:MAX_RETRY_TOKEN]


def new_backup_ids(copies: Sequence[BackupCopy]) -> list[str]:
    """The OCIDs of copies that exist (planned copies have none)."""
    return [copy.id for copy in copies if copy.id]
