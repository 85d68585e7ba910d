"""Trim a `pip install --target` tree to what the function imports, then compile what is left.

    python3 trim_payload.py /python [--keep keep.txt]

Runs in the image's build stage (stdlib only, no project on the path) and in `make image-payload`,
so the tree the tests run on is the tree the image ships. keep.txt (next to this file) is generated
by `python -m devkit.keep_list` from the modules the function really imports; it is never edited by
hand. A line `name` keeps a whole top-level package or module, and the distribution that installed
it; a line `name.sub` keeps that subpackage of a package that is cut one level down (for `oci`:
every service package not named is removed, its plain modules stay).
"""

from __future__ import annotations

import argparse
import compileall
import py_compile
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_KEEP = Path(__file__).resolve().parent / "keep.txt"
SCRIPTS = "bin"
# RECORD names a console script relative to the site-packages of the temporary prefix pip uses.
SCRIPT_PREFIX = "../../bin/"


@dataclass(frozen=True)
class KeepList:
    """Top-level import names to keep, and for a package cut one level down, the subpackages."""

    names: frozenset[str]
    subpackages: dict[str, frozenset[str]]

    @classmethod
    def read(cls, path: Path) -> KeepList:
        """Parse keep.txt: one name a line, `#` starts a comment."""
        entries = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
        names = {entry.split(".")[0] for entry in entries if entry}
        subpackages: dict[str, set[str]] = {}
        for entry in entries:
            if entry.count(".") == 1:
                top, sub = entry.split(".")
                subpackages.setdefault(top, set()).add(sub)
        return cls(frozenset(names), {top: frozenset(subs) for top, subs in subpackages.items()})


@dataclass(frozen=True)
class Distribution:
    """An installed distribution: its metadata folder and the top-level entries it wrote."""

    dist_info: Path
    entries: frozenset[str]
    scripts: frozenset[str]

    @property
    def name(self) -> str:
        """The distribution's name as its metadata folder spells it."""
        return self.dist_info.name.removesuffix(".dist-info").rsplit("-", 1)[0]


def import_name(entry: str) -> str:
    """The import name a top-level entry provides: `six.py`, `six/` and `six.cpython-311.so` give `six`."""
    return entry.split(".", 1)[0]


def distributions(tree: Path) -> list[Distribution]:
    """Every distribution in the tree, read from its RECORD."""
    found = []
    for dist_info in sorted(tree.glob("*.dist-info")):
        entries: set[str] = set()
        scripts: set[str] = set()
        for line in (dist_info / "RECORD").read_text().splitlines():
            path = line.rsplit(",", 2)[0]
            if path.startswith(SCRIPT_PREFIX):
                scripts.add(path.removeprefix(SCRIPT_PREFIX))
            elif path and not path.startswith(("..", dist_info.name)):
                entries.add(path.split("/", 1)[0])
        found.append(Distribution(dist_info, frozenset(entries), frozenset(scripts)))
    return found


def remove(path: Path) -> int:
    """Delete a file or folder; the bytes it held."""
    if path.is_dir() and not path.is_symlink():
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        shutil.rmtree(path)
        return size
    size = path.stat().st_size
    path.unlink()
    return size


def tree_size(tree: Path) -> int:
    """The sum of the file sizes under `tree`."""
    return sum(f.stat().st_size for f in tree.rglob("*") if f.is_file() and not f.is_symlink())


def trim(tree: Path, keep: KeepList) -> list[str]:
    """Remove from `tree` what `keep` does not name; what was removed, one line each."""
    present = {import_name(p.name) for p in tree.iterdir() if not p.name.endswith(".dist-info")}
    missing = sorted(keep.names - present)
    if missing:
        raise SystemExit(
            f"keep.txt names {', '.join(missing)}, which this install lacks: the requirements changed; "
            "regenerate the list with `python -m devkit.keep_list`"
        )
    removed: list[str] = []
    kept_scripts: set[str] = set()
    for dist in distributions(tree):
        if {import_name(entry) for entry in dist.entries} & keep.names:
            kept_scripts |= dist.scripts
            continue
        remove(dist.dist_info)
        removed.append(f"distribution {dist.name}")
    for entry in sorted(tree.iterdir()):
        if (
            entry.name == SCRIPTS
            or entry.name.endswith(".dist-info")
            or import_name(entry.name) in keep.names
        ):
            continue
        remove(entry)
        removed.append(f"module {entry.name}")
    scripts = tree / SCRIPTS
    if scripts.is_dir():
        for script in sorted(scripts.iterdir()):
            if script.name not in kept_scripts:
                remove(script)
    for top, subs in sorted(keep.subpackages.items()):
        for child in sorted((tree / top).iterdir()):
            if child.is_dir() and (child / "__init__.py").exists() and child.name not in subs:
                remove(child)
                removed.append(f"subpackage {top}.{child.name}")
    for dist in distributions(tree):
        _rewrite_record(tree, dist.dist_info)
    return removed


def _rewrite_record(tree: Path, dist_info: Path) -> None:
    """Let RECORD list only the files that are still there (oci's would name thousands that are not)."""
    record = dist_info / "RECORD"
    lines = record.read_text().splitlines()
    kept = [
        line
        for line in lines
        if (tree / SCRIPTS / line.rsplit(",", 2)[0].removeprefix(SCRIPT_PREFIX)).exists()
        or (tree / line.rsplit(",", 2)[0]).exists()
    ]
    if len(kept) != len(lines):
        record.write_text("".join(f"{line}\n" for line in kept))


def compile_tree(tree: Path) -> None:
    """Compile every module: the image's file system is read-only, so a missing .pyc costs every cold start.

    Unchecked hashes: the sources never change inside the image, and a copy between build stages
    need not keep the modification times a timestamp check would compare.
    """
    ok = compileall.compile_dir(
        str(tree),
        quiet=1,
        workers=0,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not ok:
        raise SystemExit(f"some modules under {tree} do not compile")


def main(argv: list[str] | None = None) -> int:
    """Trim and compile the tree given on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", type=Path, help="the `pip install --target` folder, e.g. /python")
    parser.add_argument(
        "--keep", type=Path, default=DEFAULT_KEEP, help="the keep-list (default: keep.txt here)"
    )
    args = parser.parse_args(argv)
    before = tree_size(args.tree)
    removed = trim(args.tree, KeepList.read(args.keep))
    compile_tree(args.tree)
    after = tree_size(args.tree)
    distributions_removed = [line.split()[1] for line in removed if line.startswith("distribution ")]
    subpackages_removed = sum(1 for line in removed if line.startswith("subpackage "))
    print(f"trimmed {args.tree}: removed {len(distributions_removed)} distributions not imported")
    print(f"  ({', '.join(distributions_removed)})")
    print(
        f"  and {subpackages_removed} subpackages; {before / 2**20:.1f} MB -> {after / 2**20:.1f} MB compiled"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
