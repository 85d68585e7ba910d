"""The fdk entry point: bytes in, one call into backup_copy, a JSON answer out."""

from __future__ import annotations

import gc

# The cold path (this module's imports, then the first call's SDK import, signer and clients) makes
# tens of thousands of long-lived objects, and cyclic collection passes over them are wasted work:
# collection is off until the first call is answered; then everything alive is frozen out of later
# passes and collection resumes (gc.freeze, as its documentation suggests for this). Reference
# counting still frees all acyclic garbage meanwhile.
gc.disable()

import io  # noqa: E402
from typing import Any  # noqa: E402

from fdk import response  # noqa: E402

from backup_copy.deadline import Deadline  # noqa: E402
from backup_copy.handler import handle  # noqa: E402
from backup_copy.runtime import Runtimes  # noqa: E402

# Reads nothing yet: the configuration and the OCI clients are made on the first call, then kept.
RUNTIMES = Runtimes()


def handler(ctx: Any, data: io.BytesIO | bytes | None = None) -> response.Response:
    """Handle one OCI Events delivery (or a sweep request)."""
    body = data.getvalue() if isinstance(data, io.BytesIO) else (data or b"")
    try:
        answer = handle(
            body, deadline=Deadline.from_header(ctx.Deadline()), runtimes=RUNTIMES, call_id=ctx.CallID()
        )
    finally:
        if not gc.isenabled():
            gc.freeze()
            gc.enable()
    return response.Response(
        ctx,
        response_data=answer.body,
        headers={"Content-Type": "application/json"},
        status_code=answer.status_code,
    )
