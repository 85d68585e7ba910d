"""The OCI gateway: the one module that imports the `oci` SDK.

It implements the ports (backup_copy.ports) (BackupStore, Notifier, MetricsSink) with Block Storage,
Notifications and Monitoring clients, signed by the function's resource principal, built on first use
and cached per region for warm invocations. Every call is retried while the invocation's deadline
allows, no call outlives the time the deadline leaves it, every answer is checked to be what the
operation answers, and every failure leaves here as one of the errors in backup_copy.errors.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import random
import re
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar

import oci
from dateutil import tz
from oci.circuit_breaker import NoCircuitBreakerStrategy
from oci.core import BlockstorageClient
from oci.core.models import (
    CopyBootVolumeBackupDetails,
    CopyVolumeBackupDetails,
    CopyVolumeGroupBackupDetails,
    UpdateBootVolumeBackupDetails,
    UpdateVolumeBackupDetails,
    UpdateVolumeGroupBackupDetails,
    core_type_mapping,
)
from oci.ons import NotificationDataPlaneClient
from oci.ons.models import MessageDetails, ons_type_mapping

from backup_copy.backups import Backup, BackupCopy, BackupKind, CopyRequest
from backup_copy.deadline import Deadline
from backup_copy.errors import (
    ConfigurationError,
    CopyLimited,
    Failed,
    OciError,
    PermanentError,
    RetryTokenInvalidated,
    TransientError,
    UntrustedEndpoint,
)
from backup_copy.events import printable
from backup_copy.ocids import parse_ocid

if TYPE_CHECKING:
    from backup_copy.metrics import MetricPoint

log = logging.getLogger(__name__)

# The shortest time an attempt gets, however close the deadline.
MIN_READ_TIMEOUT = 0.5
# The page the list calls ask for: the most OCI's reference of the Block Storage API (20160918)
# documents for ListBootVolumeBackups, ListVolumeBackups and ListVolumeGroupBackups ("limit: 1 is the
# minimum, 1000 is the maximum. Default Value: 100"); the SDK's docstrings state no range. Without it
# every hundred backups would cost a request, and a sweep pays that per kind and destination.
LIST_PAGE_SIZE = 1000
# The OCI_ENDPOINT_TEMPLATE {service} of each client: Block Storage, Notifications, and Monitoring's
# ingestion endpoint, which PostMetricData alone uses (MonitoringClient.post_metric_data: "Replace the
# string `telemetry` with `telemetry-ingestion` in the endpoint"; the SDK does not do it itself).
BLOCK_STORAGE, NOTIFICATIONS, METRICS = "iaas", "notification", "telemetry-ingestion"
METRICS_ENDPOINT_TEMPLATE = "https://telemetry-ingestion.{region}.{secondLevelDomain}"
# PostMetricData's per-call limit (its docstring): "Unique metric streams. Maximum: 50."
MAX_STREAMS_PER_POST = 50


@dataclass(frozen=True)
class _KindApi:
    """The Block Storage operations and field names for one kind of backup."""

    get: str
    list: str
    copy: str
    update: str
    delete: str
    # The field naming the volume (or volume group) a backup was taken of.
    volume_field: str
    details: type[Any]
    update_details: type[Any]
    source_field: str
    # The list filter by source backup, where the API has one (volume group backups have none).
    list_filter: str | None
    iam_resource: str


_APIS = {
    BackupKind.BOOT: _KindApi(
        get="get_boot_volume_backup",
        list="list_boot_volume_backups",
        copy="copy_boot_volume_backup",
        update="update_boot_volume_backup",
        delete="delete_boot_volume_backup",
        volume_field="boot_volume_id",
        update_details=UpdateBootVolumeBackupDetails,
        details=CopyBootVolumeBackupDetails,
        source_field="source_boot_volume_backup_id",
        list_filter="source_boot_volume_backup_id",
        iam_resource="boot-volume-backups",
    ),
    BackupKind.VOLUME: _KindApi(
        get="get_volume_backup",
        list="list_volume_backups",
        copy="copy_volume_backup",
        update="update_volume_backup",
        delete="delete_volume_backup",
        volume_field="volume_id",
        update_details=UpdateVolumeBackupDetails,
        details=CopyVolumeBackupDetails,
        source_field="source_volume_backup_id",
        list_filter="source_volume_backup_id",
        iam_resource="volume-backups",
    ),
    BackupKind.VOLUME_GROUP: _KindApi(
        get="get_volume_group_backup",
        list="list_volume_group_backups",
        copy="copy_volume_group_backup",
        update="update_volume_group_backup",
        delete="delete_volume_group_backup",
        volume_field="volume_group_id",
        update_details=UpdateVolumeGroupBackupDetails,
        details=CopyVolumeGroupBackupDetails,
        source_field="source_volume_group_backup_id",
        list_filter=None,
        iam_resource="volume-group-backups",
    ),
}


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff with jitter for transient failures, bounded by the invocation's deadline."""

    base_delay: float = 0.5
    max_delay: float = 8.0
    # Seconds kept back, when deciding whether to try again, to report a failure after the last try.
    reserve: float = 4.0
    connect_timeout: float = 5.0
    # The longest an attempt may take, connect to last byte, and so the longest wait for any read.
    read_timeout: float = 25.0
    # 404s on a tag write retried like transient failures: a copy OCI has just accepted may not be
    # visible in its region yet (eventual consistency). Bounded, since OCI also answers 404 for a
    # missing grant, which no retry mends.
    tag_not_found_retries: int = 3
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    jitter: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, attempt: int) -> float:
        """How long to wait before try `attempt + 1`: exponential, with equal jitter."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return float(ceiling / 2 + ceiling / 2 * self.jitter())

    def next_pause(self, attempt: int, remaining: float, reserve: float) -> float | None:
        """The pause before try `attempt + 1`, or None to give up as it would eat into `reserve`."""
        pause = self.delay(attempt)
        return None if remaining - pause < reserve else pause


@dataclass(frozen=True)
class Credentials:
    """A signer, and the SDK config its clients need beside it (empty for a resource principal)."""

    signer: Any
    config: dict[str, Any] = field(default_factory=dict)


# The SDK releases whose resource-principal key loading `_platform_key_trusted` was read against:
# the 2.2 signer loads the key file through oci.signer.load_private_key_from_file, once when it is
# built (FileBasedSessionKeySupplier.refresh). Another release takes the SDK's own path, unchanged;
# tests/gateway fails when the locked release is not listed here.
KEY_LOADING_READ_FOR = frozenset({"2.189.0"})
_KEY_LOADER_SWAP = threading.Lock()


@contextmanager
def _platform_key_trusted() -> Iterator[None]:
    """While the resource-principal signer is built, load its key file without the RSA key check.

    Building the signer costs 28 to 45 ms of a cold start, nearly all of it the validation
    cryptography runs in load_pem_private_key; with unsafe_skip_rsa_key_validation (cryptography's
    documented option for a key from a trusted source) it costs 0.05 ms. The key is the one OCI
    Functions wrote into the function's own container for this function alone: the source is
    trusted. The SDK has no option for it, so its loader is swapped for the signer's construction
    only (under the module's _KEY_LOADER_SWAP lock), for the SDK releases listed above, for RP
    version 2.2 with a key file and no passphrase; any other case loads as the SDK does. A 401
    later reloads the key through the SDK's own, validating loader.
    """
    applies = (
        oci.__version__ in KEY_LOADING_READ_FOR
        and os.environ.get("OCI_RESOURCE_PRINCIPAL_VERSION") == "2.2"
        and os.path.isabs(os.environ.get("OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", ""))
        and not os.environ.get("OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_PASSPHRASE")
    )
    if not applies:
        yield
        return
    # One swap at a time in the process: two gateways building signers at once must not leave the
    # trusted loader in place by restoring each other's swap.
    with _KEY_LOADER_SWAP:
        validating = oci.signer.load_private_key_from_file
        oci.signer.load_private_key_from_file = load_trusted_key
        try:
            yield
        finally:
            oci.signer.load_private_key_from_file = validating


def load_trusted_key(filename: str, pass_phrase: bytes | None = None) -> Any:
    """The key in `filename`, as oci.signer.load_private_key_from_file reads it, minus the RSA check."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    with open(os.path.expanduser(filename), "rb") as key_file:
        data = key_file.read().strip()
    return load_pem_private_key(data, pass_phrase, unsafe_skip_rsa_key_validation=True)


def default_credentials() -> Credentials:
    """The resource principal inside OCI Functions; an ~/.oci/config profile for local runs."""
    try:
        if os.environ.get("OCI_RESOURCE_PRINCIPAL_VERSION"):
            with _platform_key_trusted():
                return Credentials(oci.auth.signers.get_resource_principals_signer())
        profile = os.environ.get("OCI_CONFIG_PROFILE")
        if profile:
            config = oci.config.from_file(
                file_location=os.environ.get("OCI_CONFIG_FILE", oci.config.DEFAULT_LOCATION),
                profile_name=profile,
            )
            # The SDK validates an API-key signer's client config (user, tenancy, key, fingerprint).
            return Credentials(oci.signer.Signer.from_config(config), dict(config))
    except Exception as exc:  # unreadable token or key files, a broken profile: all the same to the operator
        raise ConfigurationError(f"the function's OCI credentials could not be loaded: {exc}") from exc
    raise ConfigurationError(
        "no OCI credentials: OCI_RESOURCE_PRINCIPAL_VERSION is not set (the function is not running "
        "in OCI Functions) and no OCI_CONFIG_PROFILE was given for a local run"
    )


class OciGateway:
    """Block Storage and Notifications through the SDK, with cached clients per service and region.

    SDK clients are not thread-safe, and the event path calls from several threads at once (one per
    destination; every copy request goes to the SOURCE region's client). So a client is lent to one
    attempt at a time: an attempt takes an idle client of its service and region, or a new one
    when all are lent out, and gives it back when it ends. Warm invocations reuse the idle ones, so a
    service and region hold as many clients as calls to them ever overlapped, whatever the threads.
    """

    def __init__(
        self,
        *,
        endpoint_template: str | None = None,
        credentials: Callable[[], Credentials] = default_credentials,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._endpoint_template = endpoint_template
        self._credentials_factory = credentials
        self._retry = retry or RetryPolicy()
        self._credentials: Credentials | None = None
        # The idle clients of each (service, region); a client lent to an attempt is in none.
        self._idle: dict[tuple[str, str], list[Any]] = {}
        self._lock = threading.Lock()

    # --- the BackupStore port ---------------------------------------------------------

    def get_backup(self, kind: BackupKind, backup_id: str, region: str, deadline: Deadline) -> Backup:
        """Read a backup in its own region."""
        api = _APIS[kind]
        data = self._call(
            BLOCK_STORAGE,
            "get",
            region,
            deadline,
            api.get,
            backup_id,
            kind=kind,
            expect=lambda answer: _check_backup(answer.data, kind, region, backup_id),
        ).data
        return self._source(kind, region, data)

    def find_copies(self, source: Backup, region: str, deadline: Deadline) -> list[BackupCopy]:
        """Every copy of `source` in `region` (copies land in the source's compartment)."""
        api = _APIS[source.kind]
        filters = {api.list_filter: source.id} if api.list_filter else {}
        return [
            self._source(source.kind, region, item).found_copy()
            for item in self._list(source.kind, source.compartment_id, region, deadline, **filters)
            if getattr(item, api.source_field, None) == source.id
        ]

    def request_copy(self, source: Backup, request: CopyRequest, deadline: Deadline) -> BackupCopy:
        """Ask the SOURCE region to copy `source`; the destination travels in the body."""
        api = _APIS[source.kind]
        details = api.details(
            destination_region=request.destination_region,
            display_name=request.display_name,
            kms_key_id=request.kms_key_id,
        )
        # The same retry token on every attempt: OCI answers a repeat with the first result.
        # The answer is the new backup, in the destination: anything else (a `{}` from a proxy) is no
        # proof of a copy, so it fails the attempt rather than passing for one.
        response = self._call(
            BLOCK_STORAGE,
            "copy",
            source.region,
            deadline,
            api.copy,
            source.id,
            details,
            kind=source.kind,
            destination=request.destination_region,
            expect=lambda answer: _check_backup(answer.data, source.kind, request.destination_region),
            opc_retry_token=request.retry_token,
        )
        return BackupCopy(
            region=request.destination_region,
            id=response.data.id,
            state=response.data.lifecycle_state,
            work_request_id=response.headers.get("opc-work-request-id"),
            display_name=response.data.display_name,
        )

    def tag_copy(self, source: Backup, copy: BackupCopy, deadline: Deadline, *, deployment: str) -> None:
        """Set the source's tags and the markers (naming `deployment`) on the copy, in the copy's region.

        The copy API has no tag field. OCI documents that a volume backup's tags are copied with it;
        for boot volume and volume group backups it is unconfirmed. So they are always written
        here, and an update replaces the copy's tag sets with these (copy_tags sets the markers
        over whatever marker keys the source's own tags carried). A 404 right after the copy is
        retried a few times (the new copy may not be visible yet); a copy still CREATING answers
        409 IncorrectState, retried like any other.
        """
        api = _APIS[source.kind]
        freeform, defined = source.copy_tags(deployment)
        copy_id = copy.id
        self._call(
            BLOCK_STORAGE,
            "tag",
            copy.region,
            deadline,
            api.update,
            copy_id,
            api.update_details(freeform_tags=freeform, defined_tags=defined),
            kind=source.kind,
            not_found_retries=self._retry.tag_not_found_retries,
            expect=lambda answer: _check_backup(answer.data, source.kind, copy.region, copy_id),
        )

    def iter_backups(
        self, kind: BackupKind, compartment_id: str, region: str, deadline: Deadline
    ) -> Iterator[Backup]:
        """Every backup of a kind in a compartment and region, newest first, read a page at a time."""
        for page in self._pages(kind, compartment_id, region, deadline):
            for item in page:
                yield self._source(kind, region, item)

    def delete_backup(self, kind: BackupKind, backup_id: str, region: str, deadline: Deadline) -> None:
        """Delete a backup (retention of the copies this function made)."""
        self._call(BLOCK_STORAGE, "delete", region, deadline, _APIS[kind].delete, backup_id, kind=kind)

    # --- the Notifier port -----------------------------------------------------------------------

    def publish(self, topic_id: str, title: str, body: str, deadline: Deadline) -> str:
        """Publish to the topic, in the topic's region; returns the message id."""
        region = parse_ocid(topic_id, resource_type="onstopic").region
        response = self._call(
            NOTIFICATIONS,
            "publish",
            region,
            deadline,
            "publish_message",
            topic_id,
            MessageDetails(title=title, body=body),
            reserve=0.5,
            expect=lambda answer: _check_published(answer.data),
        )
        return str(response.data.message_id)

    # --- the MetricsSink port ----------------------------------------------------------------

    def post_metrics(
        self, namespace: str, points: Iterable[MetricPoint], region: str, deadline: Deadline
    ) -> int:
        """Post datapoints to Monitoring in `region`, into the function's own compartment; how many.

        At most MAX_STREAMS_PER_POST streams a call, each batch taken from `points` as it is posted
        (a wide sweep's thousands are never all built at once). A post has no retry token: a
        retried one may record a datapoint twice, which the alarms' max() does not see and a sum()
        of counts rarely will. Any metric Monitoring refuses fails the post (PermanentError, with
        its reason), and the batches after it are not posted.
        """
        each = iter(points)
        batches = iter(lambda: list(islice(each, MAX_STREAMS_PER_POST)), [])
        posted = 0
        compartment_id: str | None = None
        for batch in batches:
            if compartment_id is None:
                compartment_id = self._metrics_compartment(region)
            # PostMetricDataDetails as the SDK would send it (its attribute_map's names, None fields
            # left out, timestamps as sanitize_for_serialization writes them), serialised here:
            # call_api sends a str body as it is. A sweep posts thousands of streams, and building
            # them as models for the SDK to walk back to JSON cost more CPU than its whole report.
            details = {
                "metricData": [
                    {
                        "namespace": namespace,
                        "compartmentId": compartment_id,
                        "name": point.name,
                        "dimensions": dict(point.dimensions),
                        "datapoints": [{"timestamp": _sdk_timestamp(point.timestamp), "value": point.value}],
                    }
                    for point in batch
                ],
                # NON_ATOMIC (OCI's default): the valid metrics are kept, the others listed.
                "batchAtomicity": "NON_ATOMIC",
            }
            response = self._call(
                METRICS,
                "metrics",
                region,
                deadline,
                "post_metric_data",
                json.dumps(details),
                reserve=1.0,
                expect=lambda answer: _check_metrics_answer(answer.data),
            )
            _refused_metrics(response.data, len(batch), region)
            posted += len(batch)
        return posted

    def _metrics_compartment(self, region: str) -> str:
        """The function's own compartment: the resource principal's res_compartment claim.

        The SDK's resource-principal signer reads it from the session token (its `compartment_id`,
        EphemeralResourcePrincipalSigner._reset_claims), so the function needs no key naming it, and
        the kit grants `use metrics` and sets the alarms in that compartment.
        """
        signer = self._loaded_credentials().signer
        compartment = getattr(signer, "compartment_id", None)
        if not isinstance(compartment, str) or not compartment:
            raise ConfigurationError(
                "metrics go to the function's own compartment, which only its resource principal names "
                "(a local run with an OCI config profile has none)"
            )
        return compartment

    # --- plumbing --------------------------------------------------------------------------------

    def _list(
        self, kind: BackupKind, compartment_id: str, region: str, deadline: Deadline, **filters: str
    ) -> list[Any]:
        """Every item of a kind's list call in a compartment and region (a lookup's few copies)."""
        pages = self._pages(kind, compartment_id, region, deadline, **filters)
        return [item for page in pages for item in page]

    def _pages(
        self, kind: BackupKind, compartment_id: str, region: str, deadline: Deadline, **filters: str
    ) -> Iterator[list[Any]]:
        """Each page of a kind's list call in a compartment and region, newest first, of the largest size.

        A page is asked for when the one before has been taken, and only then: a caller that folds
        pages as they come holds one at a time.
        """
        page: str | None = None
        while True:
            # The SDK's own keyword arguments: a filter, the page size, the order and the page token.
            # TIMECREATED DESC is the order the SDK's list_*_backups document as the default; asked
            # for all the same, so the newest come first whatever a service's default.
            sdk_kwargs: dict[str, Any] = {
                **filters,
                "limit": LIST_PAGE_SIZE,
                "sort_by": "TIMECREATED",
                "sort_order": "DESC",
            }
            if page:
                sdk_kwargs["page"] = page
            # A listing decides whether a copy exists: a body that is not a list of backups (a `{}`
            # reads as an empty list to the SDK) must fail, or it would pass for "no copies".
            response = self._call(
                BLOCK_STORAGE,
                "list",
                region,
                deadline,
                _APIS[kind].list,
                compartment_id,
                kind=kind,
                expect=lambda answer: _check_listing(answer.data, kind, region),
                **sdk_kwargs,
            )
            items, page = response.data, response.next_page
            # Nothing of the answer but its items outlives the call while the caller folds them.
            del response
            yield items
            if not page:
                return

    def _loaded_credentials(self) -> Credentials:
        """The signer and config, loaded on first use and kept."""
        with self._lock:
            if self._credentials is None:
                self._credentials = self._credentials_factory()
            return self._credentials

    def _take_client(self, service: str, region: str) -> Any:
        """An idle client of `service` in `region`, or a new one: the caller's alone until given back."""
        with self._lock:
            idle = self._idle.get((service, region))
            if idle:
                return idle.pop()
        # Built outside the lock: another region's attempt need not wait for this one's client.
        return self._new_client(self._loaded_credentials(), service, region)

    def _give_back(self, service: str, region: str, client: Any) -> None:
        """Return a client no thread is using any more to the idle ones."""
        with self._lock:
            self._idle.setdefault((service, region), []).append(client)

    def _new_client(self, credentials: Credentials, service: str, region: str) -> Any:
        kwargs: dict[str, Any] = {
            "signer": credentials.signer,
            "timeout": (self._retry.connect_timeout, self._retry.read_timeout),
            # The retry loop below is the only one: the circuit breaker would turn a burst of 5xx
            # into failures of its own before the deadline logic saw them.
            "circuit_breaker_strategy": NoCircuitBreakerStrategy(),
        }
        if self._endpoint_template:
            kwargs["service_endpoint"] = self._endpoint_template.format(region=region, service=service)
        elif service == METRICS:
            kwargs["service_endpoint"] = oci.regions.endpoint_for(
                "monitoring", region=region, service_endpoint_template=METRICS_ENDPOINT_TEMPLATE
            )
        if service == BLOCK_STORAGE:
            client_class, models = BlockstorageClient, core_type_mapping
        elif service == NOTIFICATIONS:
            client_class, models = NotificationDataPlaneClient, ons_type_mapping
        else:
            # Imported here: only the sweep posts metrics, and the event path's cold start skips
            # Monitoring's modules (about 4 ms).
            from oci.monitoring import MonitoringClient
            from oci.monitoring.models import monitoring_type_mapping

            client_class, models = MonitoringClient, monitoring_type_mapping
        client = client_class({**credentials.config, "region": region}, **kwargs)
        base = client.base_client
        base.deserialize_response_data = _shape_checked(base.deserialize_response_data, models)
        return client

    def _call(
        self,
        service: str,
        operation: str,
        region: str,
        deadline: Deadline,
        sdk_method: str,
        *args: Any,
        kind: BackupKind | None = None,
        destination: str | None = None,
        reserve: float | None = None,
        not_found_retries: int = 0,
        expect: Callable[[Any], None] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Call `<service client>.<sdk_method>`, retrying transient failures while the deadline allows.

        Each attempt, connect to last byte, is cut to the time left (less the reserve), so a hung or
        trickling answer fails while the function can still report it, rather than outliving the
        container. `expect` checks the answer: an answer it refuses is retried like a 5xx. The first
        `not_found_retries` 404 answers are retried like transient failures.
        """
        keep = self._retry.reserve if reserve is None else reserve
        attempt = 0
        not_found = 0
        while True:
            attempt += 1
            # Built first, so that credentials that cannot load say so whatever the deadline.
            client = self._take_client(service, region)
            left = deadline.remaining() - keep
            if left <= 0:
                self._give_back(service, region, client)
                # The reserve is for reporting: no call may start in it (the first included).
                raise TransientError(
                    f"no time left for {operation} in {region} before the deadline",
                    operation=operation,
                    region=region,
                    attempts=attempt - 1,
                )
            # The whole attempt gets `bound`, and so does each wait for bytes within it (see _within).
            bound = max(MIN_READ_TIMEOUT, min(self._retry.read_timeout, left))
            timeout = (min(self._retry.connect_timeout, bound), bound)
            call = _attempt(client, sdk_method, args=args, kwargs=kwargs, timeout=timeout)
            try:
                try:
                    response = _within(bound, call)
                except _Unanswered:
                    # The abandoned worker may still be reading through it: never lent out again.
                    client = None
                    raise
                finally:
                    if client is not None:
                        self._give_back(service, region, client)
                if expect is not None:
                    expect(response)
                return response
            except Exception as exc:  # the SDK's errors are classified; anything else is a bug
                error = classify(exc, operation, region, kind=kind, destination=destination, attempts=attempt)
                if error is None:
                    raise
                if isinstance(error, PermanentError) and error.http_status == 404 and not_found_retries:
                    if not_found == not_found_retries:
                        raise _still_not_found(error) from exc
                    not_found += 1
                elif not isinstance(error, TransientError):
                    raise error from exc
                pause = self._retry.next_pause(attempt, deadline.remaining(), keep)
                if pause is None:
                    raise _out_of_time(error) from exc
                log.warning(
                    "retrying OCI call",
                    extra={
                        "fields": {
                            "operation": operation,
                            "region": region,
                            "attempt": attempt,
                            "httpStatus": error.http_status,
                            "code": error.code,
                            "pause": round(pause, 3),
                        }
                    },
                )
                self._retry.sleep(pause)

    @staticmethod
    def _source(kind: BackupKind, region: str, data: Any) -> Backup:
        # A listing's backups repeat most of their strings: the compartment, the state, the tags, and
        # a copy's source and volume, which are its source's own id and volume. Read from JSON, each
        # is an object of its own, and the thousands of backups a sweep keeps held megabytes of the
        # same few strings: one object per distinct string (sys.intern's are freed with their last use).
        source_backup_id = getattr(data, _APIS[kind].source_field, None)
        volume_id = getattr(data, _APIS[kind].volume_field, None)
        source_type = getattr(data, "source_type", None)
        return Backup(
            id=_shared(data.id),
            kind=kind,
            region=region,
            compartment_id=_shared(data.compartment_id),
            display_name=_shared(data.display_name or data.id),
            lifecycle_state=_shared(data.lifecycle_state),
            source_backup_id=None if source_backup_id is None else _shared(source_backup_id),
            freeform_tags={_shared(k): _shared(v) for k, v in (data.freeform_tags or {}).items()},
            defined_tags={ns: dict(values) for ns, values in (data.defined_tags or {}).items()},
            source_type=None if source_type is None else _shared(source_type),
            volume_id=None if volume_id is None else _shared(volume_id),
            time_created=getattr(data, "time_created", None),
            # Boot volume and volume backups only; the SDK's VolumeGroupBackup has no such field.
            volume_group_backup_id=getattr(data, "volume_group_backup_id", None),
        )


def _shared(value: Any) -> Any:
    """A string as the one object of its value (sys.intern); anything else as it is."""
    return sys.intern(value) if type(value) is str else value


class _Unanswered(Exception):
    """An attempt that had no complete answer within its time; its worker thread was abandoned."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no complete answer within {seconds:.1f} s")
        self.seconds = seconds


class _Malformed(Exception):
    """A successful answer whose body is not what the operation answers; `problem` says how."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _attempt(
    client: Any,
    sdk_method: str,
    *,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    timeout: tuple[float, float],
) -> Callable[[], Any]:
    """One SDK call, with `timeout` (connect, read) for its requests."""

    def call() -> Any:
        with _attempt_timeout(client, timeout):
            return getattr(client, sdk_method)(*args, **kwargs)

    return call


def _within(seconds: float, call: Callable[[], Any]) -> Any:
    """`call()` run on a worker thread; _Unanswered when it has not returned within `seconds`.

    The SDK offers only (connect, read) timeouts, and its requests' read timeout bounds each wait
    for bytes, not the answer: one trickled a byte at a time outlives any deadline. Aborting the read
    from a timer would need the socket of the request in flight, which neither the SDK nor its
    vendored requests hands out (closing the session closes only idle pooled connections). So the
    caller waits for the worker at most `seconds`, then leaves it: a daemon thread, it ends when its
    socket does and never holds the process, and the caller never gives its client back to the idle
    ones (SDK clients are not thread-safe), so no two threads ever use one client.
    """
    future: Future[Any] = Future()
    # The worker logs (the SDK's warnings) with the invocation's call and event ids.
    context = contextvars.copy_context()

    def work() -> None:
        try:
            future.set_result(context.run(call))
        except BaseException as exc:  # handed over to the waiting caller, which classifies it
            future.set_exception(exc)

    threading.Thread(target=work, name="oci-call", daemon=True).start()
    done, _ = wait((future,), timeout=seconds)
    if not done:
        raise _Unanswered(seconds)
    return future.result()


def _shape_checked(deserialize: Callable[..., Any], models: Mapping[str, Any]) -> Callable[..., Any]:
    """The SDK's deserialiser, refusing a body whose JSON is not the shape the operation answers.

    The SDK reads `{}`, an empty body or text that is not JSON as an empty list (a listing) or a model
    with every field None (a backup), so the raw body is checked here, where the SDK hands it over:
    BaseClient.request calls `self.deserialize_response_data(content, response_type, ...)` for
    every successful answer that has a body type (a model, or a list of models), and with type
    "object" for error bodies, which it reads loosely on purpose and which pass through untouched.
    A listing of backups that _ListingReader can read is read there, to the same models.
    """
    readers = {
        f"list[{name}]": _ListingReader(models[name], models) for name in _LISTED_MODELS if name in models
    }

    def checked(response_data: bytes, response_type: str, allow_control_chars: Any = None) -> Any:
        reader = readers.get(response_type)
        # The SDK reads a body strictly (no control characters) unless a call or client allows them;
        # none of this gateway's do, and one that did would be read by the SDK.
        if reader is not None and allow_control_chars is None:
            items = reader.read(response_data)
            if items is not None:
                return items
        if response_type.startswith("list[") and response_type[5:-1] in models:
            _check_shape(response_data, listing=True)
        elif response_type in models:
            _check_shape(response_data, listing=False)
        return deserialize(response_data, response_type, allow_control_chars)

    return checked


# The models of the listings the sweep reads by the thousand.
_LISTED_MODELS = ("BootVolumeBackup", "VolumeBackup", "VolumeGroupBackup")
# The one date format the SDK parses with strptime (BaseClient.__deserialize_datetime), as a pattern
# datetime.fromisoformat reads to the same instant; any other form is left to the SDK.
_SDK_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{1,6}Z\Z")
_Convert = Callable[[Any], Any]
_Fields = list[tuple[str, str, _Convert | None]]


class _Unreadable(Exception):
    """A value _ListingReader leaves to the SDK's deserialiser."""


class _ListingReader:
    """A listing's backups, read to the very models the SDK's deserialiser makes, at a third of its cost.

    A sweep reads every backup of its region and of each destination, thousands of them, and the
    SDK (BaseClient.__deserialize) works out each field's type from its name again for every item
    and parses every date with strptime: at 3,000 volumes copied to three regions that was a third
    of the sweep's CPU. Here each field's conversion is worked out once per model, after the SDK's
    rules: None stays None; a primitive goes through its type (__deserialize_primitive); a dict or
    list item by item; "object" and a name the SDK does not know as they are; a nested model the
    same way. Each value is set through the model's own setter, as the SDK sets it, so an unknown
    enum value reads UNKNOWN_ENUM_VALUE all the same. A body, item or value it cannot read so (not
    a list of objects, a date in another form, a model with subtypes, any error) leaves the whole
    listing to the SDK, which reads it, or fails, as it always has. tests/gateway holds the two to
    the same result.
    """

    def __init__(self, model: type[Any], models: Mapping[str, Any]) -> None:
        self._model = model
        self._models = models
        self._fields = self._fields_of(model)

    def read(self, body: bytes) -> list[Any] | None:
        """The listing's models, or None to leave the body to the SDK."""
        if hasattr(self._model, "get_subtype"):
            return None
        try:
            # As the SDK reads a body: UTF-8, then strict JSON.
            parsed = json.loads(body.decode("utf8"))
            if not isinstance(parsed, list) or not all(isinstance(item, dict) for item in parsed):
                return None
            models = []
            for index, item in enumerate(parsed):
                models.append(self._fill(self._model, self._fields, item))
                # Each item's JSON goes as its model comes: a page is never held twice over.
                parsed[index] = None
            return models
        except Exception:  # anything unusual is the SDK's to read, or to fail on, as it always was
            return None

    @staticmethod
    def _fill(model: type[Any], fields: _Fields, data: Any) -> Any:
        if not isinstance(data, dict):
            raise _Unreadable("a model that is not an object")
        instance = model()
        for attr, key, convert in fields:
            if key in data:
                value = data[key]
                setattr(instance, attr, value if value is None or convert is None else convert(value))
        return instance

    def _fields_of(self, model: type[Any]) -> _Fields:
        """Each of the model's attributes: its name in the JSON, and how its value is read."""
        prototype = model()
        return [
            (attr, prototype.attribute_map[attr], self._converter(swagger_type))
            for attr, swagger_type in prototype.swagger_types.items()
        ]

    def _converter(self, swagger_type: str) -> _Convert | None:
        """How the SDK deserialises a value of `swagger_type` other than None (which stays None),
        worked out once; None where it keeps the value as it is."""
        if swagger_type.startswith("list["):
            each = _or_none(self._converter(swagger_type[5:-1]))
            return lambda value: [each(item) for item in value]
        if swagger_type.startswith("dict("):
            each = _or_none(self._converter(swagger_type[5:-1].split(", ", 1)[1]))
            return lambda value: {k: each(v) for k, v in value.items()}
        if swagger_type in _PRIMITIVES:
            return _PRIMITIVES[swagger_type]
        nested = self._models.get(swagger_type)
        if nested is None:
            # A type name the SDK does not map (an enum's): it tries the name as a callable, which
            # raises TypeError, and keeps the value as it is.
            return None
        if hasattr(nested, "get_subtype"):
            return _unreadable
        fields = self._fields_of(nested)
        return lambda value: self._fill(nested, fields, value)


def _primitive(kind: type[Any]) -> _Convert:
    """BaseClient.__deserialize_primitive: the value through its type, as it is if that fails to apply."""

    def convert(value: Any) -> Any:
        try:
            return kind(value)
        except (UnicodeEncodeError, TypeError):
            return value

    return convert


def _or_none(convert: _Convert | None) -> _Convert:
    """`convert` for an item of a list or dict, where None stays None as well."""
    if convert is None:
        return lambda value: value
    return lambda value: None if value is None else convert(value)


def _sdk_datetime(value: Any) -> Any:
    """BaseClient.__deserialize_datetime for the form it parses with strptime, to the same datetime."""
    if not isinstance(value, str) or not _SDK_DATETIME.match(value):
        raise _Unreadable("a date the SDK reads its own way")
    return datetime.fromisoformat(value[:-1]).replace(tzinfo=tz.tzutc())


def _sdk_timestamp(when: datetime) -> str:
    """A datetime as BaseClient.sanitize_for_serialization writes it: in UTC, naive read as UTC, Z."""
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _unreadable(value: Any) -> Any:
    raise _Unreadable("a value the SDK reads its own way")


# The SDK's primitive_type_map (BaseClient), each as __deserialize reads it: "str" maps to six.u,
# which returns its argument, and "object" is kept as it is (None); a "date" is left to the SDK.
_PRIMITIVES: dict[str, _Convert | None] = {
    "int": _primitive(int),
    "float": _primitive(float),
    "bool": _primitive(bool),
    "str": None,
    "object": None,
    "datetime": _sdk_datetime,
    "date": _unreadable,
}


def _check_shape(body: bytes, *, listing: bool) -> None:
    if not body.strip():
        raise _Malformed("the body is empty")
    try:
        parsed = json.loads(body)
    except ValueError:  # UnicodeDecodeError included
        raise _Malformed("the body is not JSON") from None
    if listing and not isinstance(parsed, list):
        raise _Malformed(f"a list was expected, the body is {_json_kind(parsed)}")
    if listing and not all(isinstance(item, dict) for item in parsed):
        raise _Malformed("an item of the list is not an object")
    if not listing and not isinstance(parsed, dict):
        raise _Malformed(f"an object was expected, the body is {_json_kind(parsed)}")


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else f"a JSON {type(value).__name__}"


def _check_backup(data: Any, kind: BackupKind, region: str, backup_id: str | None = None) -> None:
    """_Malformed unless `data` is a backup of `kind` in `region` (`backup_id`, when given)."""
    identifier = getattr(data, "id", None)
    if not isinstance(identifier, str) or not identifier:
        raise _Malformed("it has no id")
    try:
        ocid = parse_ocid(identifier, resource_type=kind.ocid_type)
    except ValueError as exc:
        raise _Malformed(f"its id {printable(identifier, 120)!r} is not a {kind.label} OCID: {exc}") from None
    if ocid.region != region:
        raise _Malformed(f"its id {identifier} is in {ocid.region}, not {region}")
    if backup_id is not None and identifier != backup_id:
        raise _Malformed(f"its id {identifier} is not the one asked for, {backup_id}")
    for name, what in (("lifecycle_state", "lifecycle state"), ("compartment_id", "compartment")):
        value = getattr(data, name, None)
        if not isinstance(value, str) or not value:
            raise _Malformed(f"{identifier} has no {what}")


def _check_listing(data: Any, kind: BackupKind, region: str) -> None:
    """_Malformed unless `data` is a list of backups of `kind` in `region`."""
    if not isinstance(data, list):
        raise _Malformed(f"a list was expected, the SDK gave {type(data).__name__}")
    for item in data:
        _check_backup(item, kind, region)


def _check_metrics_answer(data: Any) -> None:
    """_Malformed unless `data` says how many metrics Monitoring refused."""
    count = getattr(data, "failed_metrics_count", None)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise _Malformed("it has no failed-metrics count")


def _refused_metrics(data: Any, posted: int, region: str) -> None:
    """PermanentError when Monitoring kept fewer metrics than were posted, quoting its first reason."""
    count = int(data.failed_metrics_count)
    if not count:
        return
    records = data.failed_metrics or []
    first = printable(str(getattr(records[0], "message", "") or ""), 300) if records else ""
    raise PermanentError(
        f"Monitoring refused {count} of {posted} metric(s) in {region}" + (f": {first}" if first else ""),
        operation="metrics",
        region=region,
    )


def _check_published(data: Any) -> None:
    """_Malformed unless `data` names the message published."""
    message_id = getattr(data, "message_id", None)
    if not isinstance(message_id, str) or not message_id:
        raise _Malformed("it has no message id")


@contextmanager
def _attempt_timeout(client: Any, timeout: tuple[float, float]) -> Iterator[None]:
    """Give the client's requests `timeout` (connect, read) for one attempt, then restore its own."""
    # The SDK's operations accept no timeout argument, and BaseClient.request hands requests the
    # client's own `base_client.timeout` on every call, so setting that attribute is the only hook.
    # It cannot race: a client is lent to one attempt at a time (OciGateway._take_client), and an
    # abandoned worker's client is never given back (see _within).
    base = client.base_client
    own = base.timeout
    base.timeout = timeout
    try:
        yield
    finally:
        base.timeout = own


def _still_not_found(error: PermanentError) -> PermanentError:
    """The error to raise when a 404 retried for eventual consistency persists."""
    return _restated(error, PermanentError, f"still not found after {error.attempts} attempts")


def _out_of_time(error: OciError) -> TransientError:
    """The error to raise when `error` could have mended but the deadline leaves no room for a retry."""
    return _restated(error, TransientError, f"gave up after {error.attempts} attempt(s), as time ran out")


_Restated = TypeVar("_Restated", bound=OciError)


def _restated(error: OciError, kind: type[_Restated], why: str) -> _Restated:
    """`error`'s facts as a `kind`, its reason followed by why it ends here: complete when raised."""
    return kind(
        f"{error.reason} ({why})",
        operation=error.operation,
        region=error.region,
        http_status=error.http_status,
        code=error.code,
        opc_request_id=error.opc_request_id,
        attempts=error.attempts,
    )


# Which 409s are worth another try. OCI's error table (docs, "API Errors", common errors of all
# services) says retry with backoff for IncorrectState and ExternalServerIncorrectState, and not for
# Conflict ("not temporary"), InvalidatedRetryToken or NotAuthorizedOrResourceAlreadyExists.
# LockConflict is not in the table; the SDK's own default strategy retries it with IncorrectState
# (oci.retry.retry_checkers, 409: IncorrectState, LockConflict).
_TRANSIENT_409 = frozenset({"IncorrectState", "ExternalServerIncorrectState", "LockConflict"})
# OCI documents its copy limits ("Copying a Boot Volume Backup Between Regions", Limitations: one copy
# per boot volume at a time from a source region; up to ten concurrent copies per tenancy) but not
# the answer to a request over them. 400 LimitExceeded is in OCI's error table and names a limit by
# its code alone; 409 Conflict, 409 IncorrectState and 429 also mean other things (a retried 429 or
# 409 usually succeeds), so those count only when the message speaks of a limit or a copy in progress.
_LIMIT_CODES = frozenset({(400, "LimitExceeded")})
_LIMIT_CODES_WITH_MESSAGE = frozenset({(409, "Conflict"), (409, "IncorrectState"), (429, "TooManyRequests")})
_LIMIT_MESSAGE = re.compile(r"limit|in progress|concurrent|at a time|one copy", re.IGNORECASE)


# OCI copies only boot volumes of platform images (or custom images built from them) across regions;
# Marketplace-image boot volumes are refused ("Copying a Boot Volume Backup Between Regions",
# Limitations). The refusal's status, code and message are undocumented: a 400 or 409 to a copy whose
# message speaks of the Marketplace, an image or a listing is taken for it.
_MARKETPLACE_MESSAGE = re.compile(r"marketplace|image|listing", re.IGNORECASE)
# Backups can carry is_retention_lock_enabled / is_prevent_deletion_enabled (the SDK's backup models),
# and OCI then refuses a delete; the refusal's status and code are undocumented: a 400 or 409 to a
# delete whose message names the lock is taken for it.
# ("locked" alone would also match a LockConflict, which is worth retrying.)
_LOCK_MESSAGE = re.compile(r"retention[ _-]?lock|prevent[ _-]?deletion", re.IGNORECASE)


def _is_marketplace_refusal(operation: str, status: int, message: str) -> bool:
    return operation == "copy" and status in (400, 409) and bool(_MARKETPLACE_MESSAGE.search(message))


def _is_lock_refusal(operation: str, status: int, message: str) -> bool:
    return operation == "delete" and status in (400, 409) and bool(_LOCK_MESSAGE.search(message))


def is_copy_limit(status: int, code: str, message: str) -> bool:
    """Whether a refused copy request is OCI's copy limits speaking (then the copy waits, not fails)."""
    if (status, code) in _LIMIT_CODES:
        return True
    return (status, code) in _LIMIT_CODES_WITH_MESSAGE and bool(_LIMIT_MESSAGE.search(message))


def _unanswered(exc: BaseException, operation: str, region: str, attempts: int) -> Failed:
    """A request that got no answer: the network (worth a retry), or a certificate not trusted."""
    rejected = _rejected_certificate(exc)
    if rejected is not None:
        # Not the network but the certificate: every retry would meet the same one.
        trusted = os.environ.get("REQUESTS_CA_BUNDLE") or "certifi's bundle"
        return UntrustedEndpoint(
            f"the TLS certificate of the endpoint for {operation} in {region} was rejected ({rejected}): "
            f"the function trusts the CAs in REQUESTS_CA_BUNDLE ({trusted}); behind a TLS-inspecting "
            "proxy, that file or hashed directory must hold the proxy's CA too",
            operation=operation,
            region=region,
            attempts=attempts,
        )
    what = "did not answer in time" if "timed out" in str(exc).lower() else "could not be reached"
    return TransientError(
        f"OCI {what} for {operation} in {region} ({type(exc).__name__})",
        operation=operation,
        region=region,
        attempts=attempts,
    )


def _rejected_certificate(exc: BaseException) -> str | None:
    """Why the TLS handshake rejected the server's certificate, or None if that is not what failed.

    The SDK raises its RequestException around requests' SSLError, around urllib3's, around the
    ssl module's SSLCertVerificationError: the chain (causes, contexts, arguments, urllib3's
    `reason`) is searched for the last, whose verify_message says why (an unknown issuer, a host
    name mismatch, an expired certificate), with the message as the fallback.
    """
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        item = pending.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        if isinstance(item, ssl.SSLCertVerificationError):
            return printable(str(item.verify_message or "certificate verify failed"), MAX_OCI_MESSAGE)
        seen.add(id(item))
        pending += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
    return "certificate verify failed" if "certificate verify failed" in str(exc).lower() else None


# How much of an OCI error message a reason quotes: enough to say what to fix.
MAX_OCI_MESSAGE = 500


def classify(
    exc: BaseException,
    operation: str,
    region: str,
    *,
    kind: BackupKind | None = None,
    destination: str | None = None,
    attempts: int = 1,
) -> Failed | CopyLimited | None:
    """The error an SDK exception stands for, with a reason that says what to fix; None if not OCI's."""
    if isinstance(exc, _Unanswered):
        return TransientError(
            f"OCI did not answer in time for {operation} in {region} ({exc})",
            operation=operation,
            region=region,
            attempts=attempts,
        )
    if isinstance(exc, _Malformed):
        # A 200 that is not the operation's answer is likely a proxy or a service fault: worth a retry.
        return TransientError(
            f"OCI answered {operation} in {region} with a body that is not {_expected(operation, kind)}: "
            f"{exc.problem}",
            operation=operation,
            region=region,
            attempts=attempts,
        )
    if isinstance(exc, oci.exceptions.ServiceError):
        return _classify_service_error(
            exc, operation, region, kind=kind, destination=destination, attempts=attempts
        )
    if isinstance(exc, (oci.exceptions.RequestException, oci.exceptions.ConnectTimeout)):
        return _unanswered(exc, operation, region, attempts)
    if isinstance(exc, oci.exceptions.ClientError):
        return PermanentError(
            f"the SDK refused {operation} in {region}: {exc}",
            operation=operation,
            region=region,
            attempts=attempts,
        )
    return None


def _classify_service_error(
    exc: Any,
    operation: str,
    region: str,
    *,
    kind: BackupKind | None,
    destination: str | None,
    attempts: int,
) -> Failed | CopyLimited:
    """An OCI error answer (a ServiceError) as a failure, or a copy held back by the limits."""
    # The SDK leaves code and message None when the error body is not OCI's JSON (a proxy's page).
    status, code = int(exc.status), (str(exc.code) if exc.code else None)
    message = str(exc.message) if exc.message else ""
    context = {
        "operation": operation,
        "region": region,
        "http_status": status,
        "code": code,
        "opc_request_id": exc.request_id,
        "attempts": attempts,
    }
    # Refusals that no retry and no wait mends, whatever their code: before the limits and the 409s.
    final = _final_refusal(
        operation, region, status=status, code=code, message=message, destination=destination
    )
    if final is not None:
        error = RetryTokenInvalidated if code == "InvalidatedRetryToken" else PermanentError
        return error(final, **context)
    if operation == "copy" and is_copy_limit(status, code or "", message):
        return CopyLimited(
            f"OCI's copy limits hold the copy to {destination or 'the destination'} back "
            f"({_status_text(status, code)}: {printable(message, 200)})",
            region=destination or region,
            http_status=status,
            code=code,
        )
    # OCI's error table: 429 TooManyRequests, 500 InternalServerError and 503 ServiceUnavailable are
    # retried with backoff, 501 MethodNotImplemented is not; every 400 (LimitExceeded among them:
    # "exceeds the Oracle-defined limit", not retried) and every 401, 403 and 404 is permanent.
    transient = (
        status == 429 or (status == 409 and code in _TRANSIENT_409) or (status >= 500 and status != 501)
    )
    if transient:
        return TransientError(
            f"OCI answered {_status_text(status, code)} to {operation} in {region}", **context
        )
    explained = _explain(
        operation=operation,
        region=region,
        status=status,
        code=code,
        # OCI's own words, but of any length and any characters: cut and made printable.
        message=printable(message, MAX_OCI_MESSAGE),
        kind=kind,
        destination=destination,
    )
    return PermanentError(explained, **context)


def _final_refusal(
    operation: str, region: str, *, status: int, code: str | None, message: str, destination: str | None
) -> str | None:
    """What a refusal that settles the matter means to an operator; None for any other answer."""
    said = f"OCI answered {_status_text(status, code)} to {operation} in {region}: {printable(message, 200)}"
    if _is_marketplace_refusal(operation, status, message):
        return (
            f"OCI will not copy this boot volume backup to {destination or 'another region'}: its boot "
            "volume was made from a Marketplace image, and OCI copies across regions only the boot "
            "volumes of platform images or of custom images built from them. No retry can copy it; "
            f"leave it out (REQUIRED_TAG or COMPARTMENT_IDS) and protect it another way ({said})"
        )
    if _is_lock_refusal(operation, status, message):
        return (
            f"OCI will not delete this copy in {region}: it has a retention lock or prevent-deletion "
            "(is_retention_lock_enabled / is_prevent_deletion_enabled), so it stays until its lock "
            f"allows; no retry can delete it ({said})"
        )
    if status == 409 and code == "InvalidatedRetryToken":
        return (
            "what an earlier request with this retry token made has since been deleted, so OCI will "
            f"not replay it; a copy must be asked for under a new token ({said})"
        )
    return None


# What a 403/404 on each operation most likely means, and the grant that mends it.
_REFUSED = {
    "get": "the backup is gone, or the function may not read it; the dynamic group needs "
    "'read {resource}' (and 'inspect volumes') in {region}",
    "list": "the function may not list backups in {region}; the dynamic group needs 'read {resource}' "
    "there, and the tenancy must be subscribed to {region}",
    "copy": "the function may not copy this backup; the dynamic group needs 'use {resource}' in {region} "
    "(the copy permission) and 'manage {resource}' in {destination}",
    "tag": "the function may not tag the copy; the dynamic group needs 'manage {resource}' in {region} "
    "and 'use tag-namespaces' for the defined tags' namespaces",
    "delete": "the function may not delete the copy; retention needs 'manage {resource}' "
    "(the *_DELETE permission) in {region}",
    "publish": "the topic is gone, or the function may not publish to it; the dynamic group needs "
    "'use ons-topics' on it",
    "metrics": "the function may not post metrics; the dynamic group needs 'use metrics' in its own "
    "compartment (target.metrics.namespace) in {region}",
}


def _expected(operation: str, kind: BackupKind | None) -> str:
    """What a successful answer to `operation` is, as a person names it."""
    noun = kind.label if kind else "backup"
    answers = {"list": f"a list of {noun}s", "publish": "a published message", "metrics": "a metrics summary"}
    return answers.get(operation, f"a {noun}")


def _status_text(status: int, code: str | None) -> str:
    """`404 NotAuthorizedOrNotFound`, or `404 (no error code)` when OCI's answer carried none."""
    return f"{status} {code}" if code else f"{status} (no error code)"


def _explain(
    *,
    operation: str,
    region: str,
    status: int,
    code: str | None,
    message: str,
    kind: BackupKind | None,
    destination: str | None,
) -> str:
    said = f"OCI answered {_status_text(status, code)} to {operation} in {region}"
    if status == 401:
        return (
            f"{said}: the function's credentials were not accepted; check that it runs as a "
            f"resource principal and that the tenancy is subscribed to {region}"
        )
    if status in (403, 404) and operation in _REFUSED:
        hint = _REFUSED[operation].format(
            resource=_APIS[kind].iam_resource if kind else "boot-volume-backups",
            region=region,
            destination=destination or "the destination",
        )
        return f"{said}: {hint}"
    # The message may be a proxy's whole error page: cut to what a reason can carry.
    detail = f": {printable(message, 300)}" if message else ""
    if status == 400 and operation != "metrics":
        return f"{said}{detail} (check DESTINATION_REGIONS and DESTINATION_KMS_KEY_IDS)"
    return f"{said}{detail}"


__all__ = [
    "METRICS",
    "Credentials",
    "OciGateway",
    "RetryPolicy",
    "classify",
    "default_credentials",
]
