"""The invocation's deadline (Fn-Deadline), as time left on a monotonic clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

# Fn's default timeout, used when the header is missing or unreadable; 300 s is the most a
# synchronous OCI function may run.
DEFAULT_SECONDS = 30.0
MAX_SECONDS = 300.0


@dataclass(frozen=True)
class Deadline:
    """When this invocation will be killed, measured on `clock` (time.monotonic by default)."""

    expires_at: float
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        """A deadline `seconds` from now."""
        return cls(expires_at=clock() + seconds, clock=clock)

    @classmethod
    def from_header(
        cls,
        value: str | None,
        *,
        now: datetime | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> Deadline:
        """Parse Fn-Deadline (RFC 3339); missing or unreadable means Fn's 30-second default."""
        seconds = DEFAULT_SECONDS
        if value:
            try:
                when = datetime.fromisoformat(value.strip())
            except ValueError:
                pass
            else:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                seconds = (when - (now or datetime.now(UTC))).total_seconds()
        return cls.after(max(0.0, min(seconds, MAX_SECONDS)), clock)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.expires_at - self.clock())
