"""Moving off a real OpenLDAP: its tree exported by slapcat/ldapsearch, imported, logged into.

The original passwords are checked through a running `keyhall serve` (its login page and its
LDAP front), and the stored hash is seen to become argon2id after the first login.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import bcrypt
import httpx
import pytest
from tests.support.server import RunningServer
from tests.support.slapd import Slapd

pytestmark = pytest.mark.slapd

BASE = "dc=example,dc=org"
PASSWORDS = {"alice": "alice ssha pw", "bob": "bob bcrypt pw", "carol": "carol sha512 pw"}


def _tree() -> str:
    ssha = subprocess.run(
        ["/usr/sbin/slappasswd", "-h", "{SSHA}", "-s", PASSWORDS["alice"]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    bcrypted = bcrypt.hashpw(PASSWORDS["bob"].encode(), bcrypt.gensalt(rounds=5)).decode()
    sha512 = subprocess.run(
        ["openssl", "passwd", "-6", "-stdin"],
        input=PASSWORDS["carol"] + "\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    users = [
        ("alice", "Alice Liddell", "Liddell", ssha),
        ("bob", "Bob Builder", "Builder", "{CRYPT}" + bcrypted),
        ("carol", "Carol Ann", "Ann", "{CRYPT}" + sha512),
        ("dave", "Dave Nopass", "Nopass", None),
    ]
    entries = []
    for number, (uid, cn, sn, password) in enumerate(users, 2001):
        entry = (
            f"dn: uid={uid},ou=users,{BASE}\nobjectClass: inetOrgPerson\n"
            f"objectClass: posixAccount\nuid: {uid}\ncn: {cn}\nsn: {sn}\n"
            f"mail: {uid}@example.org\nuidNumber: {number}\ngidNumber: 3000\n"
            f"homeDirectory: /home/{uid}\n"
        )
        if password:
            entry += f"userPassword: {password}\n"
        entries.append(entry)
    entries.append(
        f"dn: cn=staff,ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: staff\n"
        f"description: everyone on staff\n"
        f"member: uid=alice,ou=users,{BASE}\nmember: uid=bob,ou=users,{BASE}\n"
    )
    entries.append(
        f"dn: cn=devs,ou=groups,{BASE}\nobjectClass: posixGroup\ncn: devs\n"
        "gidNumber: 3000\nmemberUid: bob\nmemberUid: carol\n"
    )
    return "\n".join(entries)


def _web_login(server: RunningServer, username: str, password: str) -> int:
    """Sign in through the login page as a browser would; the status of the POST."""
    with httpx.Client(base_url=server.url, follow_redirects=False) as client:
        page = client.get("/login")
        page = client.get(page.headers["location"])
        fields = dict(re.findall(r'name="(flow|csrf_token)" value="([^"]*)"', page.text))
        answer = client.post("/login", data={**fields, "username": username, "password": password})
        return answer.status_code


def _ldap_bind(server: RunningServer, username: str, password: str) -> bool:
    """A simple bind to Keyhall's LDAP front with `ldapwhoami`, as an app would bind."""
    result = subprocess.run(
        ["ldapwhoami", "-x", "-H", f"ldap://127.0.0.1:{server.ldap_port}",
         "-D", f"uid={username},ou=users,dc=keyhall", "-w", password],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )  # fmt: skip
    return result.returncode == 0


def _stored_hashes(server: RunningServer) -> dict[str, str | None]:
    exported = server.cli("export", "--with-hashes").stdout.splitlines()
    users = [json.loads(line) for line in exported if '"type":"user"' in line]
    return {u["username"]: u["password_hash"] for u in users}


@pytest.mark.parametrize("dump", ["slapcat", "ldapsearch"])
def test_openldap_tree_moves_in_with_its_passwords(
    slapd: Callable[..., Slapd],
    keyhall_server: Callable[..., RunningServer],
    tmp_path: Path,
    dump: str,
) -> None:
    ldap = slapd(BASE, ldif=_tree())
    # The hashes are real: OpenLDAP itself accepts them.
    for uid, password in PASSWORDS.items():
        assert ldap.bind_ok(f"uid={uid},ou=users,{BASE}", password)
    text = ldap.slapcat() if dump == "slapcat" else ldap.search("(objectClass=*)", "*", "+")
    assert "{CRYPT}" in text or "userPassword::" in text
    export = tmp_path / "tree.ldif"
    export.write_text(text)

    server = keyhall_server()
    dry = server.cli("import", str(export), "--dry-run")
    assert "would import: users 4 created" in dry.stdout
    assert "skip   ou=users,dc=example,dc=org" in dry.stdout
    result = json.loads(server.cli("import", str(export), "--json").stdout)
    assert result["counts"]["users_create"] == 4 and result["counts"]["groups_create"] == 2
    assert result["counts"]["memberships"] == 4

    groups = {g["name"]: g for g in json.loads(server.cli("group", "list", "--json").stdout)}
    assert groups["staff"]["members"] == ["alice", "bob"]
    assert groups["devs"]["members"] == ["bob", "carol"]
    before = _stored_hashes(server)
    assert before["alice"] is not None and before["alice"].startswith("{SSHA}")
    assert before["bob"] is not None and before["bob"].startswith("{CRYPT}$2b$")
    assert before["dave"] is None

    # Bob binds over LDAP first, the others sign in on the web: both paths take the old hashes.
    assert not _ldap_bind(server, "bob", PASSWORDS["bob"] + "x")
    assert _ldap_bind(server, "bob", PASSWORDS["bob"]), server.logs()
    for uid, password in PASSWORDS.items():
        assert _web_login(server, uid, password + "x") == 401
        assert _web_login(server, uid, password) == 303, server.logs()
    assert _web_login(server, "dave", "") != 303
    after = _stored_hashes(server)
    for uid in PASSWORDS:
        assert (after[uid] or "").startswith("$argon2id$"), after[uid]
        assert _web_login(server, uid, PASSWORDS[uid]) == 303  # and still works afterwards
        assert _ldap_bind(server, uid, PASSWORDS[uid])

    again = server.cli("import", str(export))
    assert "users 0 created, 0 updated, 4 skipped" in again.stdout


def test_bad_files_are_refused_with_their_line(
    keyhall_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    server = keyhall_server()
    bad = tmp_path / "bad.ldif"
    bad.write_text(
        f"dn: uid=eve,ou=users,{BASE}\nobjectClass: inetOrgPerson\nuid: eve\ncn: Eve\nsn: E\n"
        "mail: eve@example.org\nuserPassword: {MD4}c2VjcmV0\n"
    )
    result = server.cli("import", str(bad), check=False)
    assert result.returncode == 1
    assert f"{bad}:1: unknown password hash scheme {{MD4}}" in result.stderr
    assert "nothing was imported" in result.stderr
    assert json.loads(server.cli("user", "list", "--json").stdout) == []
