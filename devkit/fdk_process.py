"""The function under the real fdk, served on a unix socket the way the Fn agent runs it."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

from devkit import PROJECT

START_TIMEOUT = 30.0


@dataclass(frozen=True)
class FnAnswer:
    """What the Fn agent gets back from one call."""

    status: int
    headers: dict[str, str]
    body: bytes


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class FdkProcess:
    """`fdk func.py handler` in a child process with FN_FORMAT=http-stream on a unix socket."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        python_path: str | None = None,
        python_flags: tuple[str, ...] = (),
        function_file: Path = PROJECT / "func.py",
        launcher: tuple[str, ...] = (),
    ):
        """`launcher`: a command that runs the interpreter (execs it), e.g. `taskset -c 0` to pin it."""
        self._env = env
        self._launcher = launcher
        self._function_file = function_file
        self._python_path = python_path or str(PROJECT)
        self._python_flags = python_flags
        self._dir = tempfile.TemporaryDirectory(prefix="fdk-")
        self.socket_path = os.path.join(self._dir.name, "lsnr.sock")
        self.log_path = Path(self._dir.name) / "function.log"
        self._log = self.log_path.open("wb")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> FdkProcess:
        """Start the fdk and wait until it listens (it symlinks lsnr.sock once it does)."""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108  # only a fallback for the child's HOME
            **self._env,
            "PYTHONPATH": self._python_path,
            "FN_FORMAT": "http-stream",
            "FN_LISTENER": f"unix:{self.socket_path}",
        }
        code = (
            "import sys; from fdk.scripts.fdk import main; sys.argv = ['fdk', sys.argv[1], 'handler']; main()"
        )
        self._process = subprocess.Popen(  # noqa: S603  # our own interpreter and file
            [*self._launcher, sys.executable, *self._python_flags, "-c", code, str(self._function_file)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=PROJECT,
        )
        give_up = time.monotonic() + START_TIMEOUT
        while not os.path.exists(self.socket_path):
            if self._process.poll() is not None:
                raise RuntimeError(f"fdk exited with {self._process.returncode}:\n{self.logs()}")
            if time.monotonic() > give_up:
                raise RuntimeError(f"fdk did not listen within {START_TIMEOUT} s:\n{self.logs()}")
            time.sleep(0.002)  # polls a file the child creates; fine-grained for the cold-start bench
        return self

    def invoke(self, body: bytes, *, call_id: str | None = None, timeout: float = 30.0) -> FnAnswer:
        """POST /call as the Fn agent does, with Fn-Call-Id and Fn-Deadline."""
        deadline = datetime.now(UTC) + timedelta(seconds=timeout)
        connection = _UnixConnection(self.socket_path, timeout=timeout + 5)
        try:
            connection.request(
                "POST",
                "/call",
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "Fn-Call-Id": call_id or uuid.uuid4().hex.upper(),
                    "Fn-Deadline": deadline.isoformat().replace("+00:00", "Z"),
                    "Opc-Request-Id": uuid.uuid4().hex,
                },
            )
            response = connection.getresponse()
            return FnAnswer(response.status, dict(response.getheaders()), response.read())
        finally:
            connection.close()

    def peak_rss(self) -> int:
        """VmHWM of the child: the most memory it ever held, in bytes (Linux)."""
        assert self._process is not None, "not started"  # noqa: S101
        for line in Path(f"/proc/{self._process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmHWM in /proc: not Linux?")

    def cpu_seconds(self) -> float:
        """User and system CPU time the child has used so far, in seconds (Linux)."""
        assert self._process is not None, "not started"  # noqa: S101
        # /proc/<pid>/stat: fields 14 and 15 are utime and stime in clock ticks; the command name
        # (field 2) is in parentheses and may hold spaces, so count from its closing one.
        fields = Path(f"/proc/{self._process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def logs(self) -> str:
        """What the function wrote to stdout and stderr so far."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Stop the child and remove its socket directory."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()
        self._dir.cleanup()

    def __enter__(self) -> FdkProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
