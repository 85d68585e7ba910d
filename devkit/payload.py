"""`make image-payload DEST=dir`: the image's /python tree, built as the Dockerfile builds it.

    python -m devkit.payload DEST

`pip install --target` of requirements.txt, then image/trim_payload.py: the same two steps as the
Dockerfile's build stage, so the tests and the benchmark run on the tree the image ships.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from image import trim_payload

PROJECT = Path(__file__).resolve().parent.parent
REQUIREMENTS = PROJECT / "requirements.txt"
CACHE = PROJECT / ".local"
# Everything the payload is made from: a change to any of them builds a new one.
INPUTS = (REQUIREMENTS, Path(trim_payload.__file__), trim_payload.DEFAULT_KEEP)
COMPLETE = ".complete"


def install(dest: Path) -> None:
    """pip install the runtime requirements into `dest`, uncompiled (the trim compiles what stays)."""
    subprocess.run(  # noqa: S603  # our own interpreter, our own requirements file
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(dest),
            "-r",
            str(REQUIREMENTS),
        ],
        check=True,
    )


def build(dest: Path) -> None:
    """Install into `dest` (absent or empty), then trim and compile it."""
    if dest.exists() and any(dest.iterdir()):
        raise SystemExit(f"{dest} is not empty: give a new folder")
    install(dest)
    # As the Dockerfile runs it: a script in its own interpreter, untouched by the caller's state.
    subprocess.run([sys.executable, trim_payload.__file__, str(dest)], check=True)  # noqa: S603


def cached_payload() -> Path:
    """A payload under .local/, built once per version of its inputs (pip takes a while)."""
    digest = hashlib.sha256(sys.version.encode())
    for path in INPUTS:
        digest.update(path.read_bytes())
    dest = CACHE / f"payload-{digest.hexdigest()[:16]}"
    if (dest / COMPLETE).exists():
        return dest
    CACHE.mkdir(exist_ok=True)
    for stale in CACHE.glob("payload-*"):
        shutil.rmtree(stale, ignore_errors=True)
    building = Path(tempfile.mkdtemp(prefix="building-payload-", dir=CACHE))
    try:
        build(building)
        (building / COMPLETE).touch()
        # Python rewrites a compiled module's file name to where it is found: the move is harmless.
        os.replace(building, dest)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return dest


def main(argv: list[str] | None = None) -> int:
    """Build the payload into the folder given on the command line."""
    parser = argparse.ArgumentParser(prog="python -m devkit.payload", description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="a new or empty folder")
    build(parser.parse_args(argv).dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
