"""Fail the build if the trimmed tree cannot import the function, or ships a module without bytecode.

    PYTHONPATH=/function:/python python3 -S -B -P import_check.py [--bytecode DIR ...]

The last step of the image's build stage and of `make image-payload`, after the trim and the compile:
with only the function and the payload on the path (`-S`: no site-packages; `-P`: not this script's
folder either; `-B`: nothing written), it imports what the container runs: fdk's entry point,
func.py and every module of backup_copy, the lazily loaded ones included (the gateway, and with it
the SDK services it uses; the sweep). Stdlib only: it runs in the image with no project on the path.
The payload tests (tests/function/test_payload.py) go further and run every scenario on that tree.
--bytecode: every module under each DIR must have its compiled .pyc beside it: the function's file
system is read-only, so a module without one is compiled in memory on every cold start (about 3x
slower in all), which nothing else would notice.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import pkgutil
import sys
import traceback
from pathlib import Path

# fdk's console script (/python/bin/fdk) imports its main from here.
ENTRY_POINT = "fdk.scripts.fdk"
FUNCTION = "func"
PACKAGE = "backup_copy"
# Reached through attributes at run time (the resource-principal signer), not by an import statement.
ATTRIBUTE_IMPORTS = ("oci.auth.signers",)
# Named with the file each was found in, to show it is the trimmed tree's.
SHIPPED = ("fdk", "oci", "pydantic", "pydantic_core")


def modules() -> list[str]:
    """What to import, in order: the entry points first, then each module of the package."""
    package = importlib.import_module(PACKAGE)
    own = sorted(f"{PACKAGE}.{info.name}" for info in pkgutil.iter_modules(package.__path__))
    return [ENTRY_POINT, FUNCTION, *own, *ATTRIBUTE_IMPORTS]


def check() -> list[str]:
    """Import every module; where each shipped package came from. Raises what an import raises."""
    for name in modules():
        importlib.import_module(name)
    return [f"{name} from {sys.modules[name].__file__}" for name in SHIPPED]


def missing_bytecode(tree: Path) -> list[str]:
    """The modules under `tree` whose compiled .pyc (for this interpreter) is absent."""
    return sorted(
        str(source.relative_to(tree))
        for source in tree.rglob("*.py")
        if "__pycache__" not in source.parts
        and not Path(importlib.util.cache_from_source(str(source))).is_file()
    )


def main() -> int:
    """Import the function from the path alone; say what failed, and what to do, if it cannot."""
    args = sys.argv[1:]
    if args[:1] == ["--bytecode"]:
        missing = [f"{tree}/{name}" for tree in args[1:] for name in missing_bytecode(Path(tree))]
        if missing:
            shown = "\n  ".join(missing[:20])
            print(
                f"bytecode check FAILED: {len(missing)} shipped module(s) have no compiled .pyc, so "
                f"every cold start would compile them in memory:\n  {shown}",
                file=sys.stderr,
            )
            return 1
        print(f"bytecode check: every module under {' '.join(args[1:])} is compiled")
    path = os.environ.get("PYTHONPATH", "")
    if not sys.flags.no_site or not path:
        print(
            "import check: run it with `python -S` and PYTHONPATH=function:payload, or site-packages "
            "hide what the trim removed",
            file=sys.stderr,
        )
        return 2
    # What the modules log while they load (the SDK's circuit-breaker notice) says nothing here.
    logging.disable(logging.INFO)
    try:
        found = check()
    except Exception:  # an ImportError, or whatever a module raises while it is imported
        traceback.print_exc()
        print(
            f"\nimport check FAILED: the function does not import from {path} alone.\n"
            "If the code now imports something the trim removes, regenerate image/keep.txt with "
            "`python -m devkit.keep_list`; if a package is missing, check requirements.in and "
            "`make lock`.",
            file=sys.stderr,
        )
        return 1
    print(f"import check: the function imports from {path} alone")
    for line in found:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
