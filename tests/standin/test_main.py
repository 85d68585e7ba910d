"""`python -m devkit.standin` serves in the foreground and prints what a user needs to call it."""

import shlex
import signal
import subprocess
import sys
from pathlib import Path

import oci
import pytest

REPOSITORY = Path(__file__).resolve().parents[2]


def test_the_printed_exports_reach_the_seeded_backup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    command = [sys.executable, "-m", "devkit.standin", "--port", "0", "--key-dir", str(tmp_path)]
    command += ["--regions", "us-phoenix-1,us-ashburn-1"]
    lines: list[str] = []
    with subprocess.Popen(  # noqa: S603  # this interpreter, fixed arguments
        command, stdout=subprocess.PIPE, text=True, cwd=REPOSITORY
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.strip())
            if "Ctrl-C" in line:
                break
        exports = dict(
            shlex.split(line.removeprefix("export "))[0].split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        backup_id = next(line for line in lines if "seeded" in line).rsplit(" ", 1)[1]
        for name, value in exports.items():
            monkeypatch.setenv(name, value)
        client = oci.core.BlockstorageClient(
            {"region": "us-phoenix-1"},
            signer=oci.auth.signers.get_resource_principals_signer(),
            service_endpoint=exports["OCI_ENDPOINT_TEMPLATE"].format(region="us-phoenix-1", service="iaas"),
            circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
        )
        try:
            backup = client.get_boot_volume_backup(backup_id).data
        finally:
            client.base_client.session.close()
        process.send_signal(signal.SIGINT)
        remaining, _ = process.communicate(timeout=10)

    assert process.returncode == 0
    assert "# stopped" in remaining
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
    command = [sys.executable, "-m", "devkit.standin", "--port", "0", "--key-dir", str(tmp_path), *options]
    with subprocess.Popen(  # noqa: S603  # this interpreter, fixed arguments
        command, stdout=subprocess.PIPE, text=True, cwd=REPOSITORY
    ) as process:
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
        details = oci.core.models.CopyBootVolumeBackupDetails(destination_region="us-ashburn-1")
        try:
            first = client.copy_boot_volume_backup(backup_id, details).status
            try:
                second = client.copy_boot_volume_backup(backup_id, details).status
            except oci.exceptions.ServiceError as refused:
                second = refused.status
        finally:
            client.base_client.session.close()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)

    assert (first, second) == (200, second_status)


def test_with_tls_the_printed_exports_trust_the_throwaway_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command = [sys.executable, "-m", "devkit.standin", "--port", "0", "--key-dir", str(tmp_path), "--tls"]
    with subprocess.Popen(  # noqa: S603  # this interpreter, fixed arguments
        command, stdout=subprocess.PIPE, text=True, cwd=REPOSITORY
    ) as process:
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
        try:
            backup = client.get_boot_volume_backup(backup_id).data
        finally:
            client.base_client.session.close()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)

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
