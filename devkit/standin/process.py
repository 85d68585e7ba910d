"""A StandIn serving from a child process of its own, set up and read from this one.

The bench times function processes against the stand-in: on threads inside the bench, the stand-in
would share the bench's interpreter (and its GIL) and could not be put on a CPU of its own. Here the
child, `python -m devkit.standin.process`, runs a multiprocessing manager that holds the StandIn, on
a unix socket in a private folder, with a key given on its stdin; `StandInProcess` forwards the calls
a caller needs, with the StandIn's own signatures, and reads its properties. What crosses is
pickled: arguments and answers are plain data (strings, dataclasses, enums), and an exception raised
in the child (a KeyError for an unknown backup, say) is raised again here. The child is a plain
subprocess, not one multiprocessing starts, so it never runs the caller's main module again, and it
exits when its stdin closes: when `stop` closes it, or when this process ends, however it ends.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Collection, Iterable
from multiprocessing.managers import BaseManager, BaseProxy
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

from devkit import PROJECT
from devkit.standin.server import RecordedRequest, StandIn
from devkit.standin.state import DEFAULT_MAX_COPIES_IN_FLIGHT

P = ParamSpec("P")
R = TypeVar("R")
READY = b"ready\n"
STOP_TIMEOUT = 10.0


class _Served(StandIn):
    """The StandIn as the child holds it, able to say which process serves it."""

    def process_id(self) -> int:
        """The child's process id."""
        return os.getpid()


def _serve(regions: list[str], public_key_pem: str, options: dict[str, Any]) -> _Served:
    """Make and start the StandIn (runs in the child, on the manager's call)."""
    return _Served(regions, public_key_pem, **options).start()


# The StandIn methods a caller may call; `__getattribute__` reads its properties (as multiprocessing's
# own NamespaceProxy does).
_EXPOSED = (
    "__getattribute__",
    "process_id",
    "stop",
    "seed_backup",
    "add_topic",
    "set_latency",
    "backups",
    "backup",
    "messages",
    "clear_requests",
)


class _Manager(BaseManager):
    """Holds one StandIn in the child."""

    # Set by `register` below: makes the StandIn in the child and returns a proxy to it.
    standin: Callable[[list[str], str, dict[str, Any]], BaseProxy]


_Manager.register("standin", _serve, proxytype=BaseProxy, exposed=_EXPOSED)


def _forwarded(method: Callable[Concatenate[StandIn, P], R]) -> Callable[Concatenate[StandInProcess, P], R]:
    """The StandIn method of that name, called on the StandIn in the child."""
    name = method.__name__

    def call(self: StandInProcess, /, *args: P.args, **kwargs: P.kwargs) -> R:
        answer: R = self._call(name, args, kwargs)
        return answer

    call.__name__ = name
    call.__doc__ = method.__doc__
    return call


def _callmethod(proxy: BaseProxy, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call `name` on the object behind `proxy` and return its answer."""
    # typeshed types _callmethod as returning None; it returns what the method returned.
    method: Callable[..., Any] = proxy._callmethod
    return method(name, args, kwargs)


class StandInProcess:
    """A StandIn in a child process of its own: the same set-up and inspection calls, forwarded."""

    def __init__(
        self,
        regions: Iterable[str],
        public_key_pem: str,
        *,
        copy_delay_seconds: float = 0.0,
        one_copy_per_volume: bool = True,
        max_copies_in_flight: int | None = DEFAULT_MAX_COPIES_IN_FLIGHT,
        tls: bool = False,
        tls_dir: Path | None = None,
        cpus: Collection[int] | None = None,
    ) -> None:
        """As StandIn's; `cpus`: the CPUs the child (every thread of it) may run on, None for any."""
        self._regions = list(regions)
        self._public_key_pem = public_key_pem
        self._options: dict[str, Any] = {
            "copy_delay_seconds": copy_delay_seconds,
            "one_copy_per_volume": one_copy_per_volume,
            "max_copies_in_flight": max_copies_in_flight,
            "tls": tls,
            "tls_dir": tls_dir,
        }
        self.cpus = frozenset(cpus) if cpus is not None else None
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._proxy: BaseProxy | None = None

    # Life cycle.

    def start(self) -> Self:
        """Start the child, start the StandIn in it and wait until it serves."""
        if self._child is not None:
            raise RuntimeError("the stand-in process is already running")
        # A folder only this user can enter holds the socket; the key keeps out anyone else who could.
        self._folder = tempfile.TemporaryDirectory(prefix="oci-standin-process-")
        address = str(Path(self._folder.name) / "manager.sock")
        key = secrets.token_bytes(32)
        pinned = ["--cpus", ",".join(map(str, sorted(self.cpus)))] if self.cpus else []
        self._child = subprocess.Popen(  # noqa: S603  # our own interpreter and module
            [sys.executable, "-m", "devkit.standin.process", address, *pinned],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # From the project's root, wherever the caller runs: `-m devkit...` must find the package.
            cwd=PROJECT,
        )
        try:
            assert self._child.stdin is not None  # noqa: S101  # both piped above
            assert self._child.stdout is not None  # noqa: S101
            self._child.stdin.write(key.hex().encode() + b"\n")
            self._child.stdin.flush()
            if self._child.stdout.readline() != READY:
                raise RuntimeError(f"the stand-in process ended before serving ({self._child.wait()})")
            manager = _Manager(address=address, authkey=key)
            manager.connect()
            self._proxy = manager.standin(self._regions, self._public_key_pem, self._options)
        except BaseException:
            self._end_child()
            raise
        return self

    def stop(self) -> None:
        """Stop the StandIn (its connections cut, its handler threads joined), then the child."""
        proxy, self._proxy = self._proxy, None
        try:
            if proxy is not None:
                _callmethod(proxy, "stop", (), {})
        finally:
            # The last reference: the proxy says goodbye to the manager while the child still listens.
            del proxy
            self._end_child()

    def _end_child(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            assert child.stdin is not None  # noqa: S101  # both piped in start()
            assert child.stdout is not None  # noqa: S101
            child.stdin.close()  # the child's signal to end
            try:
                child.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            child.stdout.close()
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # Forwarding.

    def _call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self._proxy is None:
            raise RuntimeError("the stand-in process is not running")
        return _callmethod(self._proxy, name, args, kwargs)

    def _read(self, name: str) -> Any:
        return self._call("__getattribute__", (name,), {})

    # Where it serves.

    @property
    def pid(self) -> int:
        """The child's process id."""
        pid: int = self._call("process_id", (), {})
        return pid

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT, or https:// when serving TLS."""
        url: str = self._read("base_url")
        return url

    @property
    def endpoint_template(self) -> str:
        """The endpoint pattern: fill in {region} and {service} (iaas, notification, telemetry-ingestion)."""
        template: str = self._read("endpoint_template")
        return template

    @property
    def ca_bundle(self) -> Path | None:
        """The CA bundle a client trusts to reach the stand-in over HTTPS; None when serving plain HTTP."""
        bundle: Path | None = self._read("ca_bundle")
        return bundle

    @property
    def ca_directory(self) -> Path | None:
        """The same trust as `ca_bundle`, as a hashed directory (what the image trusts); None over HTTP."""
        directory: Path | None = self._read("ca_directory")
        return directory

    @property
    def regions(self) -> tuple[str, ...]:
        """The regions served."""
        regions: tuple[str, ...] = self._read("regions")
        return regions

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since start (each a TLS handshake when serving HTTPS)."""
        accepted: int = self._read("connections_accepted")
        return accepted

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request answered so far, in the order the answers went out."""
        requests: list[RecordedRequest] = self._read("requests")
        return requests

    # Set-up and inspection, as StandIn has them (one round trip to the child each).

    seed_backup = _forwarded(StandIn.seed_backup)
    add_topic = _forwarded(StandIn.add_topic)
    set_latency = _forwarded(StandIn.set_latency)
    backups = _forwarded(StandIn.backups)
    backup = _forwarded(StandIn.backup)
    messages = _forwarded(StandIn.messages)
    clear_requests = _forwarded(StandIn.clear_requests)


def _end_with_stdin() -> None:
    """End this process once stdin closes: the parent stopped it, or the parent is gone."""
    sys.stdin.buffer.read()
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    """The child: serve the manager on ADDRESS with the key read from stdin, until stdin closes."""
    parser = argparse.ArgumentParser(prog="python -m devkit.standin.process", description=__doc__)
    parser.add_argument("address", help="the unix socket to serve the manager on")
    parser.add_argument("--cpus", help="comma-separated CPUs to run on (every thread)")
    args = parser.parse_args(argv)
    if args.cpus:
        # Before any thread starts: the threads started later inherit it.
        os.sched_setaffinity(0, {int(cpu) for cpu in args.cpus.split(",")})
    key = bytes.fromhex(sys.stdin.buffer.readline().decode().strip())
    server = _Manager(address=args.address, authkey=key).get_server()
    threading.Thread(target=_end_with_stdin, name="stdin-watch", daemon=True).start()
    sys.stdout.buffer.write(READY)
    sys.stdout.buffer.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
