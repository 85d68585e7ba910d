"""A throwaway CA for the stand-in's HTTPS, made at start, trusted by a bundle file or a hashed directory."""

import datetime
import ipaddress
import shutil
import ssl
from dataclasses import dataclass
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from image.ca_directory import make_ca_directory

_LIFETIME = datetime.timedelta(days=2)


@dataclass(frozen=True)
class Certificates:
    """Where the server's key and certificate and the clients' CA bundle and directory were written."""

    server_cert: Path
    server_key: Path
    ca_bundle: Path
    ca_directory: Path

    def server_context(self) -> ssl.SSLContext:
        """The server side's TLS context, holding the server certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server_cert, self.server_key)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def make_certificates(directory: Path) -> Certificates:
    """A new CA, a server certificate it signs for 127.0.0.1 and localhost, and a bundle trusting it.

    The bundle is the SDK's default one (certifi's, which the vendored requests loads) plus the
    throwaway CA, so a client trusting it pays for loading a real-size bundle on every new
    connection, as it does against OCI without the image's setting. The directory holds the same
    certificates, hashed by image/ca_directory.py as the image's build hashes certifi's, so a client
    trusting it looks up issuers as the function in the image does.
    """
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    # EC P-256 keys: made in a millisecond, where RSA takes tens.
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("oci-standin throwaway CA"))
        .issuer_name(_name("oci-standin throwaway CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _LIFETIME)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    certificates = Certificates(
        server_cert=directory / "server.pem",
        server_key=directory / "server-key.pem",
        ca_bundle=directory / "ca-bundle.pem",
        ca_directory=directory / "ca-certificates",
    )
    certificates.server_cert.write_bytes(_pem(server_cert))
    certificates.server_key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    certificates.server_key.chmod(0o600)
    certificates.ca_bundle.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + _pem(ca_cert))
    # A directory left by an earlier run in the same place trusts that run's CA: start afresh.
    shutil.rmtree(certificates.ca_directory, ignore_errors=True)
    make_ca_directory(certificates.ca_bundle, certificates.ca_directory)
    return certificates
