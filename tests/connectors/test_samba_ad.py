"""Active Directory behaviour against a real Samba AD DC (Debian's samba, provisioned here).

Each test works in its own OU of the session's DC and its own Keyhall database.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from tests.support.samba_ad import SambaDC
from tests.support.samba_ad import samba_dc as samba_dc  # a fixture

import ldap
from keyhall.connectors.connector import ExternalDirectory
from keyhall.connectors.ldap_source import LdapSource, LoginOutcome
from keyhall.directory.models import CLI_ACTOR, AuthFailure
from keyhall.directory.service import Directory

PASSWORD = "Sm1th-Passw0rd!"
DISABLED = 514
PAST = int((datetime(2020, 1, 1, tzinfo=UTC) - datetime(1601, 1, 1, tzinfo=UTC)).total_seconds())


@pytest.fixture
def ou(samba_dc: SambaDC, request: pytest.FixtureRequest) -> str:
    return samba_dc.add_ou(f"t-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def ad(local: Directory, samba_dc: SambaDC, ou: str) -> ExternalDirectory:
    ext = ExternalDirectory(local, bytes(32))
    ext.attach()
    ext.set(
        {
            "provider": "ad",
            "url": samba_dc.url,
            "accept_self_signed": "true",
            "bind_dn": samba_dc.bind_dn,
            "bind_password": samba_dc.password,
            "users_base_dn": ou,
            "groups_base_dn": ou,
            "max_deactivate_percent": "100",
            "read_timeout": "30",
            "enabled": "true",
        },
        actor=CLI_ACTOR,
    )
    return ext


def object_guid(dc: SambaDC, dn: str) -> str:
    conn = dc.connect()
    try:
        [(_, entry)] = conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["objectGUID"])
    finally:
        conn.unbind_s()
    return str(uuid.UUID(bytes_le=entry["objectGUID"][0]))


def test_logins_against_samba(
    ad: ExternalDirectory, local: Directory, samba_dc: SambaDC, ou: str
) -> None:
    dn = samba_dc.add_user("jsmith", "John", "Smith", PASSWORD, ou=ou)
    for login in ("jsmith", "CORP\\jsmith", "jsmith@corp.example", "john.smith@corp.example"):
        check = ad.test_login(login, PASSWORD)
        assert check.ok, (login, check.detail)
        assert check.user is not None
        assert check.user.dn.lower() == dn.lower()
        assert check.user.external_id == object_guid(samba_dc, dn)
    assert ad.test_login("jsmith", "Wr0ng-Passw0rd!").outcome is LoginOutcome.BAD_PASSWORD
    assert ad.test_login("*", PASSWORD).outcome is LoginOutcome.UNKNOWN_USER
    result = local.authenticate("CORP\\jsmith", PASSWORD)
    assert result.ok
    assert local.user("jsmith").display_name == "John Smith"
    # AD refuses simple binds without TLS: the status says so.
    ad.set({"url": "ldap://127.0.0.1:389", "accept_self_signed": "false"}, actor=CLI_ACTOR)
    plain = ad.test_login("jsmith", PASSWORD)
    assert plain.outcome is LoginOutcome.UNAVAILABLE
    assert "ldap://127.0.0.1:389" in plain.detail


def test_sync_from_samba(
    ad: ExternalDirectory, local: Directory, samba_dc: SambaDC, ou: str
) -> None:
    users = [
        samba_dc.add_user(sam, given, "Tester", PASSWORD, ou=ou)
        for sam, given in (("ann", "Ann"), ("ben", "Ben"), ("cat", "Cat"), ("dan", "Dan"))
    ]
    samba_dc.add_group("Engineers", users[:3], ou=ou)
    samba_dc.modify(users[2], [(ldap.MOD_REPLACE, "userAccountControl", [str(DISABLED).encode()])])
    samba_dc.modify(
        users[3], [(ldap.MOD_REPLACE, "accountExpires", [str(PAST * 10_000_000).encode()])]
    )
    report = ad.sync(actor=CLI_ACTOR)
    assert (report.status, report.created, report.groups_created) == ("ok", 4, 1), report.errors
    local.refresh()
    assert local.user("ann").can_log_in and local.user("ben").can_log_in
    assert local.user("cat").external_missing  # ACCOUNTDISABLE
    assert local.user("dan").external_missing  # accountExpires in the past
    # AD refuses the bind itself, saying why (data 533) only to the right password.
    assert local.authenticate("cat", PASSWORD).failure is AuthFailure.DISABLED
    assert local.authenticate("cat", "Wr0ng-Passw0rd!").failure is AuthFailure.BAD_PASSWORD
    assert ad.test_login("dan", PASSWORD).detail == "account expired"
    engineers = local.group("engineers")
    names = sorted(local.view.users[u].username for u in local.view.members(engineers.id))
    assert names == ["ann", "ben", "cat"]
    # Re-enabling upstream brings the account back at the next sync.
    samba_dc.modify(users[2], [(ldap.MOD_REPLACE, "userAccountControl", [b"512"])])
    again = ad.sync(actor=CLI_ACTOR)
    assert again.restored == 1
    assert local.authenticate("cat", PASSWORD).ok


def test_ranged_member_retrieval(ad: ExternalDirectory, samba_dc: SambaDC, ou: str) -> None:
    members = [samba_dc.add_user(f"r{i}", f"R{i}", "Ranged", PASSWORD, ou=ou) for i in range(5)]
    group = samba_dc.add_group("Ranged", members, ou=ou)
    # MS-ADTS 3.1.1.3.1.3.3: ask for the values from the third on, as a client continuing a
    # ranged read does; Samba answers under `member;range=2-*`.
    source = LdapSource(ad.config(fresh=True))
    with source.connection() as conn:
        rest, next_start = source.next_range(conn, group, "member", 2)
    assert next_start is None
    assert len(rest) == 3
    assert {m.lower() for m in rest} <= {m.lower() for m in members}
