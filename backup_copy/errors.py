"""The failures this function knows, each named for the answer it leads to.

    BackupCopyError
    ├── Rejected            -> status "rejected", HTTP 502: the event is not one we can act on
    │   └── InvalidEvent        the body is not a well-formed event of a handled type
    ├── CopyLimited         -> the destination is "QUEUED" (status "queued", HTTP 200 when nothing
    │                          else went wrong): OCI's copy limits hold the copy back; the sweep makes it
    └── Failed              -> status "failed", HTTP 502: a valid event that was not copied
        ├── ConfigurationError  the function's config is missing or invalid
        ├── PermanentError      OCI refused in a way a retry cannot mend (404, 400, 401, a FAULTY source)
        │   ├── RetryTokenInvalidated  what the copy's retry token made was deleted: the copy
        │   │                          use case asks again under a fresh token
        │   └── UntrustedEndpoint      the TLS handshake rejected the endpoint's certificate: no
        │                              call to that region can succeed (a sweep skips it at once)
        └── TransientError      OCI kept failing in a way that could mend itself, and time ran out
            └── RegionSkipped      a sweep no longer calls a region whose calls kept failing

Every error carries the context an operator needs (the backup, the region, the OCI error code) as
attributes, so the answer, the log line and the failure notice are built from the same facts.
"""

from __future__ import annotations


class BackupCopyError(Exception):
    """Base of every failure this function reports."""

    status = "failed"
    error_class = "error"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Rejected(BackupCopyError):
    """The event cannot be acted on: malformed, wrong shape, or naming nothing copyable."""

    status = "rejected"
    error_class = "rejected"


class InvalidEvent(Rejected):
    """The body failed validation; the reason names the field, and the event id when readable."""

    error_class = "invalid_event"

    def __init__(self, reason: str, *, event_id: str | None = None) -> None:
        super().__init__(reason)
        self.event_id = event_id


class CopyLimited(BackupCopyError):
    """OCI refused a copy for its copy limits: waiting, not failed; the sweep requests it again."""

    status = "queued"
    error_class = "copy_limit"

    def __init__(self, reason: str, *, region: str, http_status: int | None = None, code: str | None = None):
        super().__init__(reason)
        self.region = region
        self.http_status = http_status
        self.code = code


class Failed(BackupCopyError):
    """A valid event whose backup was not copied."""

    status = "failed"


class ConfigurationError(Failed):
    """The function's configuration is missing or invalid; the reason names the key."""

    error_class = "configuration"


class OciError(Failed):
    """An OCI call failed; carries what was called, where, OCI's own answer, and how many requests."""

    def __init__(
        self,
        reason: str,
        *,
        operation: str,
        region: str,
        http_status: int | None = None,
        code: str | None = None,
        opc_request_id: str | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(reason)
        self.operation = operation
        self.region = region
        self.http_status = http_status
        self.code = code
        self.opc_request_id = opc_request_id
        # Requests sent before giving up: 0 when the deadline left no room for the first.
        self.attempts = attempts


class PermanentError(OciError):
    """OCI refused in a way that retrying cannot mend; the reason says what to fix."""

    error_class = "permanent"


class RetryTokenInvalidated(PermanentError):
    """OCI's 409 InvalidatedRetryToken: the resource the retry token created has since been deleted."""


class UntrustedEndpoint(PermanentError):
    """The TLS handshake rejected the endpoint's certificate: the trust store decides, not OCI."""


class TransientError(OciError):
    """OCI kept failing in a way that could have mended itself, and the deadline came first."""

    error_class = "transient"


class RegionSkipped(TransientError):
    """A sweep stopped calling a region whose calls kept failing; the next sweep calls it again."""
