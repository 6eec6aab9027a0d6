"""TLS for LDAPS and StartTLS (RFC 4513 §3): the configured certificate, or a self-signed one.

Without KEYHALL_TLS_CERT/KEYHALL_TLS_KEY, a self-signed certificate for the public URL's host
(and localhost) is generated at first start into the data directory, its key readable only by
Keyhall (0600), and reused afterwards.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from keyhall.config import Config

CERT_NAME = "tls.crt"
KEY_NAME = "tls.key"
VALID_DAYS = 3650


def certificate_paths(config: Config) -> tuple[Path, Path]:
    """The certificate and key to serve, generating the self-signed pair when none is set."""
    if config.tls_cert and config.tls_key:
        return Path(config.tls_cert), Path(config.tls_key)
    cert, key = config.data_dir / CERT_NAME, config.data_dir / KEY_NAME
    if not (cert.exists() and key.exists()):
        host = urlsplit(config.public_url).hostname or "localhost"
        write_self_signed(cert, key, host)
    return cert, key


def server_context(config: Config) -> ssl.SSLContext:
    cert, key = certificate_paths(config)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


def write_self_signed(cert_path: Path, key_path: Path, host: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        if host != "localhost":
            names.append(x509.DNSName(host))
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem_key)
    os.chmod(key_path, 0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
