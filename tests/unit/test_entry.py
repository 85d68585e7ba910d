"""func.py, the fdk entry: cyclic GC stays off through the cold path and resumes after the first call."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, json
import func
after_import = gc.isenabled()

class Ctx:
    def Deadline(self): return None
    def CallID(self): return "probe"
    def SetResponseHeaders(self, headers, status): pass

func.handler(Ctx(), b"not an event")
print(json.dumps([after_import, gc.isenabled(), gc.get_freeze_count() > 0]))
"""


def test_collection_is_off_on_the_cold_path_and_back_on_once_the_first_call_is_answered() -> None:
    done = subprocess.run(  # noqa: S603  # our own interpreter and probe
        [sys.executable, "-c", PROBE],
        cwd=PROJECT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    after_import, after_first_call, frozen = json.loads(done.stdout.splitlines()[-1])
    assert (after_import, after_first_call, frozen) == (False, True, True)
