"""A private OpenLDAP `slapd` for tests: started on loopback, owned by the test, loaded with LDIF.

Use the `slapd` fixture (a factory) from a conftest:

    from tests.support.slapd import slapd  # noqa: F401 - a fixture

    def test_x(slapd):
        server = slapd("dc=example,dc=org", ldif=ENTRIES)
        server.search("(uid=alice)")            # ldapsearch -LLL output
        server.url, server.bind_dn, server.password

The server has the core, cosine, nis and inetorgperson schemas, the memberof overlay and the
pw-sha2 module ({SSHA256}, {SSHA512}); its root DN is `cn=admin,<base>`. Entries are loaded
online with `ldapadd` so that the overlay sees them. The base entry and `ou=users`,
`ou=groups` are created unless `create_base=False`.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SLAPD = Path("/usr/sbin/slapd")
SCHEMAS = ("core", "cosine", "nis", "inetorgperson")
ROOT_PASSWORD = "slapd-root-secret"

SlapdFactory = Callable[..., "Slapd"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(base_dn: str, directory: Path) -> str:
    includes = "\n".join(f"include /etc/ldap/schema/{name}.schema" for name in SCHEMAS)
    return f"""{includes}
pidfile {directory}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload pw-sha2
password-hash {{SSHA}}

database mdb
suffix "{base_dn}"
rootdn "cn=admin,{base_dn}"
rootpw {ROOT_PASSWORD}
directory {directory}/db
maxsize 104857600
index objectClass eq
index uid eq
overlay memberof

access to attrs=userPassword
    by self write
    by anonymous auth
    by * none
access to * by * read
"""


def base_entries(base_dn: str) -> str:
    """The base entry and the `ou=users` / `ou=groups` containers, as LDIF."""
    first = base_dn.split(",")[0]
    attr, _, value = first.partition("=")
    object_class = {"dc": "dcObject", "o": "organization", "ou": "organizationalUnit"}[attr.lower()]
    extra = "objectClass: organization\no: " + value + "\n" if attr.lower() == "dc" else ""
    return (
        f"dn: {base_dn}\nobjectClass: {object_class}\n{extra}{attr}: {value}\n\n"
        f"dn: ou=users,{base_dn}\nobjectClass: organizationalUnit\nou: users\n\n"
        f"dn: ou=groups,{base_dn}\nobjectClass: organizationalUnit\nou: groups\n"
    )


@dataclass
class Slapd:
    base_dn: str
    port: int
    directory: Path
    process: subprocess.Popen[bytes]
    password: str = ROOT_PASSWORD
    _log: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def bind_dn(self) -> str:
        return f"cn=admin,{self.base_dn}"

    def _client(self, tool: str, *args: str, input: str | None = None) -> str:
        result = subprocess.run(
            [tool, "-x", "-H", self.url, "-D", self.bind_dn, "-w", self.password, *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def add(self, ldif: str) -> None:
        """Add entries online (`ldapadd`), so overlays such as memberof see them."""
        self._client("ldapadd", input=ldif)

    def modify(self, ldif: str) -> None:
        self._client("ldapmodify", input=ldif)

    def search(self, filter: str = "(objectClass=*)", *attrs: str) -> str:
        """`ldapsearch -LLL` under the base DN, as the root DN (so userPassword is included)."""
        return self._client("ldapsearch", "-LLL", "-b", self.base_dn, filter, *attrs)

    def slapcat(self) -> str:
        """The database as `slapcat` dumps it (operational attributes included)."""
        result = subprocess.run(
            ["/usr/sbin/slapcat", "-f", str(self.directory / "slapd.conf"), "-b", self.base_dn],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout

    def bind_ok(self, dn: str, password: str) -> bool:
        """Whether a simple bind as `dn` with `password` succeeds (`ldapwhoami`)."""
        result = subprocess.run(
            ["ldapwhoami", "-x", "-H", self.url, "-D", dn, "-w", password],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return result.returncode == 0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_slapd(
    directory: Path, base_dn: str = "dc=example,dc=org", *, ldif: str = "", create_base: bool = True
) -> Slapd:
    """Start a slapd in the foreground on a free loopback port and load `ldif` into it."""
    if not SLAPD.exists():
        pytest.skip("OpenLDAP slapd is not installed (scripts/system-deps.sh installs it)")
    (directory / "db").mkdir(parents=True, exist_ok=True)
    conf = directory / "slapd.conf"
    conf.write_text(_config(base_dn, directory))
    port = _free_port()
    log = directory / "slapd.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [str(SLAPD), "-d", "0", "-f", str(conf), "-h", f"ldap://127.0.0.1:{port}/"],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    server = Slapd(base_dn, port, directory, process)
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            err = log.read_text(errors="replace")
            raise RuntimeError(f"slapd exited with {process.returncode}: {err[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("slapd did not start listening within 20 s") from None
            time.sleep(0.05)
    try:
        if create_base:
            server.add(base_entries(base_dn))
        if ldif.strip():
            server.add(ldif)
    except Exception:
        server.stop()
        raise
    return server


@pytest.fixture
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlapdFactory]:
    """A factory: `slapd(base_dn, ldif=..., create_base=True) -> Slapd`, stopped after the test."""
    started: list[Slapd] = []

    def factory(
        base_dn: str = "dc=example,dc=org", *, ldif: str = "", create_base: bool = True
    ) -> Slapd:
        directory = tmp_path_factory.mktemp("slapd")
        server = start_slapd(directory, base_dn, ldif=ldif, create_base=create_base)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)
