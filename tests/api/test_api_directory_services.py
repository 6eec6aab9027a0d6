"""`/v1/ldap`, `/v1/settings` and `/v1/external` against a running server (LDAP via python-ldap)."""

from __future__ import annotations

import httpx
from tests.support.admin_api import assert_problem, eventually
from tests.support.admin_web import PASSWORD, browsing_as
from tests.support.server import RunningServer

import ldap


def _bind(server: RunningServer, dn: str, secret: str) -> str:
    """What a real LDAP client gets: `ok`, `invalid` credentials or `down` (refused)."""
    conn = ldap.initialize(f"ldap://127.0.0.1:{server.ldap_port}")
    conn.set_option(ldap.OPT_NETWORK_TIMEOUT, 5)
    try:
        conn.simple_bind_s(dn, secret)
    except ldap.INVALID_CREDENTIALS:
        return "invalid"
    except ldap.SERVER_DOWN:
        return "down"
    finally:
        conn.unbind_s()
    return "ok"


def test_ldap_settings_switch_allowlist_and_secret(
    api: httpx.Client, server: RunningServer
) -> None:
    shown = api.get("/ldap").json()
    dn, secret = shown["bind_dn"], shown["secret"]
    assert dn == "cn=admin,ou=system,dc=keyhall" and shown["enabled"] is True
    assert shown["allowlist"] == ["127.0.0.0/8", "::1/128"]
    assert f"ldap://127.0.0.1:{server.ldap_port}" in shown["urls"]
    assert shown["example"].startswith(f"ldapsearch -x -H ldap://127.0.0.1:{server.ldap_port}")
    assert f'-D "{dn}"' in shown["example"] and '-b "ou=users,dc=keyhall"' in shown["example"]
    assert _bind(server, dn, secret) == "ok"

    off = api.patch("/ldap", json={"enabled": False})
    assert off.status_code == 200 and off.json()["enabled"] is False
    eventually(lambda: _bind(server, dn, secret), "down")
    api.patch("/ldap", json={"enabled": True})
    eventually(lambda: _bind(server, dn, secret), "ok")

    only = api.patch("/ldap", json={"allowlist": ["10.0.0.0/8", "192.168.1.7"]}).json()
    assert only["allowlist"] == ["10.0.0.0/8", "192.168.1.7/32"]
    eventually(lambda: _bind(server, dn, secret), "down")
    api.patch("/ldap", json={"allowlist": ["127.0.0.1", "::1"]})
    eventually(lambda: _bind(server, dn, secret), "ok")

    rotated = api.post("/ldap/secret").json()
    assert rotated["bind_dn"] == dn and rotated["secret"] != secret
    eventually(lambda: _bind(server, dn, secret), "invalid")
    assert _bind(server, dn, rotated["secret"]) == "ok"
    assert api.get("/ldap").json()["secret"] == rotated["secret"]

    assert_problem(api.patch("/ldap", json={"allowlist": ["not-an-ip"]}), 422)
    assert_problem(api.patch("/ldap", json={"enabled": "maybe"}), 422, "enabled")
    assert api.get("/ldap").json()["allowlist"] == ["127.0.0.1/32", "::1/128"]


def test_settings_are_checked_whole(api: httpx.Client, server: RunningServer) -> None:
    shown = api.get("/settings").json()
    assert shown["name"] == "Keyhall" and shown["mandatory_2fa"] is False
    assert api.get("/settings/help").json()["lock_profile"]["type"] == "bool"
    changed = api.patch("/settings", json={"lock_profile": True, "password_min_length": 12})
    assert changed.status_code == 200, changed.text
    assert changed.json()["lock_profile"] is True and changed.json()["password_min_length"] == 12
    cli = server.cli("settings", "show", "--json").stdout
    assert '"lock_profile": true' in cli
    # One bad value: nothing at all is written.
    bad = api.patch("/settings", json={"lock_profile": False, "password_min_length": 0})
    assert_problem(bad, 422, "password_min_length")
    assert_problem(api.patch("/settings", json={"colour": "blue"}), 422, "colour")
    assert_problem(api.patch("/settings", json={}), 422)
    assert api.get("/settings").json()["lock_profile"] is True
    events = api.get("/audit", params={"action": "settings.set"}).json()["items"]
    assert {e["target"] for e in events} >= {"lock_profile", "password_min_length"}
    api.patch("/settings", json={"lock_profile": False, "password_min_length": 8})


def test_mandatory_2fa_from_the_api_signs_out_users_without_one(
    api: httpx.Client, server: RunningServer
) -> None:
    api.post("/users", json={"username": "nofa", "email": "nofa@example.org", "password": PASSWORD})
    with browsing_as(server, "nofa") as nofa:
        assert nofa.get("/account").status_code == 200
        assert api.patch("/settings", json={"mandatory_2fa": True}).status_code == 200
        try:
            eventually(lambda: nofa.get("/account").status_code, 303)
        finally:
            api.patch("/settings", json={"mandatory_2fa": False})


def test_external_directory_settings(api: httpx.Client) -> None:
    shown = api.get("/external").json()
    assert shown["settings"]["enabled"] is False and shown["last_sync"] is None
    assert shown["settings"]["sync_interval"] == 4 * 3600
    changed = api.patch(
        "/external",
        json={"provider": "openldap", "url": "ldap://127.0.0.1:1", "bind_password": "s3cret"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["bind_password"] == "(set)" and "s3cret" not in changed.text
    assert changed.json()["users_filter"]  # the preset filled it in
    assert_problem(api.patch("/external", json={"bind_mode": "sideways"}), 422)
    assert_problem(api.patch("/external", json={"no_such_key": "1"}), 422)
    assert_problem(api.post("/external/sync", json={}), 422)  # not enabled
    assert_problem(api.post("/external/test", json={"username": "a"}), 422, "password")
    assert api.get("/external/runs").json() == []
    events = api.get("/audit", params={"action": "external.settings"}).json()["items"]
    secret_event = next(e for e in events if e["target"] == "bind_password")
    assert secret_event["details"] == {"value": "(set)"}
    api.patch("/external", json={"provider": None, "url": None, "bind_password": ""})


def test_invitation_without_mail_is_503(api: httpx.Client) -> None:
    # This server has no SMTP configured (test_api_users.py sends a real invitation).
    refused = api.post("/users/owner/invitation")
    assert_problem(refused, 503)
    assert refused.json()["type"] == "urn:keyhall:problem:mail_failed"
    assert "not configured" in refused.json()["detail"]
