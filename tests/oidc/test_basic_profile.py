"""OpenID Connect Basic and Config profiles, replicated from the conformance suite's modules,
against a real `keyhall serve` with Authlib's OAuth client as the relying party."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.support.oidc_rp import Browser, RelyingParty, add_client, add_user, decode, query
from tests.support.server import RunningServer

ServerFactory = Callable[..., RunningServer]
RP_CB = "https://rp.example/cb"


@pytest.fixture
def server(keyhall_server: ServerFactory) -> RunningServer:
    running = keyhall_server()
    add_user(running, "alice", "--name", "Alice Liddell")
    return running


@pytest.fixture
def confidential(server: RunningServer) -> dict[str, Any]:
    return add_client(server, "Conformance RP", "--redirect-uri", RP_CB)


def login(server: RunningServer, rp: RelyingParty, browser: Browser, **params: str) -> str:
    response = browser.follow(browser.get(rp.authorization_url(**params)))
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def test_config_discovery_and_keys(server: RunningServer) -> None:
    first = httpx.get(f"{server.url}/.well-known/openid-configuration")
    second = httpx.get(f"{server.url}/openid/.well-known/openid-configuration")
    assert first.content == second.content
    meta = first.json()
    assert meta["issuer"] == f"{server.url}/openid"
    assert meta["authorization_endpoint"] == f"{server.url}/openid/auth"
    assert meta["userinfo_endpoint"] == f"{server.url}/openid/me"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["response_types_supported"] == ["code"]
    assert set(meta["token_endpoint_auth_methods_supported"]) >= {
        "client_secret_basic",
        "client_secret_post",
        "none",
    }
    assert meta["backchannel_logout_supported"] is True
    assert meta["backchannel_logout_session_supported"] is True
    assert meta["claims_parameter_supported"] is True
    assert meta["authorization_response_iss_parameter_supported"] is True
    keys = httpx.get(meta["jwks_uri"]).json()["keys"]
    assert {k["kty"] for k in keys} == {"RSA", "EC", "OKP"}
    assert len({k["kid"] for k in keys}) == len(keys)
    assert all("d" not in k for k in keys)
    rsa_only = httpx.get(f"{server.url}/openid/jwks_rsaonly").json()["keys"]
    assert rsa_only and {k["kty"] for k in rsa_only} == {"RSA"}


def test_code_flow_tokens_userinfo_and_code_reuse(
    server: RunningServer, confidential: dict[str, Any]
) -> None:
    rp = RelyingParty(server, confidential["client_id"], confidential["client_secret"])
    browser = Browser(server)
    location = login(server, rp, browser, nonce="n-0S6_WzA2Mj")
    params = query(location)
    assert location.startswith(RP_CB + "?")
    assert params["state"] == rp.state
    assert params["iss"] == f"{server.url}/openid"  # RFC 9207

    token = rp.fetch_token(location)
    assert token["token_type"] == "Bearer"
    claims = decode(server, token["id_token"], alg="RS256")
    assert claims["iss"] == f"{server.url}/openid"
    assert claims["aud"] == confidential["client_id"]
    assert claims["sub"] == "alice"
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["name"] == "Alice Liddell"
    assert claims["email"] == "alice@example.com"
    assert claims["email_verified"] is True
    assert claims["locale"] == "en-US"
    assert claims["amr"] == ["pwd"]
    assert {"at_hash", "sid", "auth_time", "exp", "iat"} <= claims.keys()

    me = httpx.get(
        rp.meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["sub"] == "alice" and me.json()["preferred_username"] == "alice"
    posted = httpx.post(rp.meta["userinfo_endpoint"], data={"access_token": token["access_token"]})
    assert posted.json() == me.json()

    # Code reuse: invalid_grant, and what the code issued is revoked (RFC 6749 §4.1.2).
    reuse = rp.token_request(
        grant_type="authorization_code",
        code=query(location)["code"],
        redirect_uri=RP_CB,
        code_verifier=rp.verifier,
    )
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    assert reuse.headers["cache-control"] == "no-store"
    gone = httpx.get(
        rp.meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert gone.status_code == 401
    assert gone.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


def test_refresh_and_introspection(server: RunningServer, confidential: dict[str, Any]) -> None:
    rp = RelyingParty(
        server,
        confidential["client_id"],
        confidential["client_secret"],
        auth_method="client_secret_post",
    )
    token = rp.fetch_token(login(server, rp, Browser(server)))
    assert "refresh_token" in token  # confidential clients get one
    refreshed = rp.token_request(grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    fresh = refreshed.json()
    assert decode(server, fresh["id_token"])["sub"] == "alice"
    assert fresh["access_token"] != token["access_token"]
    intro = httpx.post(
        rp.meta["introspection_endpoint"],
        data={"token": fresh["access_token"]},
        auth=(confidential["client_id"], confidential["client_secret"]),
    ).json()
    assert intro["active"] is True and intro["sub"] == "alice"
    httpx.post(
        rp.meta["revocation_endpoint"],
        data={"token": fresh["access_token"]},
        auth=(confidential["client_id"], confidential["client_secret"]),
    ).raise_for_status()
    after = httpx.post(
        rp.meta["introspection_endpoint"],
        data={"token": fresh["access_token"]},
        auth=(confidential["client_id"], confidential["client_secret"]),
    ).json()
    assert after == {"active": False}


def test_prompt_none_login_max_age_and_post(
    server: RunningServer, confidential: dict[str, Any]
) -> None:
    rp = RelyingParty(server, confidential["client_id"], confidential["client_secret"])
    browser = Browser(server)
    out = browser.get(rp.authorization_url(prompt="none"))
    assert out.status_code == 303
    assert query(out.headers["location"])["error"] == "login_required"
    assert query(out.headers["location"])["state"] == rp.state

    login(server, rp, browser)
    silent = browser.get(rp.authorization_url(prompt="none", unknown_param="ignored"))
    assert silent.status_code == 303 and "code" in query(silent.headers["location"])

    for params in ({"prompt": "login"}, {"max_age": "0"}):
        again = browser.get(rp.authorization_url(**params))
        assert again.headers["location"].startswith("/login?flow=")

    # POST to the authorization endpoint (conformance: oidcc-ensure-post-request-succeeds).
    url = rp.authorization_url()
    posted = browser.post(url.split("?")[0], data=query(url))
    assert posted.status_code == 303 and "code" in query(posted.headers["location"])


def test_redirect_uri_rules_never_redirect_to_unknown(
    server: RunningServer, confidential: dict[str, Any]
) -> None:
    rp = RelyingParty(server, confidential["client_id"], redirect_uri="https://evil.example/cb")
    page = Browser(server).get(rp.authorization_url())
    assert page.status_code == 400 and "location" not in page.headers
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    unknown = Browser(server).get(
        "/openid/auth?client_id=nope&response_type=code&redirect_uri=https://rp.example/cb&scope=openid"
    )
    assert unknown.status_code == 400 and "location" not in unknown.headers
    bad_type = Browser(server).get(
        f"/openid/auth?client_id={confidential['client_id']}&response_type=token&redirect_uri={RP_CB}&scope=openid&state=s1"
    )
    assert query(bad_type.headers["location"]) == {
        "error": "unsupported_response_type",
        "error_description": query(bad_type.headers["location"])["error_description"],
        "state": "s1",
        "iss": f"{server.url}/openid",
    }


def test_public_client_pkce_and_loopback_ports(server: RunningServer) -> None:
    public = add_client(
        server, "Desktop", "--public", "--redirect-uri", "http://127.0.0.1", "--id", "desk"
    )
    assert "client_secret" not in public
    rp = RelyingParty(server, "desk", redirect_uri="http://127.0.0.1:53123/callback")
    page = Browser(server).get(rp.authorization_url())
    assert page.status_code == 400  # path differs from the registration: no match
    rp = RelyingParty(server, "desk", redirect_uri="http://127.0.0.1:53123")
    browser = Browser(server)
    location = login(server, rp, browser)
    assert location.startswith("http://127.0.0.1:53123?code=")
    wrong = rp.token_request(
        grant_type="authorization_code", code=query(location)["code"], redirect_uri="http://127.0.0.1:53123",
        client_id="desk", code_verifier="x" * 50,
    )  # fmt: skip
    assert wrong.json()["error"] == "invalid_grant"
    no_pkce = browser.get(
        "/openid/auth?client_id=desk&response_type=code&scope=openid&state=s&redirect_uri=http://127.0.0.1:4000"
    )
    assert query(no_pkce.headers["location"])["error"] == "invalid_request"
    plain = browser.get(
        "/openid/auth?client_id=desk&response_type=code&scope=openid&redirect_uri=http://127.0.0.1:4000"
        "&code_challenge=" + "a" * 43 + "&code_challenge_method=plain"
    )
    assert query(plain.headers["location"])["error"] == "invalid_request"


def test_basic_auth_credentials_are_form_urlencoded(server: RunningServer) -> None:
    created = add_client(server, "Colon", "--id", "app:one", "--redirect-uri", RP_CB)
    rp = RelyingParty(server, "app:one", created["client_secret"])
    location = login(server, rp, Browser(server))
    # RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
    raw = base64.b64encode(f"app%3Aone:{created['client_secret']}".encode()).decode()
    ok = httpx.post(
        rp.meta["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": query(location)["code"],
            "redirect_uri": RP_CB,
            "code_verifier": rp.verifier,
        },
        headers={"Authorization": f"Basic {raw}"},
    )
    assert ok.status_code == 200, ok.text
    bad = httpx.post(
        rp.meta["token_endpoint"],
        data={"grant_type": "authorization_code", "code": "x"},
        auth=("app:one", "wrong"),
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
