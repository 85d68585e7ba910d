"""Shared fixtures: configuration in the environment, and the function's runtime on fakes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backup_copy import function
from backup_copy.function import Runtime
from backup_copy.settings import config_keys, load_settings
from devkit.local import LocalCloud, local_cloud
from tests.fakes import TOPIC, FakeGateway

CONFIG_KEYS = config_keys()


@pytest.fixture
def config(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A valid configuration (two destinations); tests change keys through the returned patcher."""
    for key in CONFIG_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DESTINATION_REGIONS", "us-ashburn-1,eu-frankfurt-1")
    monkeypatch.setenv("NOTIFICATION_TOPIC_ID", TOPIC)
    return monkeypatch


@pytest.fixture
def fake_runtime(config: pytest.MonkeyPatch) -> Iterator[FakeGateway]:
    """The function wired to a FakeGateway, as the composition root would wire the real one."""
    gateway = FakeGateway()
    config.setattr(function, "_runtime", Runtime(load_settings(), gateway))
    yield gateway
    function.reset_runtime()


@pytest.fixture
def cloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalCloud]:
    """The local stand-in with this process's environment holding the resource principal."""
    with local_cloud(tmp_path, copy_delay_seconds=60.0) as running:
        for name, value in running.principal.env.items():
            monkeypatch.setenv(name, value)
        yield running
