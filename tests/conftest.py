"""Shared fixtures: configuration in the environment, and the function's runtime on fakes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from backup_copy.runtime import Runtimes
from backup_copy.settings import config_keys
from devkit.local import LocalCloud, local_cloud
from tests.fakes import TOPIC, FakeGateway

CONFIG_KEYS = config_keys()


Config = dict[str, str]


@pytest.fixture
def config() -> Config:
    """A valid configuration (two destinations), as fn config gives it; tests change keys in place."""
    return {"DESTINATION_REGIONS": "us-ashburn-1,eu-frankfurt-1", "NOTIFICATION_TOPIC_ID": TOPIC}


@pytest.fixture
def config_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The same configuration in the process environment, for code that reads it there."""
    for key in CONFIG_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DESTINATION_REGIONS", "us-ashburn-1,eu-frankfurt-1")
    monkeypatch.setenv("NOTIFICATION_TOPIC_ID", TOPIC)
    return monkeypatch


@pytest.fixture
def fake_runtime() -> FakeGateway:
    """Block Storage and Notifications in memory."""
    return FakeGateway()


@pytest.fixture
def runtimes(config: Config, fake_runtime: FakeGateway) -> Runtimes:
    """The composition root wired to the fake gateway, reading `config` on first use."""
    return Runtimes(config, gateway=lambda _: fake_runtime)


@pytest.fixture
def cloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalCloud]:
    """The local stand-in over HTTPS, with this process's environment holding the resource principal.

    HTTPS as against OCI: the function's clients pay a TLS handshake per connection and keep it.
    """
    with local_cloud(tmp_path, copy_delay_seconds=60.0, tls=True) as running:
        for name, value in {**running.principal.env, **running.trust_env}.items():
            monkeypatch.setenv(name, value)
        yield running


class _Tracebacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


@pytest.fixture
def tracebacks() -> Iterator[list[logging.LogRecord]]:
    """The log records with a traceback that the function writes during the test, in order."""
    # On the package's own logger: once configured, it no longer propagates to pytest's handlers.
    handler = _Tracebacks()
    logger = logging.getLogger("backup_copy")
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
