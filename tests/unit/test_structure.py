"""The package's shape: imports run one way, only the gateway imports the SDK, validation never loads it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import oci

from backup_copy import regions
from devkit.regions_table import render
from tests.fakes import TOPIC

PACKAGE = Path(__file__).resolve().parents[2] / "backup_copy"
PROJECT = PACKAGE.parent


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function, as dotted names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def package_graph() -> dict[str, set[str]]:
    """backup_copy's modules and the package modules each imports."""
    modules = {f"backup_copy.{path.stem}": path for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
    return {name: imports_of(path) & set(modules) for name, path in modules.items()}


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the modules along it, or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_package_has_no_import_circle() -> None:
    assert cycle_in(package_graph()) is None


def test_the_circle_finder_finds_a_circle() -> None:
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_only_the_gateway_imports_the_sdk() -> None:
    importers = {
        path.stem
        for path in PACKAGE.glob("*.py")
        if any(name == "oci" or name.startswith("oci.") for name in imports_of(path))
    }
    assert importers == {"oci_gateway"}


def test_imports_run_from_the_entry_to_the_ports_never_back() -> None:
    graph = package_graph()
    # The domain and its ports know nothing of use cases, the answer, the entry or the adapter.
    outer = {
        "backup_copy.handler",
        "backup_copy.runtime",
        "backup_copy.oci_gateway",
        "backup_copy.copying",
        "backup_copy.sweep",
        "backup_copy.listing",
        "backup_copy.shares",
        "backup_copy.retention",
        "backup_copy.notice",
        "backup_copy.wire",
    }
    inner = (
        "backups",
        "ports",
        "metrics",
        "outcome",
        "events",
        "settings",
        "ocids",
        "regions",
        "errors",
        "deadline",
    )
    for name in inner:
        assert not graph[f"backup_copy.{name}"] & outer, name
    # Nothing but the composition root knows the adapter, and the adapter knows no use case.
    assert {name for name, targets in graph.items() if "backup_copy.oci_gateway" in targets} == {
        "backup_copy.runtime"
    }
    assert not graph["backup_copy.oci_gateway"] & (outer - {"backup_copy.oci_gateway"})


def test_reading_an_event_and_the_settings_never_loads_the_sdk() -> None:
    probe = f"""
import sys
from pathlib import Path
from backup_copy.events import read_event
from backup_copy.settings import load_settings
event = read_event(Path("events/boot-volume-backup-end.json").read_bytes())
config = {{"DESTINATION_REGIONS": "us-ashburn-1,eu-frankfurt-1", "NOTIFICATION_TOPIC_ID": "{TOPIC}"}}
settings = load_settings(config)
from backup_copy.handler import handle
print(event.backup.region, ",".join(settings.destination_regions), "oci" in sys.modules)
"""
    done = subprocess.run(  # noqa: S603  # our own interpreter and probe
        [sys.executable, "-c", probe], cwd=PROJECT, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["us-phoenix-1", "us-ashburn-1,eu-frankfurt-1", "False"]


def test_the_region_table_matches_the_installed_sdk() -> None:
    # Fails when the SDK learns a region: run `python -m devkit.regions_table` and commit the result.
    assert (PACKAGE / "regions.py").read_text(encoding="utf-8") == render()
    assert frozenset(oci.regions.REGIONS) == regions.REGION_IDENTIFIERS
