"""The locks: exact, hashed, complete, and the development tools kept out of what ships.

requirements.txt (the image and the payload) and requirements-dev.txt (the venv) are compiled by
`make lock` from requirements.in and requirements-dev.in. These tests read the files; no network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
RUNTIME_IN = PROJECT / "requirements.in"
RUNTIME_LOCK = PROJECT / "requirements.txt"
DEV_IN = PROJECT / "requirements-dev.in"
DEV_LOCK = PROJECT / "requirements-dev.txt"
# Tools for testing, checking and locking: none of them is a requirement of what ships.
DEV_TOOLS = (
    "pytest",
    "pytest-asyncio",
    "hypothesis",
    "mypy",
    "ruff",
    "oci-lexer-parser",
    "pip-tools",
    "uv",
    "pip",
)
# fdk itself requires pytest and pytest-asyncio (the image's trim removes them): the lock must hold
# them, but only because fdk asks for them, never because requirements.in does.
PULLED_IN_BY_FDK = ("pytest", "pytest-asyncio")
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
VIA = re.compile(r"^via\b")


def normalize(name: str) -> str:
    """A distribution name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pin:
    """One package of a lock: its version, its hashes, and what asked for it (uv's `# via`)."""

    version: str
    hashes: frozenset[str]
    via: frozenset[str]


def entries(lock: Path) -> list[list[str]]:
    """The lock's requirement entries, each with its continuation and `# via` lines."""
    found: list[list[str]] = []
    for line in lock.read_text().splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            continue  # the header
        if line[0].isspace():
            assert found, f"{lock.name}: an indented line before any requirement: {line!r}"
            found[-1].append(line.strip())
        else:
            found.append([line.strip()])
    return found


def read_lock(lock: Path) -> dict[str, Pin]:
    """Every package of the lock; fails on a line that is not an exact, hashed pin."""
    pins: dict[str, Pin] = {}
    for entry in entries(lock):
        match = PIN.match(entry[0])
        assert match, f"{lock.name}: not an exact `name==version` pin: {entry[0]!r}"
        hashes = frozenset(h for line in entry if not line.startswith("#") for h in HASH.findall(line))
        assert hashes, f"{lock.name}: {entry[0]!r} has no --hash"
        via = {
            part.strip()
            for line in entry
            if line.startswith("#")
            for part in VIA.sub("", line.lstrip("#").strip()).split(",")
            if part.strip()
        }
        pins[normalize(match["name"])] = Pin(match["version"], hashes, frozenset(via))
    return pins


def top_level(requirements_in: Path) -> set[str]:
    """The names a .in file asks for itself (not its -r / -c lines)."""
    names = set()
    for line in requirements_in.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement and not requirement.startswith("-"):
            names.add(normalize(re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]))
    return names


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK], ids=lambda p: p.name)
def test_every_line_of_a_lock_is_an_exact_pin_with_hashes(lock: Path) -> None:
    for entry in entries(lock):
        assert not entry[0].startswith("-"), f"{lock.name}: an option line, not a pin: {entry[0]!r}"
        for line in entry[1:]:
            assert line.startswith(("--hash=sha256:", "#")), f"{lock.name}: {entry[0]!r}: {line!r}"
    pins = read_lock(lock)
    assert len(pins) == len(entries(lock)), f"{lock.name} names a package twice"


def test_each_package_requirements_in_asks_for_is_locked() -> None:
    locked = read_lock(RUNTIME_LOCK)
    wanted = top_level(RUNTIME_IN)
    assert wanted == {"fdk", "oci", "pydantic", "cryptography"}
    assert wanted <= locked.keys()


def test_each_package_requirements_dev_in_asks_for_is_in_the_dev_lock() -> None:
    assert top_level(DEV_IN) | top_level(RUNTIME_IN) <= read_lock(DEV_LOCK).keys()


def test_no_development_tool_is_asked_for_by_what_ships() -> None:
    locked = read_lock(RUNTIME_LOCK)
    assert not top_level(RUNTIME_IN) & set(DEV_TOOLS)
    for tool in DEV_TOOLS:
        if tool in PULLED_IN_BY_FDK:
            assert tool in locked, f"fdk requires {tool}; the lock should say so"
            assert locked[tool].via <= {"fdk", "pytest-asyncio"}, f"{tool}: {sorted(locked[tool].via)}"
        else:
            assert tool not in locked, (
                f"{tool} is a development tool: requirements-dev.in, not requirements.in"
            )


def test_the_dev_lock_has_every_shipped_package_at_the_same_version_and_hashes() -> None:
    runtime, dev = read_lock(RUNTIME_LOCK), read_lock(DEV_LOCK)
    for name, pin in runtime.items():
        assert name in dev, f"{name} is in requirements.txt but not requirements-dev.txt: `make lock`"
        assert (dev[name].version, dev[name].hashes) == (pin.version, pin.hashes), name


def test_the_dev_input_takes_the_runtime_lock_as_its_constraint() -> None:
    lines = {line.strip() for line in DEV_IN.read_text().splitlines()}
    assert {"-r requirements.in", "-c requirements.txt"} <= lines


def test_read_lock_refuses_a_range_and_a_pin_without_hashes(tmp_path: Path) -> None:
    ranged = tmp_path / "ranged.txt"
    ranged.write_text("oci>=2.189.0,<3\n")
    with pytest.raises(AssertionError, match="exact"):
        read_lock(ranged)
    bare = tmp_path / "bare.txt"
    bare.write_text("oci==2.189.0\n    # via -r requirements.in\n")
    with pytest.raises(AssertionError, match="no --hash"):
        read_lock(bare)
