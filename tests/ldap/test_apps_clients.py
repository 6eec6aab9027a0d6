"""Real clients against a real `keyhall serve`, replaying how apps are configured (issue 4).

python-ldap (libldap) and Debian's `ldapsearch` talk to Keyhall over loopback; each test is
one app's configuration: JetBrains Hub fixed and dynamic bind, Nextcloud, Gitea, Grafana,
Jenkins, SSSD (rfc2307bis), plus TOTP, app passwords and revocation.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ldap.controls import SimplePagedResultsControl
from tests.support.ldap_clients import (
    BASE,
    GROUPS,
    SERVICE_DN,
    USERS,
    bulk_users,
    connect,
    same_instance,
    service,
    service_secret,
    values,
)
from tests.support.server import RunningServer, keyhall_env

import ldap
from keyhall.directory import totp
from keyhall.directory.credentials import Credentials
from keyhall.directory.models import CLI_ACTOR

PW = "correct horse battery"
BULK_USERS = 1100


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir: Path = tmp_path_factory.mktemp("ldap-apps") / "data"
    running = RunningServer(keyhall_env(data_dir))
    running.start()
    with same_instance(running) as inst:
        d = inst.directory
        d.set_setting("argon2_memory_kib", "1024", actor=CLI_ACTOR)
        d.set_setting("argon2_time_cost", "1", actor=CLI_ACTOR)
        # These tests fail binds on purpose; throttling has its own tests.
        d.set_setting("ldap_failed_binds_limit", "100000", actor=CLI_ACTOR)
        d.create_user("owner", "owner@example.com", password=PW, actor=CLI_ACTOR)
        d.create_user("alice", "alice@example.com", display_name="Alice Liddell", password=PW,
                      actor=CLI_ACTOR)  # fmt: skip
        d.create_user("bob", "bob@example.com", password=PW, actor=CLI_ACTOR)
        d.create_group("developers", actor=CLI_ACTOR)
        d.create_group("nextcloud users", actor=CLI_ACTOR)
        d.add_members("developers", ["alice"], actor=CLI_ACTOR)
        d.add_members("nextcloud users", ["alice", "bob"], actor=CLI_ACTOR)
        bulk_users(inst, BULK_USERS)
    wait_for(lambda: _found(running, "(uid=bulk1099)"))
    yield running
    running.stop()


def _found(server: RunningServer, filt: str) -> bool:
    return bool(service(server).search_s(USERS, ldap.SCOPE_ONELEVEL, filt, ["1.1"]))


def wait_for(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def bind_ok(server: RunningServer, dn: str, password: str) -> bool:
    try:
        connect(server.ldap_port).simple_bind_s(dn, password)
    except ldap.INVALID_CREDENTIALS:
        return False
    return True


def test_service_account_lists_users_with_cloudron_filter(server: RunningServer) -> None:
    conn = service(server)
    filt = "(&(objectclass=user)(|(username=alice)(mail=alice)))"
    [(dn, entry)] = conn.search_s(USERS, ldap.SCOPE_SUBTREE, filt)
    assert dn == f"uid=alice,{USERS}"
    assert values(entry, "displayName") == ["Alice Liddell"]
    assert values(entry, "isadmin") == ["0"]
    assert values(entry, "memberOf") == [
        f"cn=developers,{GROUPS}", f"cn=nextcloud users,{GROUPS}", f"cn=users,{GROUPS}"
    ]  # fmt: skip
    assert "entryUUID" not in entry  # operational: only with "+" or by name
    [(_, ops)] = conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["+"])
    assert len(values(ops, "entryUUID")[0]) == 36
    assert conn.whoami_s() == f"dn:{SERVICE_DN}"
    [(_, admins)] = conn.search_s(GROUPS, ldap.SCOPE_ONELEVEL, "(&(objectclass=group)(cn=admins))")
    assert values(admins, "memberUid") == ["owner"]


def test_hub_fixed_bind(server: RunningServer) -> None:
    """Hub 'Fixed': service search `uid=%u`, then bind as the found DN on a new connection."""
    [(dn, _)] = service(server).search_s(BASE, ldap.SCOPE_SUBTREE, "(uid=alice)", ["uid", "mail"])
    assert bind_ok(server, dn, PW)
    assert not bind_ok(server, dn, PW + "x")
    assert not bind_ok(server, f"uid=nobody,{USERS}", PW)


def test_hub_dynamic_bind_reads_own_entry_and_groups(server: RunningServer) -> None:
    conn = connect(server.ldap_port)
    conn.simple_bind_s(f"uid=alice,{USERS}", PW)
    [(dn, entry)] = conn.search_s(
        BASE, ldap.SCOPE_SUBTREE, "(uid=alice)", ["cn", "mail", "memberOf"]
    )
    assert dn == f"uid=alice,{USERS}" and values(entry, "mail") == ["alice@example.com"]
    assert conn.search_s(BASE, ldap.SCOPE_SUBTREE, "(uid=bob)") == []
    groups = conn.search_s(GROUPS, ldap.SCOPE_ONELEVEL, f"(member={dn})", ["cn"])
    assert sorted(values(e, "cn")[0] for _, e in groups) == [
        "developers",
        "nextcloud users",
        "users",
    ]
    with pytest.raises(ldap.NO_SUCH_OBJECT):
        conn.search_s(f"uid=bob,{USERS}", ldap.SCOPE_BASE)
    # Binding by cn= or mail= works too: the value is resolved as a username or email.
    assert bind_ok(server, f"cn=alice,{USERS}", PW)
    assert bind_ok(server, f"mail=alice@example.com,{USERS}", PW)


def test_nextcloud_login_filter_paging_and_uuid(server: RunningServer) -> None:
    conn = service(server)
    login = (
        f"(&(&(|(objectclass=inetOrgPerson))(|(memberof=cn=nextcloud users,{GROUPS})))"
        "(|(uid=bob)(|(mailPrimaryAddress=bob)(mail=bob))))"
    )
    [(dn, _)] = conn.search_s(BASE, ldap.SCOPE_SUBTREE, login, ["dn", "uid"])
    assert dn == f"uid=bob,{USERS}"
    # UUID attribute detection: Nextcloud asks for these by name and keeps the first present.
    [(_, probe)] = conn.search_s(
        dn, ldap.SCOPE_BASE, "(objectclass=*)", ["entryuuid", "nsuniqueid", "objectguid", "guid"]
    )
    assert list(probe) == ["entryUUID"]
    # Paged listing, page size 500 (Nextcloud's default).
    page = SimplePagedResultsControl(True, size=500, cookie="")
    seen: list[str] = []
    pages = 0
    while True:
        mid = conn.search_ext(
            BASE, ldap.SCOPE_SUBTREE, "(objectclass=inetOrgPerson)", ["uid"], serverctrls=[page]
        )
        _, data, _, controls = conn.result3(mid)
        pages += 1
        seen += [values(e, "uid")[0] for _, e in data]
        [response] = [c for c in controls if c.controlType == SimplePagedResultsControl.controlType]
        if not response.cookie:
            break
        page.cookie = response.cookie
    assert pages == 3 and len(seen) == BULK_USERS + 3 == len(set(seen))


def test_gitea_grafana_jenkins(server: RunningServer) -> None:
    conn = service(server)
    # Gitea: user filter with %s substituted, then a bind as the entry.
    gitea = "(&(objectClass=person)(|(uid=alice@example.com)(mail=alice@example.com)))"
    [(dn, _)] = conn.search_s(USERS, ldap.SCOPE_SUBTREE, gitea, ["uid", "givenName", "sn", "mail"])
    assert bind_ok(server, dn, PW)
    # Grafana: (uid=%s), group mapping from memberOf.
    [(_, entry)] = conn.search_s(BASE, ldap.SCOPE_SUBTREE, "(uid=alice)", ["memberOf", "mail"])
    assert f"cn=developers,{GROUPS}" in values(entry, "memberOf")
    # Jenkins: uid={0}; groups by member, uniqueMember or memberUid.
    [(dn, _)] = conn.search_s(BASE, ldap.SCOPE_SUBTREE, "uid=bob")
    jenkins = f"(| (member={dn}) (uniqueMember={dn}) (memberUid=bob))"
    groups = conn.search_s(BASE, ldap.SCOPE_SUBTREE, jenkins, ["cn"])
    assert sorted(values(e, "cn")[0] for _, e in groups) == ["nextcloud users", "users"]


def test_sssd_rfc2307bis(server: RunningServer) -> None:
    conn = service(server)
    user_filter = "(&(uid=alice)(objectclass=posixAccount)(uid=*)(&(uidNumber=*)(!(uidNumber=0))))"
    [(dn, user)] = conn.search_s(USERS, ldap.SCOPE_SUBTREE, user_filter)
    uid_number = int(values(user, "uidNumber")[0])
    assert uid_number >= 10000 and values(user, "homeDirectory") == ["/home/alice"]
    by_number = conn.search_s(
        USERS, ldap.SCOPE_SUBTREE, f"(&(uidNumber={uid_number})(objectclass=posixAccount))"
    )
    assert [d for d, _ in by_number] == [dn]
    group_filter = f"(&(member={dn})(objectClass=posixGroup)(cn=*)(&(gidNumber=*)(!(gidNumber=0))))"
    groups = conn.search_s(GROUPS, ldap.SCOPE_SUBTREE, group_filter, ["cn", "gidNumber"])
    assert sorted(values(e, "cn")[0] for _, e in groups) == [
        "developers",
        "nextcloud users",
        "users",
    ]
    gid = values(user, "gidNumber")[0]
    [(_, primary)] = conn.search_s(
        GROUPS, ldap.SCOPE_SUBTREE, f"(&(objectClass=posixGroup)(gidNumber={gid}))"
    )
    assert values(primary, "cn") == ["users"]


def test_totp_and_app_passwords(server: RunningServer) -> None:
    uri = server.cli("user", "totp-enroll", "bob").stdout.strip()
    secret = uri.split("secret=")[1].split("&")[0]
    app_password = server.cli("user", "app-password", "add", "bob", "nextcloud").stdout.strip()
    dn = f"uid=bob,{USERS}"
    wait_for(lambda: not bind_ok(server, dn, PW))  # the password alone is no longer enough
    code = totp.code_at(secret, _now())
    assert bind_ok(server, f"cn=bob+totptoken={code},{USERS}", PW)
    # The same code can't be used again (RFC 6238 §5.2); the next step's code (one step of
    # clock drift is accepted) can.
    assert not bind_ok(server, dn, PW + code)
    later = totp.code_at(secret, _now() + timedelta(seconds=30))
    assert bind_ok(server, dn, PW + later)
    assert bind_ok(server, dn, app_password)
    assert bind_ok(server, dn, app_password)  # repeat binds (cached) still pass
    server.cli("user", "app-password", "revoke", "bob", "nextcloud")
    wait_for(lambda: not bind_ok(server, dn, app_password), timeout=1.0)


def _now() -> datetime:
    return datetime.now(UTC)


def test_disabling_or_password_change_ends_binds_within_a_second(server: RunningServer) -> None:
    with same_instance(server) as inst:
        inst.directory.create_user("dave", "dave@example.com", password=PW, actor=CLI_ACTOR)
        _, app_password = Credentials(inst.directory, inst.secret_key).add_app_password(
            "dave", "gitea", actor=CLI_ACTOR
        )
        dn = f"uid=dave,{USERS}"
        wait_for(lambda: bind_ok(server, dn, PW))
        assert bind_ok(server, dn, PW) and bind_ok(server, dn, app_password)  # now cached
        inst.directory.set_password("dave", "another long password", actor=CLI_ACTOR)
        wait_for(lambda: not bind_ok(server, dn, PW), timeout=1.0)
        inst.directory.set_active("dave", False, actor=CLI_ACTOR)
        wait_for(lambda: not bind_ok(server, dn, app_password), timeout=1.0)
        assert not bind_ok(server, dn, "another long password")
        inst.directory.set_active("dave", True, actor=CLI_ACTOR)
        wait_for(lambda: bind_ok(server, dn, "another long password"))
        inst.directory.delete_user("dave", actor=CLI_ACTOR)
        wait_for(lambda: not bind_ok(server, dn, "another long password"), timeout=1.0)


def test_protocol_rules(server: RunningServer) -> None:
    conn = connect(server.ldap_port)
    with pytest.raises(ldap.INAPPROPRIATE_AUTH):
        conn.simple_bind_s("", "")
    with pytest.raises(ldap.UNWILLING_TO_PERFORM):
        conn.simple_bind_s(f"uid=alice,{USERS}", "")
    [(_, root)] = conn.search_s("", ldap.SCOPE_BASE, "(objectClass=*)", ["+"])
    assert values(root, "namingContexts") == [BASE]
    assert "1.2.840.113556.1.4.319" in values(root, "supportedControl")
    with pytest.raises(ldap.INSUFFICIENT_ACCESS):
        conn.search_s(USERS, ldap.SCOPE_SUBTREE, "(uid=alice)")
    svc = service(server)
    with pytest.raises(ldap.UNWILLING_TO_PERFORM):
        svc.modify_s(f"uid=alice,{USERS}", [(ldap.MOD_REPLACE, "mail", [b"x@example.com"])])
    with pytest.raises(ldap.UNWILLING_TO_PERFORM):
        svc.delete_s(f"uid=alice,{USERS}")
    with pytest.raises(ldap.NO_SUCH_OBJECT) as err:
        svc.search_s(f"uid=ghost,{USERS}", ldap.SCOPE_BASE)
    assert err.value.args[0]["matched"] == USERS
    with pytest.raises(ldap.NO_SUCH_OBJECT):
        svc.search_s("dc=elsewhere", ldap.SCOPE_SUBTREE)
    assert svc.compare_s(f"cn=developers,{GROUPS}", "member", f"uid=alice,{USERS}".encode())
    assert not svc.compare_s(f"cn=developers,{GROUPS}", "member", f"uid=bob,{USERS}".encode())
    # An unknown critical control is refused; unknown attributes in filters are no error.
    critical = ldap.controls.RequestControl("1.2.3.4.5", True, b"")
    with pytest.raises(ldap.UNAVAILABLE_CRITICAL_EXTENSION):
        svc.search_ext_s(BASE, ldap.SCOPE_SUBTREE, "(uid=alice)", serverctrls=[critical])
    assert svc.search_s(BASE, ldap.SCOPE_SUBTREE, "(nonsense=1)") == []
    with pytest.raises(ldap.SIZELIMIT_EXCEEDED):
        svc.search_ext_s(USERS, ldap.SCOPE_ONELEVEL, "(uid=*)", sizelimit=10)


def test_starttls_and_ldaps_share_the_generated_certificate(tmp_path: Path) -> None:
    from tests.support.net import free_port

    ldaps_port = free_port()
    running = RunningServer(
        keyhall_env(tmp_path / "data", KEYHALL_LDAPS_ADDR=f"127.0.0.1:{ldaps_port}")
    )
    running.start()
    try:
        key = running.data_dir / "tls.key"
        assert key.stat().st_mode & 0o777 == 0o600
        secret = service_secret(running)
        plain = connect(running.ldap_port)
        plain.start_tls_s()
        plain.simple_bind_s(SERVICE_DN, secret)
        assert plain.whoami_s() == f"dn:{SERVICE_DN}"
        secure = connect(ldaps_port, "ldaps")
        secure.simple_bind_s(SERVICE_DN, secret)
        assert secure.search_s(USERS, ldap.SCOPE_ONELEVEL, "(uid=*)") == []
    finally:
        running.stop()


def test_ldapsearch_paged(server: RunningServer) -> None:
    result = subprocess.run(
        [
            "ldapsearch", "-x", "-LLL", "-H", f"ldap://127.0.0.1:{server.ldap_port}",
            "-D", SERVICE_DN, "-w", service_secret(server), "-b", USERS,
            "-E", "pr=500/noprompt", "(objectClass=posixAccount)", "uid",
        ],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    uids = [line for line in result.stdout.splitlines() if line.startswith("uid: ")]
    assert len(uids) >= BULK_USERS + 3
