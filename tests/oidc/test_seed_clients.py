"""The two relying parties the seeds describe, driven the way they drive a provider:
OpenCloud's desktop app (seed 002: public client, any loopback port, `roles` from the access
token and userinfo whatever the scopes) and Nextcloud's user_oidc (seed 003:
client_secret_post, the `claims` parameter, claims read from the ID token, logout with
`client_id` alone, back-channel logout)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from tests.support.net import free_port
from tests.support.oidc_rp import (
    Browser,
    Receiver,
    RelyingParty,
    add_client,
    add_user,
    decode,
    query,
)
from tests.support.server import RunningServer

CLOUD = "https://cloud.example.com"
NC_CB = "https://nc.example/index.php/apps/user_oidc/code"
NC_HOME = "https://nc.example/"


@pytest.fixture(scope="module")
def server(shared_server: RunningServer) -> RunningServer:
    add_user(shared_server, "owner")  # the first account is the owner (an admin)
    add_user(shared_server, "alice", "--name", "Alice Liddell")
    return shared_server


@pytest.fixture(scope="module")
def opencloud(server: RunningServer) -> list[dict[str, Any]]:
    out = server.cli("client", "preset", "opencloud", "--url", CLOUD + "/", "--json")
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_opencloud_preset_creates_seed_002_clients(opencloud: list[dict[str, Any]]) -> None:
    by_id = {c["client_id"]: c for c in opencloud}
    assert by_id["web"]["redirect_uris"] == [
        f"{CLOUD}/",
        f"{CLOUD}/oidc-callback.html",
        f"{CLOUD}/oidc-silent-redirect.html",
    ]
    assert by_id["OpenCloudDesktop"]["redirect_uris"] == ["http://127.0.0.1", "http://localhost"]
    assert by_id["OpenCloudAndroid"]["redirect_uris"] == ["oc://android.opencloud.eu"]
    assert by_id["OpenCloudAndroid"]["post_logout_redirect_uris"] == ["oc://android.opencloud.eu"]
    assert by_id["OpenCloudIOS"]["redirect_uris"] == ["oc://ios.opencloud.eu"]
    assert by_id["OpenCloudIOS"]["post_logout_redirect_uris"] == ["oc://ios.opencloud.eu"]
    assert {c["type"] for c in opencloud} == {"public"}
    assert all("client_secret" not in c for c in opencloud)


def test_opencloud_desktop_flow(server: RunningServer, opencloud: list[dict[str, Any]]) -> None:
    redirect = f"http://127.0.0.1:{free_port()}"  # the app listens on a random loopback port
    rp = RelyingParty(
        server,
        "OpenCloudDesktop",
        redirect_uri=redirect,
        scope="openid offline_access email profile",
    )
    browser = Browser(server)
    response = browser.follow(
        browser.get(rp.authorization_url(prompt="select_account consent")), username="alice"
    )
    location = response.headers["location"]
    assert location.startswith(redirect + "?code=")
    assert query(location)["iss"] == f"{server.url}/openid"
    token = rp.fetch_token(location)
    assert "refresh_token" in token  # offline_access, without any consent screen

    id_claims = decode(server, token["id_token"], alg="RS256")
    access = decode(server, token["access_token"])
    assert access["roles"] == ["opencloudUser"]  # not asked for by any scope
    assert access["sub"] == "alice" and access["client_id"] == "OpenCloudDesktop"
    assert access["aud"] == ["OpenCloudDesktop", f"{server.url}/openid"]
    assert access["sid"] == id_claims["sid"]
    me = httpx.get(
        rp.meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert me.status_code == 200, me.text
    assert me.json()["roles"] == ["opencloudUser"]
    assert me.json()["preferred_username"] == "alice"

    # Public clients' refresh tokens rotate; a replayed one revokes the whole family.
    first = rp.token_request(
        grant_type="refresh_token",
        refresh_token=token["refresh_token"],
        client_id="OpenCloudDesktop",
    )
    assert first.status_code == 200, first.text
    rotated = first.json()
    assert rotated["refresh_token"] != token["refresh_token"]
    assert decode(server, rotated["id_token"])["sid"] == id_claims["sid"]
    replay = rp.token_request(
        grant_type="refresh_token",
        refresh_token=token["refresh_token"],
        client_id="OpenCloudDesktop",
    )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    after = rp.token_request(
        grant_type="refresh_token",
        refresh_token=rotated["refresh_token"],
        client_id="OpenCloudDesktop",
    )
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant"
    revoked = httpx.get(
        rp.meta["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {rotated['access_token']}"},
    )
    assert revoked.status_code == 401


def test_cors_for_public_clients_registered_origins(
    server: RunningServer, opencloud: list[dict[str, Any]]
) -> None:
    token_endpoint = f"{server.url}/openid/token"
    preflight = httpx.options(
        token_endpoint,
        headers={"Origin": CLOUD, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == CLOUD
    refused = httpx.options(
        token_endpoint,
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    answer = httpx.post(token_endpoint, data={"grant_type": "x"}, headers={"Origin": CLOUD})
    assert answer.headers["access-control-allow-origin"] == CLOUD
    other = httpx.post(
        token_endpoint, data={"grant_type": "x"}, headers={"Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in other.headers


def test_nextcloud_user_oidc_flow(server: RunningServer, module_receiver: Receiver) -> None:
    client = add_client(
        server, "Nextcloud", "--redirect-uri", NC_CB, "--post-logout-redirect-uri", NC_HOME,
        "--backchannel-logout-uri", module_receiver.url,
    )  # fmt: skip
    server.cli("client", "set", client["client_id"], "extra_claims=quota", "quota=5 GB")
    rp = RelyingParty(
        server,
        client["client_id"],
        client["client_secret"],
        redirect_uri=NC_CB,
        scope="openid email profile",
        auth_method="client_secret_post",
    )
    # user_oidc asks for its default claims by name with the `claims` parameter.
    wanted = {"quota": None, "name": None, "email": None, "groups": None}
    browser = Browser(server)
    response = browser.follow(
        browser.get(
            rp.authorization_url(
                nonce="nc-nonce", claims=json.dumps({"id_token": wanted, "userinfo": wanted})
            )
        ),
        username="alice",
    )
    token = rp.fetch_token(response.headers["location"])
    # Nextcloud reads every attribute from the ID token.
    claims = decode(server, token["id_token"])
    assert claims["sub"] == "alice" and claims["nonce"] == "nc-nonce"
    assert claims["name"] == "Alice Liddell"
    assert claims["email"] == "alice@example.com"
    assert claims["quota"] == "5 GB"
    assert claims["groups"] == ["users"]  # asked for by the claims parameter, not by scope

    # Logout as user_oidc does it: client_id only and an unencoded post_logout_redirect_uri.
    out = browser.get(
        f"{rp.meta['end_session_endpoint']}?client_id={client['client_id']}"
        f"&post_logout_redirect_uri={NC_HOME}"
    )
    assert out.status_code == 303 and out.headers["location"] == NC_HOME
    logout = decode(server, module_receiver.next())
    assert logout["aud"] == client["client_id"]
    assert logout["sub"] == "alice" and logout["sid"] == claims["sid"]
    assert "http://schemas.openid.net/event/backchannel-logout" in logout["events"]
    again = browser.get(rp.authorization_url(prompt="none"))
    assert query(again.headers["location"])["error"] == "login_required"
