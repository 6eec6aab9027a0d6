"""The LDAP benchmark's peer: a private OpenLDAP slapd (back_mdb, memberof) with the dataset.

Configured the way slapd directories are usually run: equality indexes on the attributes the
benchmark filters on, `{SSHA}` passwords (slapd's own default `password-hash`), the memberof
overlay, and the service account as an ordinary entry granted read access by an ACL (not the
rootdn, which would skip access control). Entries are loaded online with `ldapadd` because an
offline `slapadd` bypasses the memberof overlay; `dbnosync` only speeds up that load (the
benchmark itself only reads).
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.children import die_with_parent
from bench.ldap_dataset import BASE_DN, PASSWORD, SERVICE_DN, Dataset

SLAPD = Path("/usr/sbin/slapd")
LDAPADD = "ldapadd"
SCHEMAS = ("core", "cosine", "nis", "inetorgperson")
MANAGER_DN = f"cn=manager,{BASE_DN}"
MANAGER_PASSWORD = "bench-manager-secret"
SERVICE_PASSWORD = "bench-service-secret"


def ssha(password: str) -> str:
    """RFC 2307-style `{SSHA}`: base64(SHA-1(password + salt) + salt), as slappasswd makes it."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt, usedforsecurity=False).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def config(directory: Path) -> str:
    includes = "\n".join(f"include /etc/ldap/schema/{name}.schema" for name in SCHEMAS)
    return f"""{includes}
pidfile {directory}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
password-hash {{SSHA}}
loglevel 0

database mdb
suffix "{BASE_DN}"
rootdn "{MANAGER_DN}"
rootpw {MANAGER_PASSWORD}
directory {directory}/db
maxsize 1073741824
dbnosync
index objectClass eq
index uid,mail,cn eq
index member,memberOf eq
overlay memberof

access to attrs=userPassword
    by self =xw
    by anonymous auth
    by * none
access to *
    by dn.exact="{SERVICE_DN}" read
    by self read
    by * none
"""


def ldif(dataset: Dataset) -> str:
    """The whole tree as LDIF, groups last so the memberof overlay sees their members exist."""
    parts = [
        f"dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\n"
        f"dc: keyhall\no: keyhall\n",
        f"dn: ou=users,{BASE_DN}\nobjectClass: organizationalUnit\nou: users\n",
        f"dn: ou=groups,{BASE_DN}\nobjectClass: organizationalUnit\nou: groups\n",
        f"dn: ou=system,{BASE_DN}\nobjectClass: organizationalUnit\nou: system\n",
        f"dn: {SERVICE_DN}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\n"
        f"cn: admin\nuserPassword: {ssha(SERVICE_PASSWORD)}\n",
    ]
    hashed = ssha(PASSWORD)
    for user in dataset.users():
        parts.append(
            f"dn: uid={user.username},ou=users,{BASE_DN}\n"
            "objectClass: inetOrgPerson\nobjectClass: posixAccount\n"
            f"uid: {user.username}\ncn: {user.display_name}\nsn: {user.family_name}\n"
            f"givenName: {user.given_name}\ndisplayName: {user.display_name}\n"
            f"mail: {user.email}\nuidNumber: {10000 + user.index}\ngidNumber: 10000\n"
            f"homeDirectory: /home/{user.username}\nloginShell: /bin/bash\n"
            f"userPassword: {hashed}\n"
        )
    for index, members in dataset.members().items():
        name = dataset.group_name(index)
        lines = "".join(f"member: uid={u.username},ou=users,{BASE_DN}\n" for u in members)
        parts.append(
            f"dn: cn={name},ou=groups,{BASE_DN}\nobjectClass: groupOfNames\ncn: {name}\n{lines}"
        )
    return "\n".join(parts)


@dataclass
class Slapd:
    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(directory: Path, port: int, dataset: Dataset) -> Slapd:
    (directory / "db").mkdir(parents=True, exist_ok=True)
    conf = directory / "slapd.conf"
    conf.write_text(config(directory))
    log = (directory / "slapd.log").open("wb")
    process = subprocess.Popen(
        [str(SLAPD), "-d", "0", "-f", str(conf), "-h", f"ldap://127.0.0.1:{port}/"],
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
    )
    log.close()
    server = Slapd(port, directory, process)
    try:
        _wait_listening(server)
        entries = directory / "entries.ldif"
        entries.write_text(ldif(dataset))
        manager = ("-D", MANAGER_DN, "-w", MANAGER_PASSWORD)
        subprocess.run(
            [LDAPADD, "-x", "-H", server.url, *manager, "-f", str(entries)],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=600,
        )
    except BaseException:
        server.stop()
        raise
    return server


def _wait_listening(server: Slapd, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            log = (server.directory / "slapd.log").read_text(errors="replace")
            raise RuntimeError(f"slapd exited with {server.process.returncode}: {log[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"slapd not listening after {timeout}s") from None
            time.sleep(0.05)
