"""The composition root: the settings and the OCI gateway, wired in one place on first use.

`Runtimes` holds what warm invocations reuse. It reads nothing when made: the configuration is read
and the gateway built on the first call that needs them, then kept. Tests give the handler a
`Runtimes` of their own (a fake gateway, a mapping of settings) instead of patching anything.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from threading import Lock

from backup_copy.errors import ConfigurationError
from backup_copy.ports import Gateway, Notifier
from backup_copy.settings import Problem, Settings, load_notice_settings, read_settings

# Builds the gateway for an endpoint template (None: the SDK's regional endpoints).
GatewayFactory = Callable[[str | None], Gateway]


@dataclass(frozen=True)
class Runtime:
    """What an invocation acts with: the validated settings and the gateway with its clients."""

    settings: Settings
    gateway: Gateway
    # Bad values the settings were read without: the invocation copies what it safely can, then
    # fails naming each.
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class NoticeRuntime:
    """Where a notice goes and what publishes it."""

    topic_id: str
    notifier: Notifier


def oci_gateway(endpoint_template: str | None) -> Gateway:
    """The production gateway; the SDK is imported here, on first use, never at import time."""
    from backup_copy.oci_gateway import OciGateway

    return OciGateway(endpoint_template=endpoint_template)


class Runtimes:
    """The runtime, built on first use from `environ` and kept for warm invocations."""

    def __init__(
        self, environ: Mapping[str, str] | None = None, *, gateway: GatewayFactory = oci_gateway
    ) -> None:
        self._environ = environ
        self._gateway = gateway
        self._lock = Lock()
        self._runtime: Runtime | None = None
        self._fallback: NoticeRuntime | None = None

    def runtime(self) -> Runtime:
        """The settings (bad values set aside: read_settings) and gateway; ConfigurationError if refused."""
        with self._lock:
            if self._runtime is None:
                read = read_settings(self._current_environ())
                gateway = self._gateway(read.settings.oci_endpoint_template)
                self._runtime = Runtime(read.settings, gateway, read.problems)
            return self._runtime

    def notice_runtime(self) -> NoticeRuntime:
        """The topic and a publisher: the runtime's, or, if the configuration is refused, one of its own.

        A refused configuration must still be heard when the topic itself is readable; that
        publisher is built once and kept like the runtime. ConfigurationError if the topic is not.
        """
        try:
            current = self.runtime()
        except ConfigurationError:
            with self._lock:
                if self._fallback is None:
                    notice = load_notice_settings(self._current_environ())
                    gateway = self._gateway(notice.oci_endpoint_template)
                    self._fallback = NoticeRuntime(notice.notification_topic_id, gateway)
                return self._fallback
        if not current.settings.notification_topic_id:
            # Set aside as unusable: the copies were made, and this names why nothing announces them.
            unusable = [str(p) for p in current.problems if p.key == "NOTIFICATION_TOPIC_ID"]
            raise ConfigurationError("; ".join(unusable) or "NOTIFICATION_TOPIC_ID: is required but not set")
        return NoticeRuntime(current.settings.notification_topic_id, current.gateway)

    def _current_environ(self) -> Mapping[str, str]:
        # os.environ is read at the call, not when the object is made: fn sets it before the call.
        return os.environ if self._environ is None else self._environ
