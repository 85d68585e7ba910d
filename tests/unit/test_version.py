"""The release number: one value in the package, pyproject.toml, func.yaml and CHANGELOG.md."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from backup_copy import __version__
from backup_copy.deadline import Deadline
from backup_copy.handler import handle
from backup_copy.runtime import Runtimes
from tests.events import event_bytes
from tests.fakes import FakeGateway

PROJECT = Path(__file__).resolve().parents[2]


def test_the_package_pyproject_func_yaml_and_changelog_name_one_release() -> None:
    pyproject = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["version"] == __version__
    func_yaml = (PROJECT / "func.yaml").read_text(encoding="utf-8")
    assert re.search(r"^version: (\S+)$", func_yaml, re.MULTILINE)[1] == __version__  # type: ignore[index]
    changelog = (PROJECT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(r"^## (\S+)", changelog, re.MULTILINE)[1] == __version__  # type: ignore[index]


def test_answers_notices_and_log_lines_carry_the_release(
    runtimes: Runtimes, fake_runtime: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = handle(
        event_bytes("malformed/resource-id-with-path.json"), deadline=Deadline.after(30), runtimes=runtimes
    )
    assert json.loads(answer.body)["version"] == __version__
    [(_, _, notice)] = fake_runtime.published
    assert json.loads(notice)["version"] == __version__
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines
    assert all(line["version"] == __version__ for line in lines)
