"""The event's use case: copy one backup to every destination that lacks a live copy of it.

Pure decisions over the BackupStore port: no SDK, no environment. The sweep copies each pair through
`copy_to`, with the copies its own listing found instead of a lookup.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeVar

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
from backup_copy.settings import Problem, Settings

log = logging.getLogger(__name__)
# How many invalidated retry tokens in a row a copy request follows before it fails.
MAX_INVALIDATED_TOKENS = 3
# The warning class of a live copy found without the marker: reported, never tagged or deleted.
UNMARKED = "unmarked"
_T = TypeVar("_T")


def copy_event(
    event: BackupCreatedEvent,
    settings: Settings,
    store: BackupStore,
    deadline: Deadline,
    problems: Sequence[Problem] = (),
) -> CopyOutcome:
    """Copy the event's backup to every destination that lacks a live copy of it.

    `problems` are bad configuration values the settings were read without (read_settings): the
    destinations still valid are copied all the same, and the outcome then fails naming each.
    """
    backup = event.backup
    if backup.region in settings.destination_regions:
        own = Problem(
            "DESTINATION_REGIONS",
            f"{backup.region!r} is the backup's own region: a backup cannot be copied to the region it is in",
            destinations=(backup.region,),
        )
        if settings.destination_regions == (backup.region,):
            raise ConfigurationError(str(own))
        problems = (*problems, own)
    destinations = tuple(region for region in settings.destination_regions if region != backup.region)
    outcome = _copy_event(event, destinations, settings, store, deadline)
    return _failed_for(outcome, problems) if problems else outcome


def _failed_for(outcome: CopyOutcome, problems: Sequence[Problem]) -> CopyOutcome:
    """The outcome failed for the configuration's problems; each destination they held back fails too."""
    refused = tuple(
        RegionFailure(region=region, reason=str(problem), error_class=ConfigurationError.error_class)
        for problem in problems
        for region in problem.destinations
    )
    return replace(
        outcome,
        status=Status.FAILED,
        reason=problem_reason(outcome.status, outcome.reason, problems),
        failures=refused + outcome.failures,
        error_class=ConfigurationError.error_class,
    )


def problem_reason(status: Status, reason: str | None, problems: Sequence[Problem]) -> str:
    """What happened, then what is wrong with the configuration: "copied, but DESTINATION_REGIONS: ..."."""
    named = "; ".join(str(problem) for problem in problems)
    if status is Status.FAILED:
        return f"{named}; {reason}" if reason else named
    return f"{status.value} ({reason}), but {named}" if reason else f"{status.value}, but {named}"


def _copy_event(
    event: BackupCreatedEvent,
    destinations: Sequence[str],
    settings: Settings,
    store: BackupStore,
    deadline: Deadline,
) -> CopyOutcome:
    backup = event.backup
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

    fan_out = copy_to_destinations(source, destinations, settings, store, deadline)
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
    source: Backup, destinations: Sequence[str], settings: Settings, store: BackupStore, deadline: Deadline
) -> FanOut:
    """Give every destination a live, tagged copy of `source`; each region stands on its own.

    OCI copies one backup per boot volume at a time from a source region ("Copying a Boot Volume
    Backup Between Regions", Limitations): once a copy of a boot volume backup is in flight (requested
    by this call, or found being made), the other destinations that lack a copy are QUEUED for the
    sweep instead of refused.
    For volume and volume group backups the limit is not documented: each is requested, and a
    refusal for the limits queues it just the same.

    The destinations' round trips overlap, in three steps: every lookup at once; then the copy
    requests one at a time in DESTINATION_REGIONS order, as before (whether a boot volume backup's
    next destination may ask depends on what the one before found or was given, and a boot event
    asks for one copy at most); then every tag write at once.
    """
    with _destination_threads(len(destinations)) as each:
        found = each(destinations, lambda region: store.find_copies(source, region, deadline))
        settled: dict[str, tuple[BackupCopy, bool] | BaseException] = {}
        volume_busy = False
        for region in destinations:
            lookup = found[region]
            if isinstance(lookup, BaseException):
                settled[region] = lookup
                continue
            step = _guarded(
                partial(_settle, region, lookup, source, settings, store, deadline=deadline, hold=volume_busy)
            )
            settled[region] = step
            # A copy of this boot volume in flight, just requested or found, holds the other destinations.
            in_flight = not isinstance(step, BaseException) and step[0].state in IN_FLIGHT_STATES
            volume_busy = volume_busy or (in_flight and source.kind is BackupKind.BOOT)
        finished = each(
            destinations,
            lambda region: _finish(region, source, settled[region], settings, store, deadline=deadline),
        )
    results = [_as_result(region, finished[region]) for region in destinations]
    return FanOut(
        copies=tuple(r.copy for r in results if r.copy is not None),
        new=tuple(r.copy for r in results if r.made and r.copy is not None),
        failures=tuple(r.failure for r in results if r.failure is not None),
        warnings=tuple(r.warning for r in results if r.warning is not None),
        waiting=tuple(r.waiting for r in results if r.waiting is not None),
    )


def copy_to(
    region: str,
    source: Backup,
    settings: Settings,
    store: BackupStore,
    deadline: Deadline,
    *,
    found: Sequence[BackupCopy] | None,
) -> PairResult:
    """Give one destination a live, tagged copy of `source` (the sweep, which decides the limits itself).

    `found` are the copies of `source` in `region` the sweep's listing shows, gone ones included,
    as the event path's lookup finds them: the request's retry token is then the one an event
    computes, so a copy requested by another invocation since the listing is replayed, not made
    twice. None where the listing was not read whole: they are looked up first.
    """
    settled: tuple[BackupCopy, bool] | BaseException
    try:
        if found is None:
            found = store.find_copies(source, region, deadline)
        settled = _settle(region, found, source, settings, store, deadline=deadline, hold=False)
    except (CopyLimited, Failed) as exc:
        settled = exc
    return _finish(region, source, settled, settings, store, deadline=deadline)


def _finish(
    region: str,
    source: Backup,
    settled: tuple[BackupCopy, bool] | BaseException,
    settings: Settings,
    store: BackupStore,
    *,
    deadline: Deadline,
) -> PairResult:
    """The destination's result from its live copy (tagged here when this call made it) or its error."""
    if isinstance(settled, BaseException):
        return _as_result(region, settled)
    copy, made = settled
    if copy.state == QUEUED:
        reason = (
            f"OCI copies one backup per boot volume at a time from {source.region}, and a copy of this "
            f"volume is in flight: the sweep copies to {region} once it has finished"
        )
        return PairResult(copy=copy, waiting=RegionFailure(region, reason, CopyLimited.error_class))
    warning = None
    if made and copy.id and not settings.dry_run:
        # Tags are worth a warning, never a second copy: the copy stands whatever happens here.
        try:
            store.tag_copy(source, copy, deadline, deployment=settings.deployment)
        except Failed as exc:
            warning = RegionFailure(region=region, reason=f"tags not set: {exc.reason}", error_class="tags")
        except Exception as exc:  # a bug: logged with its traceback; the copy stands, untagged
            failure = _internal(region, exc)
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


def _as_result(region: str, outcome: PairResult | BaseException) -> PairResult:
    """A destination's result, or its error as the destination's entry (QUEUED for OCI's copy limits)."""
    if isinstance(outcome, PairResult):
        return outcome
    if isinstance(outcome, CopyLimited):
        return PairResult(
            copy=queued(region), waiting=RegionFailure(region, outcome.reason, outcome.error_class)
        )
    if isinstance(outcome, Failed):
        return PairResult(
            failure=RegionFailure(region=region, reason=outcome.reason, error_class=outcome.error_class)
        )
    return PairResult(failure=_internal(region, outcome))


def _internal(region: str, exc: BaseException) -> RegionFailure:
    """A bug met working on one destination, as that destination's failure, logged with its traceback."""
    log.error(
        "unexpected error for one destination",
        exc_info=(type(exc), exc, exc.__traceback__),
        extra={"fields": {"region": region}},
    )
    return RegionFailure(
        region=region, reason=f"internal error: {type(exc).__name__}: {exc}", error_class=Failed.error_class
    )


def _guarded(work: Callable[[], _T]) -> _T | BaseException:
    """`work()`, or the error it raised: a known one for the destination's entry, a bug logged later."""
    try:
        return work()
    except Exception as exc:  # one destination's error never costs another its copy
        return exc


@contextmanager
def _destination_threads(
    count: int,
) -> Iterator[Callable[[Sequence[str], Callable[[str], _T]], dict[str, _T | BaseException]]]:
    """`each(regions, work)`: `work(region)` for every region at once, each result or error by region.

    The threads live for one fan-out only: the fdk serves one call at a time per container, and
    nothing is started at import. Each task runs in a copy of the caller's context, so its log
    lines carry the invocation's call and event ids. Every gateway call is bounded by the deadline,
    so no task outlives it by more than the gateway's own bound. One destination runs inline.
    """
    if count <= 1:

        def inline(regions: Sequence[str], work: Callable[[str], _T]) -> dict[str, _T | BaseException]:
            return {region: _guarded(partial(work, region)) for region in regions}

        yield inline
        return
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="destination") as pool:

        def each(regions: Sequence[str], work: Callable[[str], _T]) -> dict[str, _T | BaseException]:
            futures = {
                region: pool.submit(contextvars.copy_context().run, _guarded, partial(work, region))
                for region in regions
            }
            return {region: future.result() for region, future in futures.items()}

        yield each


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


def _settle(
    region: str,
    found: Sequence[BackupCopy],
    source: Backup,
    settings: Settings,
    store: BackupStore,
    *,
    deadline: Deadline,
    hold: bool,
) -> tuple[BackupCopy, bool]:
    """The live copy in `region` (found, new, planned or QUEUED), and whether this call made it."""
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
        retry_token=retry_token(source.id, region, failed, deployment=settings.deployment),
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
            fresh = retry_token(
                source.id, region, failed, deployment=settings.deployment, invalidated=request.retry_token
            )
            request = replace(request, retry_token=fresh)
    return store.request_copy(source, request, deadline), True
