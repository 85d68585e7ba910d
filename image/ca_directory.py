"""Split a PEM bundle into a hashed CA directory: the same certificates, looked up one issuer at a time.

    python3 ca_directory.py BUNDLE DIRECTORY

Runs in the image's build stage (stdlib only, no project on the path; it needs the `openssl`
command), in `make image-payload`, and for the stand-in's throwaway CA. Why: the SDK's vendored
requests hands the path in REQUESTS_CA_BUNDLE (else certifi's bundle) to every new HTTPS connection,
and urllib3 parses a bundle file whole into a fresh SSL context each time (certifi's: about 120
certificates, over 10 ms), three times a cold start. Given a directory, requests passes it as
`ca_cert_dir` (OpenSSL's `capath`): loading it costs nearly nothing, and a handshake reads only the
issuer it needs, found by the file name `<subject hash>.<n>` that `openssl rehash` gives it. Every
certificate of the bundle, and nothing else, ends up in the directory, each under its hash name, or
this fails, saying why.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

# One PEM block: its label and its base64 body.
PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
# What `openssl rehash` names a certificate: its subject hash, then a counter for equal hashes.
HASH_NAME = re.compile(r"[0-9a-f]{8}\.[0-9]+")
INSTALL_OPENSSL = (
    "install OpenSSL's command line tool (1.1.0 or later, which has `openssl rehash`): "
    "`microdnf install openssl` on Oracle Linux, `apt-get install openssl` on Debian"
)


class CaDirectoryError(Exception):
    """The directory cannot be made to hold exactly the bundle's certificates under their hash names."""


def certificates(bundle: bytes) -> list[bytes]:
    """The bundle's certificates as PEM blocks, in order, each once; anything else in it is refused.

    A bundle file also trusts an OpenSSL `TRUSTED CERTIFICATE` block; refusing every other label
    keeps the directory's trust exactly the bundle's, never a silent subset of it.
    """
    found: list[bytes] = []
    seen: set[bytes] = set()
    for block in PEM_BLOCK.finditer(bundle):
        label, body = block.group(1), block.group(2)
        if label != b"CERTIFICATE":
            raise CaDirectoryError(f"the bundle holds a {label.decode()} block; only CERTIFICATE is handled")
        # `openssl rehash` skips a duplicate, which would then lack its hash name: one copy is the same trust.
        key = b"".join(body.split())
        if key not in seen:
            seen.add(key)
            found.append(block.group(0) + b"\n")
    if bundle.count(b"-----BEGIN ") != len(PEM_BLOCK.findall(bundle)):
        raise CaDirectoryError("the bundle holds a PEM block that does not end: is the file cut short?")
    if not found:
        raise CaDirectoryError("the bundle holds no certificate")
    return found


def make_ca_directory(bundle: Path, directory: Path) -> int:
    """Write each certificate of `bundle` into the new `directory` and hash it; how many there are."""
    pems = certificates(bundle.read_bytes())
    openssl = shutil.which("openssl")
    if openssl is None:
        raise CaDirectoryError(f"the `openssl` command is not on PATH: {INSTALL_OPENSSL}")
    if directory.exists() and any(directory.iterdir()):
        raise CaDirectoryError(f"{directory} is not empty: give a new directory")
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[bytes, str] = {}
    for number, pem in enumerate(pems, start=1):
        name = f"cert-{number:03d}.pem"
        (directory / name).write_bytes(pem)
        files[pem] = name
    rehash = subprocess.run(  # noqa: S603  # openssl from PATH, our own directory
        [openssl, "rehash", str(directory)], capture_output=True, text=True, check=False
    )
    if rehash.returncode != 0:
        raise CaDirectoryError(
            f"`openssl rehash {directory}` failed ({rehash.returncode}): "
            f"{(rehash.stderr or rehash.stdout).strip()}; {INSTALL_OPENSSL}"
        )
    # Read through each hash name, symbolic link or copy alike, to the certificate it gives OpenSSL.
    hashed = {
        files.get((directory / entry.name).read_bytes())
        for entry in directory.iterdir()
        if HASH_NAME.fullmatch(entry.name)
    }
    missing = sorted(set(files.values()) - hashed)
    if missing:
        raise CaDirectoryError(
            f"after `openssl rehash`, {len(missing)} of {len(files)} certificates have no hash name, so "
            f"OpenSSL would never find them: {', '.join(missing[:10])}; openssl said: "
            f"{rehash.stderr.strip() or 'nothing'}"
        )
    return len(files)


def main(argv: list[str] | None = None) -> int:
    """Make the directory named on the command line from the bundle; say what failed if it cannot."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("bundle", type=Path, help="a PEM bundle, e.g. /python/certifi/cacert.pem")
    parser.add_argument("directory", type=Path, help="a new directory, e.g. /python/ca-certificates")
    args = parser.parse_args(argv)
    try:
        count = make_ca_directory(args.bundle, args.directory)
    except (CaDirectoryError, OSError) as error:
        print(f"CA directory FAILED: {error}", file=sys.stderr)
        return 1
    print(f"CA directory {args.directory}: the {count} certificates of {args.bundle}, each under its hash")
    return 0


if __name__ == "__main__":
    sys.exit(main())
