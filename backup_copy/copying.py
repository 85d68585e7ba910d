"""The event's use case: copy one backup to every destination that lacks a live copy of it.

Pure decisions over the BackupStore port: no SDK, no environment. The sweep reuses the fan-out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from backup_copy.backups import (
    IN_FLIGHT_STATES,
    LIVE_COPY_STATES,
    MARKER_TAG,
    PENDING_SOURCE_STATES,
    QUEUED,
    Backup,
    BackupCopy,
    BackupKind,
    CopyRequest,
    RegionFailure,
    retry_token,
)
from backup_copy.deadline import Deadline
from backup_copy.errors import (
    ConfigurationError,
    CopyLimited,
    Failed,
    PermanentError,
    RetryTokenInvalidated,
    TransientError,
)
from backup_copy.events import BackupCreatedEvent
from backup_copy.outcome import CopyOutcome, Status
from backup_copy.ports import BackupStore
from backup_copy.settings import Settings

log = logging.getLogger(__name__)
# How many invalidated retry tokens in a row a copy request follows before it fails.
MAX_INVALIDATED_TOKENS = 3
# The warning class of a live copy found without the marker: reported, never tagged or deleted.
UNMARKED = "unmarked"


def copy_event(
    event: BackupCreatedEvent, settings: Settings, store: BackupStore, deadline: Deadline
) -> CopyOutcome:
    """Copy the event's backup to every destination that lacks a live copy of it."""
    backup = event.backup
    if backup.region in settings.destination_regions:
        raise ConfigurationError(
            f"DESTINATION_REGIONS names {backup.region}, the backup's own region: "
            "a backup cannot be copied to the region it is in"
        )
    source = store.get_backup(event.kind, backup.value, backup.region, deadline)
    base = CopyOutcome(
        status=Status.IGNORED,
        source=source.id,
        event_id=event.event_id,
        event_type=event.event_type,
        kind=event.kind,
        source_name=source.display_name,
        source_region=source.region,
    )
    if source.source_backup_id:
        return replace(
            base,
            reason=(
                f"this {event.kind.label} is itself a copy of {source.source_backup_id}; "
                "copies are not copied again"
            ),
        )
    if source.volume_group_backup_id:
        # Copying the group copies its members: a copy of the member on its own would be a second one.
        return replace(
            base,
            reason=(
                f"this {event.kind.label} belongs to volume group backup {source.volume_group_backup_id}; "
                "copying the group copies it"
            ),
        )
    filtered = filter_reason(source, settings)
    if filtered:
        return replace(base, reason=filtered)
    _check_copyable(source)

    fan_out = copy_to_destinations(source, settings, store, deadline)
    if fan_out.failures:
        status = Status.FAILED
        reason: str | None = "; ".join(f"{failure.region}: {failure.reason}" for failure in fan_out.failures)
        error_class: str | None = fan_out.failures[0].error_class
    elif settings.dry_run:
        status, reason, error_class = Status.DRY_RUN, "DRY_RUN is on: nothing was copied", None
    elif fan_out.new:
        status, reason, error_class = Status.COPIED, None, None
    elif fan_out.waiting:
        regions = ", ".join(item.region for item in fan_out.waiting)
        reason = f"OCI's copy limits hold back the copies to {regions}: queued for the next sweep"
        status, error_class = Status.QUEUED, None
    else:
        status, reason, error_class = Status.ALREADY_COPIED, "every destination already has a copy", None
    return replace(
        base,
        status=status,
        copies=fan_out.copies,
        new_copies=fan_out.new,
        failures=fan_out.failures,
        warnings=fan_out.warnings,
        waiting=fan_out.waiting,
        reason=reason,
        error_class=error_class,
    )


@dataclass(frozen=True)
class FanOut:
    """One source's copies across every destination: found, new, waiting, failed, and tag warnings."""

    copies: tuple[BackupCopy, ...] = ()
    new: tuple[BackupCopy, ...] = ()
    failures: tuple[RegionFailure, ...] = ()
    warnings: tuple[RegionFailure, ...] = ()
    # Destinations whose copy OCI's copy limits hold back; their `copies` entry is QUEUED.
    waiting: tuple[RegionFailure, ...] = ()


@dataclass(frozen=True)
class PairResult:
    """One destination of one source: its live copy (found, new, planned or QUEUED), or its failure."""

    copy: BackupCopy | None = None
    made: bool = False
    failure: RegionFailure | None = None
    warning: RegionFailure | None = None
    waiting: RegionFailure | None = None


def copy_to_destinations(
    source: Backup, settings: Settings, store: BackupStore, deadline: Deadline
) -> FanOut:
    """Give every destination a live, tagged copy of `source`; each region stands on its own.

    OCI copies one backup per boot volume at a time from a source region ("Copying a Boot Volume
    Backup Between Regions", Limitations): once a copy of a boot volume backup is in flight (requested
    by this call, or found being made), the other destinations that lack a copy are QUEUED for the
    sweep instead of refused.
    For volume and volume group backups the limit is not documented: each is requested, and a
    refusal for the limits queues it just the same.
    """
    results: list[PairResult] = []
    volume_busy = False
    for region in settings.destination_regions:
        result = copy_to(region, source, settings, store, deadline, hold=volume_busy)
        # A copy of this boot volume in flight, just requested or found, holds the other destinations.
        in_flight = result.copy is not None and result.copy.state in IN_FLIGHT_STATES
        volume_busy = volume_busy or (in_flight and source.kind is BackupKind.BOOT)
        results.append(result)
    return FanOut(
        copies=tuple(r.copy for r in results if r.copy is not None),
        new=tuple(r.copy for r in results if r.made and r.copy is not None),
        failures=tuple(r.failure for r in results if r.failure is not None),
        warnings=tuple(r.warning for r in results if r.warning is not None),
        waiting=tuple(r.waiting for r in results if r.waiting is not None),
    )


def copy_to(
    region: str, source: Backup, settings: Settings, store: BackupStore, deadline: Deadline, *, hold: bool
) -> PairResult:
    """Give one destination a live, tagged copy of `source`; `hold`: queue it rather than request one."""
    try:
        copy, made = _copy_to(region, source, settings, store, deadline, hold=hold)
    except CopyLimited as exc:
        return PairResult(copy=queued(region), waiting=RegionFailure(region, exc.reason, exc.error_class))
    except Failed as exc:
        return PairResult(
            failure=RegionFailure(region=region, reason=exc.reason, error_class=exc.error_class)
        )
    except Exception as exc:  # a bug: this destination fails, the others are still tried
        return PairResult(failure=_internal(region, source, exc))
    if copy.state == QUEUED:
        reason = (
            f"OCI copies one backup per boot volume at a time from {source.region}, and a copy of this "
            f"volume is in flight: the sweep copies to {region} once it has finished"
        )
        return PairResult(copy=copy, waiting=RegionFailure(region, reason, "copy_limit"))
    warning = None
    if made and copy.id and not settings.dry_run:
        # Tags are worth a warning, never a second copy: the copy stands whatever happens here.
        try:
            store.tag_copy(source, copy, deadline, deployment=settings.deployment)
        except Failed as exc:
            warning = RegionFailure(region=region, reason=f"tags not set: {exc.reason}", error_class="tags")
        except Exception as exc:  # a bug: the copy stands all the same, untagged
            failure = _internal(region, source, exc)
            warning = RegionFailure(region, f"tags not set: {failure.reason}", "tags")
    elif copy.id and not copy.marked:
        # Only a copy this call's own request returned is provably ours. A found copy may have been
        # made by hand, even under the name this function gives (DISPLAY_NAME_TEMPLATE={name}), and
        # the marker would hand it to retention: it counts as the region's copy and stays untagged.
        warning = RegionFailure(
            region=region,
            reason=(
                f"{copy.id} was not made by this invocation and carries no {MARKER_TAG} marker: "
                "it counts as this region's copy, is left untagged, and retention never deletes it"
            ),
            error_class=UNMARKED,
        )
    return PairResult(copy=copy, made=made, warning=warning)


def _internal(region: str, source: Backup, exc: Exception) -> RegionFailure:
    """An unexpected error (a bug) in one destination: logged with its traceback, reported as failed."""
    log.exception("unexpected error", extra={"fields": {"source": source.id, "region": region}})
    return RegionFailure(region, f"internal error: {type(exc).__name__}: {exc}", Failed.error_class)


def queued(region: str) -> BackupCopy:
    """The contract's entry for a destination waiting on OCI's copy limits."""
    return BackupCopy(region=region, id=None, state=QUEUED)


def filter_reason(source: Backup, settings: Settings) -> str | None:
    """Why the configured filters leave this backup out, or None if they let it through."""
    if settings.compartment_ids and source.compartment_id not in settings.compartment_ids:
        return f"compartment {source.compartment_id} is not in COMPARTMENT_IDS"
    if source.source_type and source.source_type.upper() not in settings.source_types:
        allowed = ", ".join(sorted(settings.source_types))
        return f"source type {source.source_type} is not in SOURCE_TYPES ({allowed})"
    if settings.required_tag:
        key, value = settings.required_tag
        if source.freeform_tags.get(key) != value:
            return f"the backup lacks the freeform tag {key}={value} (REQUIRED_TAG)"
    return None


def _check_copyable(source: Backup) -> None:
    state = source.lifecycle_state
    if state == "AVAILABLE":
        return
    if state in PENDING_SOURCE_STATES:
        raise TransientError(
            f"the backup is {state}, not yet AVAILABLE; a redelivery of the event will copy it",
            operation="get",
            region=source.region,
        )
    raise PermanentError(
        f"the backup is {state}: only an AVAILABLE backup can be copied",
        operation="get",
        region=source.region,
    )


def _copy_name(source: Backup, region: str, settings: Settings) -> str:
    return settings.display_name(
        name=source.display_name,
        source_region=source.region,
        destination_region=region,
        source_id=source.id,
        kind=source.kind.label,
    )


def _copy_to(
    region: str, source: Backup, settings: Settings, store: BackupStore, deadline: Deadline, *, hold: bool
) -> tuple[BackupCopy, bool]:
    """The live copy in `region` (found, new, planned or QUEUED), and whether this call made it."""
    found = store.find_copies(source, region, deadline)
    live = [copy for copy in found if copy.state in LIVE_COPY_STATES]
    if live:
        return live[0], False
    if settings.dry_run:
        return BackupCopy(region=region, id=None, state="PLANNED"), False
    if hold:
        return queued(region), False
    failed = [copy.id for copy in found if copy.id]
    request = CopyRequest(
        destination_region=region,
        display_name=_copy_name(source, region, settings),
        kms_key_id=settings.destination_kms_key_ids.get(region),
        retry_token=retry_token(source.id, region, failed),
    )
    for _ in range(MAX_INVALIDATED_TOKENS):
        try:
            return store.request_copy(source, request, deadline), True
        except RetryTokenInvalidated:
            # The copy this token made was deleted, and the listing no longer shows it (or its id
            # would be in the token): the backup still lacks a copy, so ask again under the next
            # token. Derived, not random, so concurrent deliveries still converge on one copy.
            log.warning(
                "the copy made under this retry token was deleted; asking again under a new token",
                extra={"fields": {"source": source.id, "region": region}},
            )
            fresh = retry_token(source.id, region, failed, invalidated=request.retry_token)
            request = replace(request, retry_token=fresh)
    return store.request_copy(source, request, deadline), True
