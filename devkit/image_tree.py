"""The image's /function and /python trees, copied into a read-only folder for a run, as OCI runs them.

The Dockerfile copies func.py and backup_copy/ into /function, compiles them (`compileall`, unchecked
hashes) beside the trimmed payload in /python (compiled by image/trim_payload.py, the same way), and
OCI Functions runs the container with a read-only file system: a module without its .pyc is compiled
in memory on every cold start, and nothing is ever written. `read_only_image` builds the same two
trees from this checkout and `devkit.payload.cached_payload()`, compiles them with the Dockerfile's
command, runs the Dockerfile's import check on them, and removes every write bit. Write bits do not
stop root, so a process run from the copy takes `-B` too (`PYTHON_FLAGS`): it never writes bytecode.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devkit import PROJECT
from devkit.payload import COMPLETE, cached_payload
from image import import_check

# What the Dockerfile copies into /function.
SHIPPED = ("func.py", "backup_copy")
# As the image runs the function, less its site-packages (`-S`: only the two trees on the path), the
# working folder (`-P`: the fdk is started with `python -c`, which would put it first on the path)
# and bytecode writes (`-B`: the file system is read-only, and root ignores write bits).
PYTHON_FLAGS = ("-S", "-P", "-B")
_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


@dataclass(frozen=True)
class ImageTree:
    """The two trees of one read-only copy, and what they held once made read-only."""

    function: Path
    python: Path
    compiled: int
    entries: frozenset[tuple[str, int, int]]

    @property
    def python_path(self) -> str:
        """PYTHONPATH as the image sets it: /function:/python."""
        return f"{self.function}:{self.python}"

    def read_only(self) -> bool:
        """Whether nobody holds a write bit on anything in the trees (symbolic links aside)."""
        root = self.function.parent
        return not any(
            stat.S_IMODE(path.lstat().st_mode) & _WRITE_BITS
            for path in [root, *root.rglob("*")]
            if not path.is_symlink()
        )

    def unchanged(self) -> bool:
        """Whether the trees still hold exactly the files they held when made read-only."""
        return _entries(self.function.parent) == self.entries


def _entries(root: Path) -> frozenset[tuple[str, int, int]]:
    """Every file and folder under `root`: relative path, size and modification time."""
    found = set()
    for path in root.rglob("*"):
        status = path.lstat()
        found.add((str(path.relative_to(root)), status.st_size, status.st_mtime_ns))
    return frozenset(found)


def _set_write_bits(root: Path, *, on: bool) -> None:
    """Remove (or give back, to the owner) the write bits of `root` and everything under it."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.lstat().st_mode)
        path.chmod(mode | stat.S_IWUSR if on else mode & ~_WRITE_BITS)


def compile_function(function: Path) -> None:
    """Compile /function exactly as the Dockerfile does."""
    subprocess.run(  # noqa: S603  # our own interpreter, the Dockerfile's command
        [sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(function)],
        check=True,
    )


def check_imports(function: Path, python: Path) -> None:
    """The Dockerfile's last build step: the function imports from the two trees alone, all compiled."""
    checked = subprocess.run(  # noqa: S603  # our own interpreter, our own script
        [sys.executable, "-S", "-B", "-P", import_check.__file__, "--bytecode", str(function), str(python)],
        env={"PYTHONPATH": f"{function}:{python}"},
        capture_output=True,
        text=True,
        check=False,
    )
    if checked.returncode != 0:
        raise RuntimeError(
            f"the read-only image copy fails the import check:\n{checked.stdout}{checked.stderr}"
        )


@contextmanager
def read_only_image(extras: Iterable[Path] = ()) -> Iterator[ImageTree]:
    """Copy, compile and check the image's trees, with `extras` beside func.py, read-only until the end."""
    with tempfile.TemporaryDirectory(prefix="backup-copy-image-") as directory:
        root = Path(directory)
        function, python = root / "function", root / "python"
        try:
            function.mkdir()
            ignored = shutil.ignore_patterns("__pycache__", "*.pyc")
            for name in SHIPPED:
                source = PROJECT / name
                if source.is_dir():
                    shutil.copytree(source, function / name, ignore=ignored)
                else:
                    shutil.copy2(source, function / name)
            for extra in extras:
                shutil.copy2(extra, function / extra.name)
            compile_function(function)
            # The payload as cached_payload() built it: pip install, trim, and its compile.
            shutil.copytree(cached_payload(), python, symlinks=True, ignore=shutil.ignore_patterns(COMPLETE))
            check_imports(function, python)
            _set_write_bits(root, on=False)
            compiled = sum(1 for _ in root.rglob("*.pyc"))
            yield ImageTree(function, python, compiled, _entries(root))
        finally:
            # TemporaryDirectory removes what it can write to: give the bits back first.
            _set_write_bits(root, on=True)
