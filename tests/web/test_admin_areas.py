"""Dashboard groups, OIDC clients, LDAP server, external directory, settings and audit log
over HTTP, following the pages' own forms."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from tests.support.admin_api import eventually, serve_module
from tests.support.admin_web import browsing_as, form, submit
from tests.support.server import RunningServer

import ldap


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningServer, httpx.Client]]:
    yield from serve_module(tmp_path_factory.mktemp("areas"))


@pytest.fixture
def server(served: tuple[RunningServer, httpx.Client]) -> RunningServer:
    return served[0]


@pytest.fixture
def api(served: tuple[RunningServer, httpx.Client]) -> httpx.Client:
    return served[1]


@pytest.fixture
def owner(server: RunningServer) -> Iterator[httpx.Client]:
    with browsing_as(server, "owner") as client:
        yield client


def _copy_values(html: str) -> list[str]:
    return re.findall(r'data-copy="([^"]*)"', html)


def test_groups_and_members(owner: httpx.Client, api: httpx.Client) -> None:
    for name in ("gus", "gil"):
        api.post("/users", json={"username": name, "email": f"{name}@example.org"})
    made = submit(owner, "/admin/groups", "/admin/groups", name="Ops", description="On call")
    assert made.headers["location"] == "/admin/groups/ops?done=group_created"
    page = "/admin/groups/ops"
    assert submit(owner, page, f"{page}/members", usernames="gus, gil").status_code == 303
    assert api.get("/groups/ops").json()["members"] == ["gil", "gus"]
    assert submit(owner, page, f"{page}/members/remove", username="gil").status_code == 303
    assert api.get("/groups/ops").json()["members"] == ["gus"]
    unknown = submit(owner, page, f"{page}/members", usernames="nobody")
    assert unknown.status_code == 404 and "no user named" in unknown.text
    listed = owner.get("/admin/groups").text
    assert 'href="/admin/groups/ops"' in listed and "On call" in listed
    assert submit(owner, page, f"{page}/delete").status_code == 303
    assert owner.get(page).status_code == 404
    # Names with spaces travel quoted in links, form actions and redirects.
    spaced = submit(owner, "/admin/groups", "/admin/groups", name="Night Shift")
    assert spaced.headers["location"] == "/admin/groups/night%20shift?done=group_created"
    quoted = "/admin/groups/night%20shift"
    assert f'href="{quoted}"' in owner.get("/admin/groups").text
    assert submit(owner, quoted, f"{quoted}/members", usernames="gus").status_code == 303
    assert api.get("/groups/night shift").json()["members"] == ["gus"]


def test_oidc_client_created_with_secret_once_and_endpoint_table(
    owner: httpx.Client, server: RunningServer, api: httpx.Client
) -> None:
    created = submit(
        owner,
        "/admin/clients",
        "/admin/clients",
        name="Gitea",
        redirect_uris="https://git.example/cb\nhttps://git.example/cb2",
    )
    assert created.status_code == 200, created.text
    assert "shown only this once" in created.text
    values = _copy_values(created.text)
    client_id, secret = values[0], values[1]
    assert api.get(f"/clients/{client_id}").json()["redirect_uris"] == [
        "https://git.example/cb",
        "https://git.example/cb2",
    ]
    issuer = f"{server.url}/openid"
    for row, value in [
        ("Provider name", "Keyhall"),
        ("Discovery URL", f"{server.url}/.well-known/openid-configuration"),
        ("Issuer URL", issuer),
        ("Auth URL", f"{issuer}/auth"),
        ("Token URL", f"{issuer}/token"),
        ("Keys URL", f"{issuer}/jwks"),
        ("Keys URL (RSA only)", f"{issuer}/jwks_rsaonly"),
        ("Profile URL", f"{issuer}/me"),
    ]:
        assert f"<th>{row}</th><td><code>{value}</code>" in created.text, row
    shown = owner.get(f"/admin/clients/{client_id}")
    assert secret not in shown.text and "stored hashed" in shown.text
    # The secret works at the token endpoint's client authentication.
    introspect = httpx.post(
        f"{issuer}/token/introspection", data={"token": "x"}, auth=(client_id, secret)
    )
    assert introspect.status_code == 200

    page = f"/admin/clients/{client_id}"
    saved = submit(
        owner,
        page,
        page,
        signing_alg="ES256",
        access_token_format="jwt",
        extra_claims="is_admin",
        allowed_groups="staff",
        consent="on",
        access_token_lifetime="900",
    )
    assert saved.status_code == 303, saved.text
    settings = api.get(f"/clients/{client_id}").json()["settings"]
    assert settings["signing_alg"] == "ES256" and settings["extra_claims"] == ["is_admin"]
    assert settings["consent"] is True and settings["access_token_lifetime"] == 900
    bad = submit(owner, page, page, signing_alg="HS256")
    assert bad.status_code == 422 and "signing_alg" in bad.text
    rotated = submit(owner, page, f"{page}/secret")
    new_secret = _copy_values(rotated.text)[1]
    assert new_secret != secret and "shown only this once" in rotated.text
    eventually(
        lambda: (
            httpx.post(
                f"{issuer}/token/introspection", data={"token": "x"}, auth=(client_id, secret)
            ).status_code
        ),
        401,
    )
    assert submit(owner, page, f"{page}/delete").status_code == 303
    assert api.get(f"/clients/{client_id}").status_code == 404


def test_predefined_id_public_client_and_preset(owner: httpx.Client, api: httpx.Client) -> None:
    made = submit(
        owner,
        "/admin/clients",
        "/admin/clients",
        name="Native",
        client_id="native-app",
        public="on",
        redirect_uris="http://127.0.0.1/callback",
    )
    assert "none (public client: use PKCE)" in made.text
    assert api.get("/clients/native-app").json()["type"] == "public"
    dup = submit(
        owner,
        "/admin/clients",
        "/admin/clients",
        name="Again",
        client_id="native-app",
        redirect_uris="https://x.example/",
    )
    assert dup.status_code == 409 and "already exists" in dup.text
    preset = submit(
        owner, "/admin/clients", "/admin/client-presets", url="https://cloud.example.com"
    )
    assert preset.status_code == 303
    listed = owner.get("/admin/clients").text
    for client_id in ("web", "OpenCloudDesktop", "OpenCloudAndroid", "OpenCloudIOS"):
        assert f"<code>{client_id}</code>" in listed


def _bind(server: RunningServer, dn: str, secret: str) -> str:
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


def test_ldap_server_page(owner: httpx.Client, server: RunningServer) -> None:
    page = owner.get("/admin/ldap").text
    dn = "cn=admin,ou=system,dc=keyhall"
    values = _copy_values(page)
    secret = values[values.index(dn) + 1]
    assert f"ldapsearch -x -H ldap://127.0.0.1:{server.ldap_port} -D &#34;{dn}&#34; -W" in page
    assert _bind(server, dn, secret) == "ok"
    fields = form(page, "/admin/ldap").fields
    assert fields["enabled"] == "on" and fields["allowlist"] == "127.0.0.0/8\n::1/128"
    off = {k: v for k, v in fields.items() if k != "enabled"}
    assert owner.post("/admin/ldap", data=off).status_code == 303
    eventually(lambda: _bind(server, dn, secret), "down")
    assert submit(owner, "/admin/ldap", "/admin/ldap", enabled="on").status_code == 303
    eventually(lambda: _bind(server, dn, secret), "ok")
    bad = submit(owner, "/admin/ldap", "/admin/ldap", allowlist="10.0.0.0/8\nnonsense")
    assert bad.status_code == 422 and "nonsense" in bad.text
    rotated = submit(owner, "/admin/ldap", "/admin/ldap/secret")
    new_values = _copy_values(rotated.text)
    new_secret = new_values[new_values.index(dn) + 1]
    assert new_secret != secret and "New secret" in rotated.text
    eventually(lambda: _bind(server, dn, secret), "invalid")
    assert _bind(server, dn, new_secret) == "ok"


def test_external_directory_page(owner: httpx.Client, api: httpx.Client) -> None:
    page = owner.get("/admin/external").text
    assert "Never synced." in page
    fields = form(page, "/admin/external").fields
    assert fields["sync_interval"] == "14400" and "bind_password" in fields
    saved = submit(
        owner,
        "/admin/external",
        "/admin/external",
        provider="openldap",
        url="ldap://127.0.0.1:9",
        bind_password="hunter2-but-longer",
    )
    assert saved.status_code == 303, saved.text
    shown = api.get("/external").json()["settings"]
    assert shown["provider"] == "openldap" and shown["bind_password"] == "(set)"
    page = owner.get("/admin/external").text
    assert "hunter2" not in page
    # Only what changed is written: one audit event per changed key.
    events = api.get("/audit", params={"action": "external.settings"}).json()["items"]
    assert sorted(e["target"] for e in events) == ["bind_password", "provider", "url"]
    not_enabled = submit(owner, "/admin/external", "/admin/external/sync")
    assert not_enabled.status_code == 422 and "not enabled" in not_enabled.text
    bad = submit(owner, "/admin/external", "/admin/external", connect_timeout="soon")
    assert bad.status_code == 422


def test_settings_page(owner: httpx.Client, api: httpx.Client) -> None:
    fields = form(owner.get("/admin/settings").text, "/admin/settings").fields
    assert fields["name"] == "Keyhall" and "lock_profile" not in fields
    saved = submit(owner, "/admin/settings", "/admin/settings", name="Acme", lock_profile="on")
    assert saved.status_code == 303
    assert api.get("/settings").json()["name"] == "Acme"
    page = owner.get("/admin").text
    assert "<title>Dashboard · Acme</title>" in page and "Lock profile</a></th><td>on" in page
    bad = submit(owner, "/admin/settings", "/admin/settings", password_min_length="0")
    assert bad.status_code == 422 and "at least 1" in bad.text
    assert api.get("/settings").json()["password_min_length"] == 8
    events = api.get("/audit", params={"action": "settings.set", "by": "user:owner"}).json()
    changed = {e["target"] for e in events["items"]}
    assert {"lock_profile", "name"} <= changed and "password_min_length" not in changed
    submit(owner, "/admin/settings", "/admin/settings", name="Keyhall", lock_profile="")


def test_audit_log_filters(owner: httpx.Client, api: httpx.Client) -> None:
    for name in ("aud1", "aud2"):
        submit(owner, "/admin/groups", "/admin/groups", name=name)
    page = owner.get("/admin/audit", params={"action": "group.create", "actor": "user:owner"})
    rows = re.findall(r"<td>group\.create</td>\s*<td>(aud\d)</td>", page.text)
    assert rows == ["aud2", "aud1"]
    one = owner.get("/admin/audit", params={"target": "aud1"}).text
    assert "1 event<" in one
    future = owner.get("/admin/audit", params={"since": "2999-01-01T00:00"}).text
    assert "No events match." in future
    bad = owner.get("/admin/audit", params={"until": "soon"})
    assert bad.status_code == 200 and "not a date and time" in bad.text
