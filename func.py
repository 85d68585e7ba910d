"""The fdk entry point: bytes in, one call into backup_copy, a JSON answer out."""

from __future__ import annotations

import io
from typing import Any

from fdk import response

from backup_copy.deadline import Deadline
from backup_copy.handler import handle
from backup_copy.runtime import Runtimes

# Reads nothing yet: the configuration and the OCI clients are made on the first call, then kept.
RUNTIMES = Runtimes()


def handler(ctx: Any, data: io.BytesIO | bytes | None = None) -> response.Response:
    """Handle one OCI Events delivery (or a sweep request)."""
    body = data.getvalue() if isinstance(data, io.BytesIO) else (data or b"")
    answer = handle(
        body, deadline=Deadline.from_header(ctx.Deadline()), runtimes=RUNTIMES, call_id=ctx.CallID()
    )
    return response.Response(
        ctx,
        response_data=answer.body,
        headers={"Content-Type": "application/json"},
        status_code=answer.status_code,
    )
