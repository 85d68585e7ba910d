"""`make image-payload DEST=dir`: the image's /python tree, built as the Dockerfile builds it.

    python -m devkit.payload DEST

`pip install --target` of requirements.txt (the exact, hashed lock), then image/trim_payload.py,
then image/ca_directory.py (certifi's bundle as the hashed directory `ca-certificates`, which the
image's REQUESTS_CA_BUNDLE names), then image/import_check.py against the trimmed tree alone: the
same steps as the Dockerfile's build stage, so the tests and the benchmark run on the tree the image
ships, and a trim that cuts what the function imports fails the build.
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

from devkit import PROJECT
from image import ca_directory, import_check, trim_payload

REQUIREMENTS = PROJECT / "requirements.txt"
CACHE = PROJECT / ".local"
# Everything the payload is made from: a change to any of them builds a new one.
INPUTS = (
    REQUIREMENTS,
    Path(trim_payload.__file__),
    trim_payload.DEFAULT_KEEP,
    Path(ca_directory.__file__),
    Path(import_check.__file__),
)
COMPLETE = ".complete"
# The Dockerfile's /python/certifi/cacert.pem and /python/ca-certificates, relative to the payload.
CA_BUNDLE = Path("certifi/cacert.pem")
CA_DIRECTORY = Path("ca-certificates")


def install(dest: Path) -> None:
    """pip install the locked runtime requirements into `dest`, uncompiled (the trim compiles what stays)."""
    subprocess.run(  # noqa: S603  # our own interpreter, our own requirements file
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--require-hashes",
            "--target",
            str(dest),
            "-r",
            str(REQUIREMENTS),
        ],
        check=True,
    )


def check_imports(dest: Path) -> None:
    """Import the function with only the project and `dest` on the path; stop the build if it cannot."""
    checked = subprocess.run(  # noqa: S603  # our own interpreter, our own script
        [sys.executable, "-S", "-B", "-P", import_check.__file__, "--bytecode", str(dest)],
        env={"PYTHONPATH": f"{PROJECT}:{dest}"},
        check=False,
    )
    if checked.returncode != 0:
        raise SystemExit(
            f"the trimmed payload in {dest} cannot import the function, or lacks bytecode (see above)"
        )


def build(dest: Path) -> None:
    """Install into `dest` (absent or empty), trim and compile it, hash its CAs, check that it imports."""
    if dest.exists() and any(dest.iterdir()):
        raise SystemExit(f"{dest} is not empty: give a new folder")
    install(dest)
    # As the Dockerfile runs it: a script in its own interpreter, untouched by the caller's state.
    subprocess.run([sys.executable, trim_payload.__file__, str(dest)], check=True)  # noqa: S603
    subprocess.run(  # noqa: S603  # our own interpreter, our own script
        [sys.executable, ca_directory.__file__, str(dest / CA_BUNDLE), str(dest / CA_DIRECTORY)], check=True
    )
    check_imports(dest)


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
    """Build the payload into the folder given, or (--cached) the one the tests and bench use."""
    parser = argparse.ArgumentParser(prog="python -m devkit.payload", description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, nargs="?", help="a new or empty folder")
    parser.add_argument(
        "--cached", action="store_true", help="build (or reuse) the tests' copy under .local/"
    )
    args = parser.parse_args(argv)
    if args.cached:
        print(
            "The trimmed image payload for the tests: reused when its inputs are unchanged, "
            "else built (pip install, trim, compile, CA directory, import check; about a minute)",
            flush=True,
        )
        print(f"  {cached_payload().relative_to(PROJECT)}")
        return 0
    if args.dest is None:
        parser.error("give a destination folder, or --cached")
    build(args.dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
