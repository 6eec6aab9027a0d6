"""A private slapd for the connector tests: the shared fixture's server, plus what it lacks.

Adds, on top of `tests.support.slapd`: LDAPS and StartTLS with a self-signed certificate made
for the test, no size limit (paged sync of large directories), and an Active Directory-shaped
schema (sAMAccountName, userPrincipalName, binary objectGUID, userAccountControl,
accountExpires, objectCategory; `user` and `group` classes) for AD behaviour without a DC.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tests.support import slapd as base
from tests.support.net import free_port

# A private OID arc for test-only schema: never seen outside these throwaway servers.
AD_SCHEMA = """
attributetype ( 1.3.6.1.4.1.55555.1.1 NAME 'sAMAccountName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.2 NAME 'userPrincipalName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.3 NAME 'objectGUID'
  EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.4 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.5 NAME 'accountExpires'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.6 NAME 'objectCategory'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.55555.2.1 NAME 'user' SUP organizationalPerson STRUCTURAL
  MAY ( sAMAccountName $ userPrincipalName $ objectGUID $ userAccountControl $
        accountExpires $ objectCategory $ mail $ displayName $ givenName ) )
objectclass ( 1.3.6.1.4.1.55555.2.2 NAME 'group' SUP top STRUCTURAL
  MUST cn MAY ( member $ sAMAccountName $ objectGUID $ objectCategory $ description ) )
"""


@dataclass
class TlsFiles:
    cert: Path
    key: Path


def self_signed(directory: Path) -> TlsFiles:
    """A P-256 certificate for 127.0.0.1 and localhost, signed by itself."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    files = TlsFiles(directory / "cert.pem", directory / "key.pem")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


@dataclass
class SlapdExt:
    server: base.Slapd
    ldaps_port: int
    tls: TlsFiles

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    @property
    def base_dn(self) -> str:
        return self.server.base_dn

    @property
    def bind_dn(self) -> str:
        return self.server.bind_dn

    @property
    def password(self) -> str:
        return self.server.password

    def add(self, ldif: str) -> None:
        self.server.add(ldif)

    def modify(self, ldif: str) -> None:
        self.server.modify(ldif)

    def delete(self, *dns: str) -> None:
        self.server._client("ldapdelete", *dns)

    def stop(self) -> None:
        self.server.stop()
        if self.server.process.stderr is not None:
            self.server.process.stderr.close()


def _config(base_dn: str, directory: Path, tls: TlsFiles, ad_schema: bool) -> str:
    # The shared fixture's config, with global directives added before the database section.
    conf = base._config(base_dn, directory)
    extra = [
        f"TLSCertificateFile {tls.cert}",
        f"TLSCertificateKeyFile {tls.key}",
        "sizelimit unlimited",
    ]
    if ad_schema:
        (directory / "ad.schema").write_text(AD_SCHEMA)
        extra.insert(0, f"include {directory / 'ad.schema'}")
    head, sep, tail = conf.partition("\ndatabase mdb\n")
    assert sep, "the shared slapd config changed shape: no database section"
    return head + "\n" + "\n".join(extra) + sep + "limits * size=unlimited\n" + tail


def start(directory: Path, base_dn: str, *, ldif: str = "", ad_schema: bool = False) -> SlapdExt:
    if not base.SLAPD.exists():
        pytest.skip("OpenLDAP slapd is not installed")
    (directory / "db").mkdir(parents=True, exist_ok=True)
    tls = self_signed(directory)
    conf = directory / "slapd.conf"
    conf.write_text(_config(base_dn, directory, tls, ad_schema))
    port, ldaps_port = free_port(), free_port()
    urls = f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{ldaps_port}/"
    process = subprocess.Popen(
        [str(base.SLAPD), "-d", "0", "-f", str(conf), "-h", urls],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = base.Slapd(base_dn, port, directory, process)
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"slapd exited with {process.returncode}: {err[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("slapd did not listen within 20 s") from None
            time.sleep(0.05)
    ext = SlapdExt(server, ldaps_port, tls)
    try:
        server.add(base.base_entries(base_dn))
        if ldif.strip():
            server.add(ldif)
    except Exception:
        server.stop()
        raise
    return ext


SlapdExtFactory = Callable[..., SlapdExt]


@pytest.fixture
def slapd_ext(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlapdExtFactory]:
    """A factory: `slapd_ext(base_dn, ldif=..., ad_schema=False) -> SlapdExt`."""
    started: list[SlapdExt] = []

    def factory(
        base_dn: str = "dc=example,dc=org", *, ldif: str = "", ad_schema: bool = False
    ) -> SlapdExt:
        directory = tmp_path_factory.mktemp("slapd-ext")
        server = start(directory, base_dn, ldif=ldif, ad_schema=ad_schema)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()
        shutil.rmtree(server.server.directory, ignore_errors=True)
