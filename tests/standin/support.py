"""Shared constants and helpers for the stand-in's tests."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

HOME = "us-phoenix-1"
AWAY = "us-ashburn-1"
FAR = "eu-frankfurt-1"
REGIONS = [HOME, AWAY, FAR]
COPY_DELAY_SECONDS = 60.0

ClientFactory = Callable[..., Any]
SeedFactory = Callable[..., str]


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
