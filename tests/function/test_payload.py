"""The trimmed image payload (`make image-payload`) runs the function on its own, in every scenario."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devkit import PROJECT
from devkit.payload import CA_BUNDLE, CA_DIRECTORY, cached_payload, check_imports
from devkit.scenarios import SESSIONS, Call, Session, run_sessions
from image.trim_payload import KeepList, trim


@pytest.fixture(scope="module")
def payload() -> Path:
    """The tree the image ships, built as the Dockerfile builds it (cached under .local/)."""
    return cached_payload()


def test_only_the_payload_and_the_project_are_on_the_path(payload: Path) -> None:
    probe = "import fdk, oci, pydantic, sys; print(sys.path); print(oci.__file__)"
    python = subprocess.run(  # noqa: S603  # our own interpreter
        [sys.executable, "-S", "-c", probe],
        env={"PYTHONPATH": f"{PROJECT}:{payload}"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert python.stdout.splitlines()[1].startswith(str(payload))
    assert "site-packages" not in python.stdout.splitlines()[0]
    trimmed = subprocess.run(
        [sys.executable, "-S", "-c", "import pytest"],
        env={"PYTHONPATH": str(payload)},
        capture_output=True,
        check=False,
    )
    assert trimmed.returncode != 0


def test_the_payload_holds_certifis_certificates_as_the_hashed_directory_the_image_trusts(
    payload: Path,
) -> None:
    # The Dockerfile's ENV REQUESTS_CA_BUNDLE=/python/ca-certificates names this directory.
    assert "ENV REQUESTS_CA_BUNDLE=/python/ca-certificates" in (PROJECT / "Dockerfile").read_text()
    bundle = re.findall(
        rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----",
        (payload / CA_BUNDLE).read_bytes(),
        re.DOTALL,
    )
    directory = payload / CA_DIRECTORY
    hashed = [
        entry.read_bytes().strip()
        for entry in directory.iterdir()
        if re.fullmatch(r"[0-9a-f]{8}\.[0-9]+", entry.name)
    ]
    assert len(bundle) > 100
    assert sorted(hashed) == sorted(bundle)
    # Relative links, so the tree still trusts them wherever it is copied (the image's COPY, .local/).
    assert all(
        not Path(entry.readlink()).is_absolute() for entry in directory.iterdir() if entry.is_symlink()
    )


def test_a_backup_is_copied_and_announced_by_the_trimmed_payload(payload: Path) -> None:
    session = Session(
        "copy, ignore, reject",
        (
            Call("boot-volume-backup-end.json", "copied"),
            Call("boot-volume-backup-begin.json", "ignored", seed=False),
            Call("malformed/resource-id-with-path.json", "rejected", seed=False),
        ),
        destinations="us-ashburn-1",
    )
    for run in run_sessions(f"{PROJECT}:{payload}", python_flags=("-S",), sessions=(session,)):
        copied, ignored, rejected = run.answers
        assert [a.status for a in run.answers] == ["copied", "ignored", "rejected"], run.logs
        assert (copied.http_status, ignored.http_status, rejected.http_status) == (200, 200, 502)
        [copy] = run.cloud.standin.backups("us-ashburn-1")
        assert [c["id"] for c in copied.body["copies"]] == [copy.id]
        notices = run.cloud.standin.messages(run.cloud.topic_id)
        assert [json.loads(n.body)["status"] for n in notices] == ["copied", "rejected"]
        assert json.loads(notices[0].body)["newBackupIds"] == [copy.id]


@pytest.mark.parametrize("session", SESSIONS, ids=[session.name for session in SESSIONS])
def test_every_scenario_ends_as_it_should_on_the_trimmed_payload(payload: Path, session: Session) -> None:
    for run in run_sessions(f"{PROJECT}:{payload}", python_flags=("-S",), sessions=(session,)):
        # A ModuleNotFoundError means the code imports something new: run `python -m devkit.keep_list`.
        assert "ModuleNotFoundError" not in run.logs, run.logs
        assert [(a.call.event, a.status) for a in run.answers] == [
            (call.event, call.expect) for call in session.calls
        ], run.logs


def test_the_build_fails_when_the_trimmed_tree_cannot_import_the_function(
    payload: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    check_imports(payload)
    assert "import check: the function imports from" in capfd.readouterr().out
    # The same tree with one package the function needs cut, as a wrong keep.txt would cut it.
    cut = tmp_path / "payload"
    cut.mkdir()
    for entry in payload.iterdir():
        if not entry.name.startswith("pydantic_core"):
            (cut / entry.name).symlink_to(entry)
    with pytest.raises(SystemExit, match="cannot import the function"):
        check_imports(cut)
    err = capfd.readouterr().err
    assert "No module named 'pydantic_core'" in err
    assert "import check FAILED" in err
    assert "devkit.keep_list" in err


def test_the_build_fails_when_a_shipped_module_has_no_bytecode(
    payload: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    check_imports(payload)
    assert "bytecode check: every module under" in capfd.readouterr().out
    # The same tree with one module's .pyc gone, as a build that skipped the compile would leave it.
    copy = tmp_path / "payload"
    copy.mkdir()
    for entry in payload.iterdir():
        if entry.name != "fdk":
            (copy / entry.name).symlink_to(entry)
    shutil.copytree(payload / "fdk", copy / "fdk")
    [compiled] = (copy / "fdk" / "__pycache__").glob("response.*.pyc")
    compiled.unlink()
    with pytest.raises(SystemExit, match="lacks bytecode"):
        check_imports(copy)
    err = capfd.readouterr().err
    assert "bytecode check FAILED: 1 shipped module(s) have no compiled .pyc" in err
    assert "fdk/response.py" in err


def _install(tree: Path, dist: str, files: list[str], scripts: tuple[str, ...] = ()) -> None:
    info = tree / f"{dist}-1.0.dist-info"
    info.mkdir(parents=True)
    for name in files:
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    for script in scripts:
        (tree / "bin").mkdir(exist_ok=True)
        (tree / "bin" / script).write_text("")
    record = [f"{name},sha256=x,0" for name in files]
    record += [f"../../bin/{script},sha256=x,0" for script in scripts]
    (info / "RECORD").write_text("\n".join([*record, f"{info.name}/RECORD,,"]) + "\n")


def test_trim_keeps_named_packages_and_subpackages_and_drops_the_rest(tmp_path: Path) -> None:
    _install(
        tmp_path, "sdk", ["sdk/__init__.py", "sdk/signer.py", "sdk/core/__init__.py", "sdk/dns/__init__.py"]
    )
    _install(tmp_path, "runner", ["runner/__init__.py"], scripts=("runner",))
    _install(tmp_path, "testtool", ["testtool/__init__.py", "_testtool_helper.py"], scripts=("testtool",))
    keep = tmp_path / "keep.txt"
    keep.write_text("# comment\nrunner\nsdk\nsdk.core\n")

    removed = trim(tmp_path, KeepList.read(keep))

    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == [
        "bin/runner",
        "runner-1.0.dist-info/RECORD",
        "runner/__init__.py",
        "sdk-1.0.dist-info/RECORD",
        "sdk/__init__.py",
        "sdk/core/__init__.py",
        "sdk/signer.py",
    ]
    assert "sdk/dns/__init__.py" not in (tmp_path / "sdk-1.0.dist-info/RECORD").read_text()
    assert "distribution testtool" in removed
    assert "subpackage sdk.dns" in removed


def test_trim_refuses_a_keep_list_that_names_what_is_not_installed(tmp_path: Path) -> None:
    _install(tmp_path, "sdk", ["sdk/__init__.py"])
    keep = tmp_path / "keep.txt"
    keep.write_text("sdk\ngone\n")
    with pytest.raises(SystemExit, match="gone"):
        trim(tmp_path, KeepList.read(keep))
