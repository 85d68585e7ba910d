"""Sample events from events/: every file there is used by some test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"


def event_bytes(name: str) -> bytes:
    """The raw bytes of events/<name>."""
    return (EVENTS_DIR / name).read_bytes()


def event_json(name: str) -> dict[str, Any]:
    """events/<name>, parsed, for tests that derive a variant."""
    loaded: dict[str, Any] = json.loads(event_bytes(name))
    return loaded


def all_event_files() -> list[str]:
    """Every sample, relative to events/."""
    return sorted(str(path.relative_to(EVENTS_DIR)) for path in EVENTS_DIR.rglob("*.json"))
