"""The HTTP face of the stand-in: routing, authentication, faults, latency and the request log."""

import contextlib
import json
import logging
import socket
import ssl
import tempfile
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

from devkit.standin import wire
from devkit.standin.monitoring import PostedMetric
from devkit.standin.ocids import make_ocid
from devkit.standin.signatures import SignatureCheck, SignedRequest, load_public_key, verify_request
from devkit.standin.state import (
    DEFAULT_MAX_COPIES_IN_FLIGHT,
    DELETION_LOCK_REFUSAL,
    MARKETPLACE_REFUSAL,
    SPEC_BY_COLLECTION,
    SPECS,
    ApiError,
    Backup,
    BackupKind,
    Clock,
    Cloud,
    CopyEnd,
    CopyLimitRefusal,
    Garbage,
    KindName,
    Message,
    Refusal,
    Reply,
    Scripted,
    utc_now,
)
from devkit.standin.tls import make_certificates

logger = logging.getLogger(__name__)

BLOCK_STORAGE = "iaas"
NOTIFICATION = "notification"
# Monitoring's PostMetricData goes to the region's telemetry-ingestion endpoint, at POST
# /20180401/metrics (the SDK's MonitoringClient: base path /20180401, resource path /metrics).
METRICS = "telemetry-ingestion"
_API_VERSIONS = {BLOCK_STORAGE: "20160918", NOTIFICATION: "20181201", METRICS: "20180401"}
# Of the operations served, only the copies take opc-retry-token in the SDK.
_RETRIED_ROUTES = frozenset({"copy"})


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in saw and answered it."""

    method: str
    region: str
    service: str
    route: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: object
    status: int
    signature_ok: bool
    signature_problem: str
    kind: BackupKind | None
    resource_id: str | None


@dataclass(frozen=True)
class _Route:
    region: str
    service: str
    name: str
    kind: BackupKind | None = None
    resource_id: str | None = None


@dataclass(frozen=True)
class _Incoming:
    route: _Route
    signed: SignedRequest
    path: str
    query: Mapping[str, list[str]]


def _resolve(method: str, path: str) -> _Route:
    parts = [unquote(p) for p in path.split("/") if p]
    region, service, version, rest = (
        (parts[0], parts[1], parts[2], parts[3:]) if len(parts) >= 3 else ("", "", "", [])
    )
    if _API_VERSIONS.get(service) != version:
        return _Route(region, service, "unknown")
    if service in (NOTIFICATION, METRICS):
        return _resolve_post(region, service, method, rest)
    spec = SPEC_BY_COLLECTION.get(rest[0]) if rest else None
    if spec is None:
        return _Route(region, service, "unknown")
    names = {
        (1, "GET"): "list",
        (2, "GET"): "get",
        (2, "PUT"): "update",
        (2, "DELETE"): "delete",
    }
    if len(rest) == 4 and rest[2:] == ["actions", "copy"] and method == "POST":
        return _Route(region, service, "copy", spec.kind, rest[1])
    name = names.get((len(rest), method), "unknown")
    return _Route(region, service, name, spec.kind, rest[1] if len(rest) == 2 else None)


def _resolve_post(region: str, service: str, method: str, rest: list[str]) -> _Route:
    """Notifications' publish and Monitoring's PostMetricData: one POST each."""
    publish = len(rest) == 3 and rest[::2] == ["topics", "messages"]
    if method == "POST" and service == NOTIFICATION and publish:
        return _Route(region, service, "publish", resource_id=rest[1])
    if method == "POST" and service == METRICS and rest == ["metrics"]:
        return _Route(region, service, "metrics")
    return _Route(region, service, "unknown")


class _Server(ThreadingHTTPServer):
    # Non-daemon handler threads let server_close() join them; open connections are cut first.
    daemon_threads = False

    def __init__(self, address: tuple[str, int], standin: "StandIn", tls: ssl.SSLContext | None) -> None:
        self.standin = standin
        self._tls = tls
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.accepted = 0
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, client_address = super().get_request()
        if self._tls is None:
            return connection, client_address
        # The handshake happens on the handler thread's first read, so a slow or refused client
        # never holds up the accept loop.
        wrapped = self._tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return wrapped, client_address

    def process_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        if isinstance(request, socket.socket):
            with self._connections_lock:
                self._connections.add(request)
                self.accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket | tuple[bytes, socket.socket]) -> None:
        if isinstance(request, socket.socket):
            with self._connections_lock:
                self._connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        with self._connections_lock:
            open_now = list(self._connections)
        for connection in open_now:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        logger.debug("connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: headers and body go out as two writes; on a kept-alive connection Nagle would hold
    # the body until the client's delayed ACK (40 ms on Linux) for the headers.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def _serve(self) -> None:
        with self.server.standin.serving():
            self._answer()

    def _answer(self) -> None:
        standin = self.server.standin
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        split = urlsplit(self.path)
        incoming = _Incoming(
            route=_resolve(self.command, split.path),
            signed=SignedRequest(self.command, self.path, headers, body),
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
        )
        check = verify_request(standin.public_key, incoming.signed)
        try:
            reply = standin.answer(incoming, check)
        except ApiError as exc:
            payload = json.dumps({"code": exc.code, "message": exc.message}).encode()
            reply = Reply(exc.status, payload)
        # Recorded before the answer goes out, so a caller that has its answer sees the record.
        standin.record(
            RecordedRequest(
                method=self.command,
                region=incoming.route.region,
                service=incoming.route.service,
                route=incoming.route.name,
                path=incoming.path,
                query=incoming.query,
                headers=headers,
                body=wire.parse_json(body),
                status=reply.status,
                signature_ok=check.ok,
                signature_problem=check.reason,
                kind=incoming.route.kind,
                resource_id=incoming.route.resource_id,
            )
        )
        trickle = standin.cloud.trickle(incoming.route.name)
        self._send(reply, headers.get("opc-request-id") or uuid.uuid4().hex.upper(), trickle)

    def _send(self, reply: Reply, request_id: str, trickle: float) -> None:
        # HTTP/1.1 persistent connections, as OCI's endpoints keep them: every answer says its length
        # (a 204 has none, RFC 9110 section 15.3.5), so the client can send its next request on the
        # same connection. Idle connections end when the stand-in stops (cut_connections).
        try:
            self.send_response(reply.status)
            self.send_header("opc-request-id", request_id)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.status != 204:
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            if reply.status != 204:
                self._write_body(reply.body, trickle)
        except OSError:
            # The client gave up (a read timeout, or the stand-in is stopping).
            logger.debug("could not send the answer", exc_info=True)

    def _write_body(self, body: bytes, trickle: float) -> None:
        if trickle <= 0:
            self.wfile.write(body)
            return
        # A trickle: headers at once, then the body a byte at a time. Not an OCI behaviour but a slow
        # proxy or link; the SDK's read timeout (BlockstorageClient's `timeout`, handed to requests)
        # bounds each wait for bytes, not the whole answer (requests' docs, "Timeouts"), so a
        # trickle outlives it. Stops when the stand-in stops or the client hangs up (OSError).
        for index in range(len(body)):
            self.wfile.write(body[index : index + 1])
            if self.server.standin.stopped_within(trickle):
                # The answer is cut short: the connection cannot carry another.
                self.close_connection = True
                return


class StandIn:
    """A local imitation of OCI Block Storage, Notifications and metric ingestion, on 127.0.0.1."""

    def __init__(
        self,
        regions: Iterable[str],
        public_key_pem: str,
        *,
        copy_delay_seconds: float = 0.0,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        one_copy_per_volume: bool = True,
        max_copies_in_flight: int | None = DEFAULT_MAX_COPIES_IN_FLIGHT,
        every_kind_one_at_a_time: bool = False,
        copy_tags_of_every_kind: bool = False,
        tls: bool = False,
        tls_dir: Path | None = None,
    ) -> None:
        """`tls`: serve HTTPS with a throwaway CA written under `tls_dir` (a temporary directory if None).

        Clients trust it through the bundle file at `ca_bundle` or the hashed directory of the same
        certificates at `ca_directory`, e.g. in REQUESTS_CA_BUNDLE, which the SDK's vendored requests reads.
        """
        served = list(regions)
        if not served:
            raise ValueError("serve at least one region")
        self.public_key = load_public_key(public_key_pem)
        self.cloud = Cloud(
            served,
            copy_delay_seconds,
            clock or utc_now,
            one_copy_per_volume=one_copy_per_volume,
            max_copies_in_flight=max_copies_in_flight,
            every_kind_one_at_a_time=every_kind_one_at_a_time,
            copy_tags_of_every_kind=copy_tags_of_every_kind,
        )
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._requests: list[RecordedRequest] = []
        self._requests_lock = threading.Lock()
        # Requests being answered (latency and trickles included), for wait_until_idle.
        self._serving = 0
        self._idle = threading.Condition()
        self._retry_lock = threading.Lock()
        self._tls = tls
        self._tls_dir = tls_dir
        self._tls_tmp: tempfile.TemporaryDirectory[str] | None = None
        self._ca_bundle: Path | None = None
        self._ca_directory: Path | None = None
        self._tls_context: ssl.SSLContext | None = None

    # Life cycle.

    def start(self) -> Self:
        """Bind and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError("the stand-in is already running")
        self._stopping.clear()
        if self._tls:
            self._make_certificates()
        self._server = _Server(self._address, self, self._tls_context)
        # A short poll interval keeps stop() quick: shutdown() waits for the loop to notice.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="oci-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections and wait for every handler thread."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.cut_connections()
        server.server_close()
        if thread is not None:
            thread.join()
        self._server = self._thread = None
        if self._tls_tmp is not None:
            self._tls_tmp.cleanup()
            self._tls_tmp = None

    def _make_certificates(self) -> None:
        """A new throwaway CA for this run, so no key outlives it in a shared temporary directory."""
        directory = self._tls_dir
        if directory is None:
            self._tls_tmp = tempfile.TemporaryDirectory(prefix="oci-standin-tls-")
            directory = Path(self._tls_tmp.name)
        certificates = make_certificates(directory)
        self._ca_bundle = certificates.ca_bundle
        self._ca_directory = certificates.ca_directory
        self._tls_context = certificates.server_context()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # Where it listens.

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT, or https:// when serving TLS."""
        if self._server is None:
            raise RuntimeError("the stand-in is not running")
        host, port = self._server.server_address[:2]
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{host!s}:{port}"

    @property
    def ca_bundle(self) -> Path | None:
        """The CA bundle a client trusts to reach the stand-in over HTTPS; None when serving plain HTTP."""
        return self._ca_bundle

    @property
    def ca_directory(self) -> Path | None:
        """The same trust as `ca_bundle`, as a hashed directory (what the image trusts); None over HTTP."""
        return self._ca_directory

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since start (each a TLS handshake when serving HTTPS)."""
        if self._server is None:
            raise RuntimeError("the stand-in is not running")
        with self._server._connections_lock:
            return self._server.accepted

    @property
    def endpoint_template(self) -> str:
        """The endpoint pattern: fill in {region} and {service} (iaas, notification, telemetry-ingestion)."""
        return self.base_url + "/{region}/{service}"

    def endpoint(self, region: str, service: str) -> str:
        """The service_endpoint for one region's service."""
        return f"{self.base_url}/{region}/{service}"

    @property
    def regions(self) -> tuple[str, ...]:
        """The regions served."""
        return self.cloud.regions

    # Set-up.

    def seed_backup(
        self,
        *,
        kind: BackupKind | KindName,
        region: str,
        compartment_id: str,
        display_name: str,
        freeform_tags: Mapping[str, str] | None = None,
        defined_tags: Mapping[str, Mapping[str, object]] | None = None,
        source_type: str = "MANUAL",
        lifecycle_state: str = "AVAILABLE",
        kms_key_id: str | None = None,
        source_backup_id: str | None = None,
        parent_id: str | None = None,
        size_in_gbs: int = 50,
        time_created: datetime | None = None,
        backup_id: str | None = None,
        volume_group_backup_id: str | None = None,
        marketplace_image: bool = False,
        is_retention_lock_enabled: bool | None = None,
        is_prevent_deletion_enabled: bool | None = None,
    ) -> str:
        """Add a backup and return its OCID (new unless `backup_id` names one).

        `volume_group_backup_id` makes a boot volume or volume backup a member of that (seeded)
        volume group backup in the same region, which then lists it in its `volume_backup_ids`.
        `marketplace_image`: a boot volume backup of a Marketplace image, which OCI will not copy
        across regions. Either lock makes OCI refuse to delete the backup.
        """
        backup_kind = BackupKind(kind)
        spec = SPECS[backup_kind]
        source = self.cloud.find_backup(source_backup_id) if source_backup_id else None
        # A copy belongs to its source's volume, which the per-volume copy limit goes by.
        parent_id = parent_id or (source.parent_id if source else None)
        backup = Backup(
            kind=backup_kind,
            region=region,
            id=backup_id or make_ocid(spec.ocid_type, region),
            compartment_id=compartment_id,
            display_name=display_name,
            lifecycle_state=lifecycle_state,
            time_created=time_created or self.cloud.clock(),
            source_backup_id=source_backup_id,
            kms_key_id=kms_key_id,
            freeform_tags=dict(freeform_tags or {}),
            defined_tags={ns: dict(v) for ns, v in (defined_tags or {}).items()},
            source_type=source_type,
            size_in_gbs=size_in_gbs,
            parent_id=parent_id or make_ocid(spec.parent_ocid_type, region),
            volume_group_backup_id=volume_group_backup_id,
            marketplace_image=marketplace_image,
            is_retention_lock_enabled=is_retention_lock_enabled,
            is_prevent_deletion_enabled=is_prevent_deletion_enabled,
        )
        self.cloud.seed(backup)
        return backup.id

    def add_topic(self, region: str) -> str:
        """Create a notification topic in `region` and return its OCID."""
        return self.cloud.add_topic(region)

    def script_faults(self, faults: Iterable[Scripted]) -> None:
        """Append scripted answers (errors, garbage); each request takes the first that matches it."""
        self.cloud.script_faults(list(faults))

    @property
    def pending_faults(self) -> list[Scripted]:
        """Scripted faults not yet consumed."""
        return self.cloud.pending_faults()

    def clear_faults(self) -> None:
        """Drop the rest of the fault script."""
        self.cloud.clear_faults()

    def set_latency(self, seconds: float, route: str | None = None) -> None:
        """Delay answers to `route` (every route when None) by `seconds`."""
        self.cloud.set_latency(seconds, route)

    def set_trickle(self, seconds_per_byte: float, route: str | None = None) -> None:
        """Send answers to `route` (every route when None) a body byte per `seconds_per_byte`; 0: off."""
        self.cloud.set_trickle(seconds_per_byte, route)

    def forget_retry_tokens(self) -> None:
        """Act as if the 24-hour retry-token window had passed."""
        self.cloud.forget_retry_tokens()

    def forget_backup(self, backup_id: str) -> None:
        """Stop listing (and finding) a backup, as OCI does with a deleted one after a while."""
        self.cloud.forget_backup(backup_id)

    def set_copy_limits(
        self,
        *,
        one_copy_per_volume: bool = True,
        max_copies_in_flight: int | None = DEFAULT_MAX_COPIES_IN_FLIGHT,
        every_kind_one_at_a_time: bool = False,
    ) -> None:
        """Set both copy limits; an argument left out takes OCI's default (None: no cap).

        The one-copy-per-volume limit is documented for boot volumes; every_kind_one_at_a_time
        applies it to volume and volume group backups too (unconfirmed either way).
        """
        self.cloud.set_copy_limits(one_copy_per_volume, max_copies_in_flight, every_kind_one_at_a_time)

    def set_copy_limit_refusal(
        self, status: int = 400, code: str = "LimitExceeded", message: str | None = None
    ) -> None:
        """Refuse copies over a limit with this status and code; message None names the limit hit."""
        self.cloud.set_copy_limit_refusal(CopyLimitRefusal(status, code, message))

    def set_marketplace_refusal(
        self, status: int = 400, code: str = "InvalidParameter", message: str | None = None
    ) -> None:
        """Refuse copies of Marketplace-image boot volume backups with this status, code and message."""
        self.cloud.set_marketplace_refusal(Refusal(status, code, message or MARKETPLACE_REFUSAL.message))

    def set_deletion_lock_refusal(
        self, status: int = 409, code: str = "Conflict", message: str | None = None
    ) -> None:
        """Refuse deletes of locked backups with this status, code and message."""
        self.cloud.set_deletion_lock_refusal(Refusal(status, code, message or DELETION_LOCK_REFUSAL.message))

    def set_tag_copying(self, *, every_kind: bool) -> None:
        """Whether boot volume and volume group copies carry their source's tags, as volume copies do.

        OCI documents it for volume backups only; for the other kinds it is unconfirmed.
        """
        self.cloud.set_tag_copying(every_kind)

    def set_copy_outcome(self, state: CopyEnd = "AVAILABLE") -> None:
        """The state that copies made from now on reach once the copy delay has passed."""
        self.cloud.set_copy_outcome(state)

    def finish_copy(self, copy_id: str, state: CopyEnd = "AVAILABLE") -> Backup:
        """End a copy still in flight now, in `state`; KeyError if unknown, ValueError if done."""
        return self.cloud.finish_copy(copy_id, state)

    def finish_all_copies(self, state: CopyEnd = "AVAILABLE") -> list[Backup]:
        """End every copy in flight now, in `state`, and return them."""
        return self.cloud.finish_all_copies(state)

    # Inspection.

    def backups(self, region: str, kind: BackupKind | KindName | None = None) -> list[Backup]:
        """The backups in `region` (of `kind`, if given), oldest first, terminated ones included."""
        return self.cloud.backups(region, BackupKind(kind) if kind is not None else None)

    def backup(self, backup_id: str) -> Backup:
        """One backup by OCID, from whichever region holds it."""
        found = self.cloud.find_backup(backup_id)
        if found is None:
            raise KeyError(backup_id)
        return found

    def messages(self, topic_id: str | None = None) -> list[Message]:
        """Messages published (to `topic_id`, if given), in order."""
        return self.cloud.messages(topic_id)

    def metrics(self, region: str | None = None) -> list[PostedMetric]:
        """Metric objects Monitoring kept (posted in `region`, if given), in the order they came."""
        return self.cloud.metrics(region)

    def copies_in_flight(self, source_region: str | None = None) -> list[Backup]:
        """Copies still being made (REQUEST_RECEIVED, CREATING, COMMITTED), from `source_region` if given."""
        return self.cloud.copies_in_flight(source_region)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request answered so far, in the order the answers went out."""
        with self._requests_lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._requests_lock:
            self._requests.clear()

    # Serving (called from handler threads).

    def stopped_within(self, seconds: float) -> bool:
        """Wait `seconds`, or less if the stand-in starts stopping: whether it has."""
        return self._stopping.wait(seconds)

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """Count one request as being answered until its answer has gone out."""
        with self._idle:
            self._serving += 1
        try:
            yield
        finally:
            with self._idle:
                self._serving -= 1
                self._idle.notify_all()

    def wait_until_idle(self, timeout: float) -> bool:
        """Wait until no request is being answered (a late one, say, that a client gave up on)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._serving == 0, timeout)

    def record(self, request: RecordedRequest) -> None:
        """Add a request to the log."""
        with self._requests_lock:
            self._requests.append(request)

    def answer(self, incoming: _Incoming, check: SignatureCheck) -> Reply:
        """Authenticate, apply latency and faults, then run the operation."""
        route, signed = incoming.route, incoming.signed
        if not check.ok:
            raise ApiError(
                401,
                "NotAuthenticated",
                "The required information to complete authentication was not provided or was "
                f"incorrect: {check.reason}",
            )
        if route.region not in self.cloud.regions or route.name == "unknown":
            raise ApiError(404, "NotFound", f"No such route: {signed.method} {incoming.path}")
        delay = self.cloud.latency(route.name)
        if delay > 0 and self._stopping.wait(delay):
            raise ApiError(503, "ServiceUnavailable", "The stand-in is stopping")
        scripted = self.cloud.take_fault(route.name, route.region)
        if isinstance(scripted, Garbage):
            return Reply(scripted.status, scripted.body)
        if scripted is not None:
            raise ApiError(scripted.status, scripted.code, scripted.message)

        if route.name == "metrics":
            return self.cloud.post_metrics(route.region, signed.body)
        token = signed.headers.get("opc-retry-token")
        if not (token and route.name in _RETRIED_ROUTES):
            return self._operate(incoming)
        key = (route.region, route.name, token)
        fingerprint = (incoming.path, signed.body)
        # Held across the operation so two concurrent requests with one token make one backup.
        # The remembered reply comes first: a replay of an accepted copy is not a new copy, so the
        # copy limits (checked in Cloud.copy) must not refuse it while that very copy is in flight.
        with self._retry_lock:
            remembered = self.cloud.remembered(key, fingerprint)
            if remembered is not None:
                return remembered
            reply = self._operate(incoming)
            created = wire.parse_json(reply.body)
            created_id = created.get("id") if isinstance(created, dict) else None
            self.cloud.remember(key, fingerprint, reply, created_id if isinstance(created_id, str) else None)
            return reply

    def _operate(self, incoming: _Incoming) -> Reply:
        route, body = incoming.route, incoming.signed.body
        region, resource_id = route.region, route.resource_id or ""
        if route.name == "publish":
            message_type = incoming.signed.headers.get("messagetype")
            return self.cloud.publish(region, resource_id, body, message_type)
        spec = SPECS[route.kind or BackupKind.BOOT]
        if route.name == "list":
            return self.cloud.list_backups(region, spec, incoming.query)
        if route.name == "get":
            return self.cloud.get(region, spec, resource_id)
        if route.name == "update":
            return self.cloud.update(region, spec, resource_id, body)
        if route.name == "delete":
            return self.cloud.delete(region, spec, resource_id)
        if route.name == "copy":
            return self.cloud.copy(region, spec, resource_id, body)
        raise ApiError(404, "NotFound", "No such route")  # pragma: no cover - resolved above
