"""JSON log lines: one object per line, with the call and event ids of the invocation at hand."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from backup_copy import __version__

_context: ContextVar[dict[str, object]] = ContextVar("backup_copy_log_context", default={})  # noqa: B039
_configured = False


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message, context, fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single line of JSON."""
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "version": __version__,
        }
        entry.update(_context.get())
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (the fdk and test harnesses swap it)."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _: object) -> None:
        pass


def configure_logging() -> None:
    """Send this package's logs to stderr as JSON; quiet the SDK (fdk sets the root to DEBUG)."""
    global _configured  # noqa: PLW0603  # once per process, on the first invocation
    if _configured:
        return
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter())
    package = logging.getLogger("backup_copy")
    package.addHandler(handler)
    package.setLevel(logging.INFO)
    package.propagate = False
    for noisy in ("oci", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _configured = True


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Add fields (callId, eventId) to every log line written inside the block."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)
