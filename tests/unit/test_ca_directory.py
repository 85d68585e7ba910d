"""image/ca_directory.py: a PEM bundle as a hashed directory of exactly its certificates, or loud failure."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import certifi
import pytest

from image.ca_directory import CaDirectoryError, main, make_ca_directory

CERTIFI = Path(certifi.where())
BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.DOTALL)


def hashed(directory: Path) -> dict[str, bytes]:
    """Each `<8 hex>.<n>` name in the directory and the certificate it reads as."""
    return {
        entry.name: entry.read_bytes().strip()
        for entry in directory.iterdir()
        if re.fullmatch(r"[0-9a-f]{8}\.[0-9]+", entry.name)
    }


def test_every_certificate_of_the_bundle_is_found_under_its_subject_hash(tmp_path: Path) -> None:
    directory = tmp_path / "ca"
    bundle = BLOCK.findall(CERTIFI.read_bytes())

    count = make_ca_directory(CERTIFI, directory)

    names = hashed(directory)
    assert count == len(bundle) > 100
    assert sorted(names.values()) == sorted(bundle)
    # The name is what OpenSSL looks an issuer up by: the subject hash `openssl x509 -hash` gives.
    for name in sorted(names)[:3]:
        subject_hash = subprocess.run(  # noqa: S603  # openssl on fixed arguments
            ["openssl", "x509", "-hash", "-noout", "-in", str(directory / name)],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert name.split(".")[0] == subject_hash


def test_a_certificate_given_twice_is_trusted_once(tmp_path: Path) -> None:
    first, second = BLOCK.findall(CERTIFI.read_bytes())[:2]
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(b"# comment\n" + first + b"\n" + second + b"\n\n" + first + b"\n")

    count = make_ca_directory(bundle, tmp_path / "ca")

    assert count == 2
    assert sorted(hashed(tmp_path / "ca").values()) == sorted([first, second])


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"", "holds no certificate"),
        (b"# only comments\n", "holds no certificate"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "PRIVATE KEY block"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n", "does not end"),
    ],
    ids=["empty", "comments", "a key", "cut short"],
)
def test_a_bundle_without_exactly_certificates_fails_loudly(
    tmp_path: Path, content: bytes, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(content)

    with pytest.raises(CaDirectoryError, match=said):
        make_ca_directory(bundle, tmp_path / "ca")
    assert main([str(bundle), str(tmp_path / "ca")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("CA directory FAILED: the bundle holds")
    assert said in err
    assert not (tmp_path / "ca").exists()


def test_without_the_openssl_command_it_fails_and_says_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))

    assert main([str(CERTIFI), str(tmp_path / "ca")]) == 1

    err = capsys.readouterr().err
    assert "CA directory FAILED: the `openssl` command is not on PATH" in err
    assert "microdnf install openssl" in err
    assert not (tmp_path / "ca").exists()


def test_an_openssl_that_leaves_a_certificate_unhashed_fails_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An `openssl` whose rehash succeeds but names nothing, as one that skipped every file would.
    tools = tmp_path / "bin"
    tools.mkdir()
    fake = tools / "openssl"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))

    count = len(BLOCK.findall(CERTIFI.read_bytes()))
    with pytest.raises(CaDirectoryError, match=f"{count} of {count} certificates have no hash name"):
        make_ca_directory(CERTIFI, tmp_path / "ca")


def test_a_directory_in_use_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "ca"
    directory.mkdir()
    (directory / "other.pem").write_text("")

    with pytest.raises(CaDirectoryError, match="is not empty"):
        make_ca_directory(CERTIFI, directory)
    assert [entry.name for entry in directory.iterdir()] == ["other.pem"]


def test_the_command_line_prints_how_many_certificates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(CERTIFI), str(tmp_path / "ca")]) == 0

    count = len(BLOCK.findall(CERTIFI.read_bytes()))
    assert f"the {count} certificates of {CERTIFI}, each under its hash" in capsys.readouterr().out
