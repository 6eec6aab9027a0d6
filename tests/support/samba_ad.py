"""A real Active Directory for tests: Debian's Samba, provisioned as a DC in a temp dir.

Samba's AD LDAP server listens on the fixed ports 389/636 (loopback only here), so one runs
at a time on a machine; the fixture skips when Samba is missing or the ports are taken. Only
the `ldap` service is started. Samba refuses simple binds without TLS ("require strong
auth"), so everything talks LDAPS to its self-signed certificate.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ldap.modlist import addModlist

import ldap

SAMBA = Path("/usr/sbin/samba")
SAMBA_TOOL = Path("/usr/bin/samba-tool")
REALM = "CORP.EXAMPLE"
DOMAIN = "CORP"
BASE_DN = "DC=corp,DC=example"
ADMIN_PASSWORD = "Adm1n-Passw0rd!"  # meets Samba's default complexity rules
URL = "ldaps://127.0.0.1:636"


@dataclass
class SambaDC:
    process: subprocess.Popen[bytes]
    directory: Path

    url: str = URL
    base_dn: str = BASE_DN
    bind_dn: str = f"Administrator@{REALM.lower()}"
    password: str = ADMIN_PASSWORD

    def connect(self) -> ldap.ldapobject.LDAPObject:
        conn = ldap.initialize(self.url)
        conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_NEVER)
        conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
        conn.set_option(ldap.OPT_REFERRALS, 0)
        conn.timeout = 60
        conn.simple_bind_s(self.bind_dn, self.password)
        return conn

    def add_user(self, sam: str, given: str, family: str, password: str, *, ou: str) -> str:
        """An enabled user with a password (unicodePwd needs the TLS connection)."""
        dn = f"CN={given} {family},{ou}"
        conn = self.connect()
        try:
            conn.add_s(
                dn,
                addModlist(
                    {
                        "objectClass": [b"user"],
                        "sAMAccountName": [sam.encode()],
                        "userPrincipalName": [f"{sam}@{REALM.lower()}".encode()],
                        "givenName": [given.encode()],
                        "sn": [family.encode()],
                        "displayName": [f"{given} {family}".encode()],
                        "mail": [f"{given.lower()}.{family.lower()}@corp.example".encode()],
                        "unicodePwd": [f'"{password}"'.encode("utf-16-le")],
                        "userAccountControl": [b"512"],
                    }
                ),
            )
        finally:
            conn.unbind_s()
        return dn

    def modify(self, dn: str, changes: list[tuple[int, str, list[bytes]]]) -> None:
        conn = self.connect()
        try:
            conn.modify_s(dn, changes)
        finally:
            conn.unbind_s()

    def add_ou(self, name: str) -> str:
        dn = f"OU={name},{BASE_DN}"
        conn = self.connect()
        try:
            conn.add_s(dn, addModlist({"objectClass": [b"organizationalUnit"]}))
        finally:
            conn.unbind_s()
        return dn

    def add_group(self, name: str, members: list[str], *, ou: str) -> str:
        dn = f"CN={name},{ou}"
        conn = self.connect()
        try:
            entry: dict[str, list[bytes]] = {
                "objectClass": [b"group"],
                "sAMAccountName": [name.encode()],
            }
            if members:
                entry["member"] = [m.encode() for m in members]
            conn.add_s(dn, addModlist(entry))
        finally:
            conn.unbind_s()
        return dn

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_samba(directory: Path) -> SambaDC:
    if not SAMBA.exists() or not SAMBA_TOOL.exists():
        pytest.skip("Samba AD DC is not installed (samba, samba-ad-dc, samba-ad-provision)")
    if _port_taken(636) or _port_taken(389):
        pytest.skip("ports 389/636 are in use: another Samba DC or LDAP server runs here")
    target = directory / "dc"
    subprocess.run(
        [
            str(SAMBA_TOOL), "domain", "provision", f"--targetdir={target}",
            f"--realm={REALM}", f"--domain={DOMAIN}", "--server-role=dc",
            "--dns-backend=NONE", f"--adminpass={ADMIN_PASSWORD}",
            "--option=interfaces=lo", "--option=bind interfaces only=yes",
        ],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    log = (directory / "samba.log").open("wb")
    process = subprocess.Popen(
        [
            str(SAMBA), "-i", "-M", "single", "-s", str(target / "etc" / "smb.conf"),
            "--option=server services=ldap",
        ],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    dc = SambaDC(process, directory)
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"samba exited: {(directory / 'samba.log').read_text()[-2000:]}")
        try:
            dc.connect().unbind_s()
            return dc
        except ldap.LDAPError:
            if time.monotonic() > deadline:
                dc.stop()
                raise
            time.sleep(0.5)


@pytest.fixture(scope="session")
def samba_dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SambaDC]:
    """One provisioned Samba AD DC for the session (provisioning takes ~15-30 s)."""
    directory = tmp_path_factory.mktemp("samba-ad")
    dc = start_samba(directory)
    yield dc
    dc.stop()
    shutil.rmtree(directory, ignore_errors=True)
