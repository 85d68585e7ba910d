"""`python -m devkit.standin` serves in the foreground and prints what a user needs to call it."""

import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import oci
import pytest

REPOSITORY = Path(__file__).resolve().parents[2]


@dataclass
class _Served:
    """What the command printed up to its Ctrl-C line, a client built from its exports, and its end."""

    lines: list[str]
    exports: dict[str, str]
    backup_id: str
    client: Any
    returncode: int | None = None
    printed_on_stop: str = ""


def _started(process: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch) -> _Served:
    """Read the command's output up to its Ctrl-C line, set its exports here and build a client."""
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line.strip())
        if "Ctrl-C" in line:
            break
    exports = dict(
        shlex.split(line.removeprefix("export "))[0].split("=", 1)
        for line in lines
        if line.startswith("export ")
    )
    for name, value in exports.items():
        monkeypatch.setenv(name, value)
    backup_id = next(line for line in lines if "seeded" in line).rsplit(" ", 1)[1]
    client = oci.core.BlockstorageClient(
        {"region": "us-phoenix-1"},
        signer=oci.auth.signers.get_resource_principals_signer(),
        service_endpoint=exports["OCI_ENDPOINT_TEMPLATE"].format(region="us-phoenix-1", service="iaas"),
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
    )
    return _Served(lines, exports, backup_id, client)


@contextmanager
def _serving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *options: str) -> Iterator[_Served]:
    """Run the command with `options`, and stop it with Ctrl-C (SIGINT) once the test is done with it."""
    command = [sys.executable, "-m", "devkit.standin", "--port", "0", "--key-dir", str(tmp_path), *options]
    with subprocess.Popen(  # noqa: S603  # this interpreter, fixed arguments
        command, stdout=subprocess.PIPE, text=True, cwd=REPOSITORY
    ) as process:
        try:
            served = _started(process, monkeypatch)
            try:
                yield served
            finally:
                served.client.base_client.session.close()
        finally:
            # Also when the test fails: Popen's exit would wait for a process that ends only on Ctrl-C.
            process.send_signal(signal.SIGINT)
            printed, _ = process.communicate(timeout=10)
    served.returncode, served.printed_on_stop = process.returncode, printed


def test_the_printed_exports_reach_the_seeded_backup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with _serving(tmp_path, monkeypatch, "--regions", "us-phoenix-1,us-ashburn-1") as served:
        backup = served.client.get_boot_volume_backup(served.backup_id).data

    exports = served.exports
    assert served.returncode == 0
    assert "# stopped" in served.printed_on_stop
    assert backup.lifecycle_state == "AVAILABLE"
    assert exports["OCI_RESOURCE_PRINCIPAL_VERSION"] == "2.2"
    assert exports["NOTIFICATION_TOPIC_ID"].startswith("ocid1.onstopic.oc1.phx.")
    assert Path(exports["OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM"]).parent == tmp_path.resolve()


@pytest.mark.parametrize(
    ("options", "second_status"),
    [([], 400), (["--no-copy-limits"], 200)],
    ids=["limits-by-default", "no-copy-limits"],
)
def test_copy_limits_are_on_unless_switched_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: list[str], second_status: int
) -> None:
    details = oci.core.models.CopyBootVolumeBackupDetails(destination_region="us-ashburn-1")
    with _serving(tmp_path, monkeypatch, *options) as served:
        first = served.client.copy_boot_volume_backup(served.backup_id, details).status
        try:
            second = served.client.copy_boot_volume_backup(served.backup_id, details).status
        except oci.exceptions.ServiceError as refused:
            second = refused.status

    assert (first, second) == (200, second_status)


def test_with_tls_the_printed_exports_trust_the_throwaway_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _serving(tmp_path, monkeypatch, "--tls") as served:
        backup = served.client.get_boot_volume_backup(served.backup_id).data

    exports, lines = served.exports, served.lines
    assert exports["OCI_ENDPOINT_TEMPLATE"].startswith("https://127.0.0.1:")
    # The hashed directory, as the image trusts; the bundle file of the same certificates beside it.
    trusted = Path(exports["REQUESTS_CA_BUNDLE"])
    assert trusted == (tmp_path / "tls" / "ca-certificates").resolve()
    assert trusted.is_dir()
    assert (
        "# CA directory to trust (the SDK's default bundle plus the throwaway CA, hashed): "
        f"{exports['REQUESTS_CA_BUNDLE']}"
    ) in lines
    assert (
        "# the same as one bundle file, also fine for REQUESTS_CA_BUNDLE: "
        f"{(tmp_path / 'tls' / 'ca-bundle.pem').resolve()}"
    ) in lines
    assert backup.lifecycle_state == "AVAILABLE"
