"""Per-client settings and the authorization request's optional parameters, through real flows:
RFC 9068 JWT access tokens, ES256/EdDSA ID tokens, extra claims, allowed groups, the `claims`
parameter, `login_hint`, `max_age`/`auth_time`, `prompt=login`, form_post, the consent screen,
key rotation as a relying party sees it, and the endpoint table admins paste into apps."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import time
from typing import Any

import httpx
import pytest
from tests.support.oidc_rp import Browser, RelyingParty, add_client, add_user, decode, query
from tests.support.server import RunningServer

CB = "https://rp.example/cb"


@pytest.fixture(scope="module")
def server(shared_server: RunningServer) -> RunningServer:
    add_user(shared_server, "boss")  # the first account is the owner, an admin
    shared_server.cli("group", "add", "staff")
    add_user(shared_server, "carol", "--name", "Carol Ann", "--group", "staff")
    add_user(shared_server, "dave")
    return shared_server


def client(server: RunningServer, *settings: str) -> dict[str, Any]:
    created = add_client(server, "RP", "--redirect-uri", CB)
    if settings:
        server.cli("client", "set", created["client_id"], *settings)
    return created


def rp_for(server: RunningServer, created: dict[str, Any], **kwargs: Any) -> RelyingParty:
    return RelyingParty(server, created["client_id"], created["client_secret"], **kwargs)


def sign_in(
    rp: RelyingParty, browser: Browser, username: str = "carol", **params: str
) -> dict[str, Any]:
    response = browser.follow(browser.get(rp.authorization_url(**params)), username=username)
    assert response.status_code == 303, response.text
    return rp.fetch_token(response.headers["location"])


def header(token: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))  # type: ignore[no-any-return]


def half_hash(value: str, hash_name: str) -> str:
    digest = hashlib.new(hash_name, value.encode()).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def test_jwt_access_token_rfc_9068(server: RunningServer) -> None:
    created = client(server, "access_token_format=jwt", "extra_claims=is_admin,roles")
    rp = rp_for(server, created, scope="openid profile")
    token = sign_in(rp, Browser(server))
    assert header(token["access_token"])["typ"] == "at+jwt"
    claims = decode(server, token["access_token"], alg="RS256")
    id_claims = decode(server, token["id_token"])
    issuer = f"{server.url}/openid"
    assert claims["iss"] == issuer and claims["sub"] == "carol"
    assert claims["aud"] == [created["client_id"], issuer]
    assert claims["client_id"] == created["client_id"]
    assert claims["scope"] == "openid profile"
    assert claims["sid"] == id_claims["sid"]
    assert claims["exp"] > time.time() and len(claims["jti"]) >= 16
    assert claims["is_admin"] is False and claims["roles"] == ["opencloudUser"]
    me = httpx.get(
        rp.meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert me.status_code == 200 and me.json()["is_admin"] is False


@pytest.mark.parametrize(("alg", "hash_name"), [("ES256", "sha256"), ("EdDSA", "sha512")])
def test_id_token_signing_algorithms(server: RunningServer, alg: str, hash_name: str) -> None:
    rp = rp_for(server, client(server, f"signing_alg={alg}"))
    token = sign_in(rp, Browser(server), nonce="n1")
    head = header(token["id_token"])
    assert head["alg"] == alg
    jwks = httpx.get(rp.meta["jwks_uri"]).json()["keys"]
    assert head["kid"] in {k["kid"] for k in jwks if k["alg"] == alg}
    claims = decode(server, token["id_token"], alg=alg)
    assert claims["nonce"] == "n1"
    assert claims["at_hash"] == half_hash(token["access_token"], hash_name)
    assert alg in rp.meta["id_token_signing_alg_values_supported"]


def test_groups_always_present_and_extra_claims(server: RunningServer) -> None:
    created = client(server, "extra_claims=is_admin")
    rp = rp_for(server, created, scope="openid groups")
    carol = decode(server, sign_in(rp, Browser(server))["id_token"])
    assert carol["groups"] == ["users", "staff"] and carol["is_admin"] is False
    boss = decode(server, sign_in(rp, Browser(server), "boss")["id_token"])
    assert boss["groups"] == ["admins", "users"] and boss["is_admin"] is True
    plain = rp_for(server, client(server), scope="openid")
    dave = decode(server, sign_in(plain, Browser(server), "dave")["id_token"])
    assert "groups" not in dave and "email" not in dave  # scope claims only when asked


def test_allowed_groups_refuse_others_with_access_denied(server: RunningServer) -> None:
    rp = rp_for(server, client(server, "allowed_groups=staff"))
    assert sign_in(rp, Browser(server), "carol")["access_token"]
    browser = Browser(server)
    refused = browser.follow(browser.get(rp.authorization_url()), username="dave")
    params = query(refused.headers["location"])
    assert params["error"] == "access_denied"
    assert params["state"] == rp.state and params["iss"] == f"{server.url}/openid"
    assert "code" not in params


def test_claims_parameter_splits_id_token_and_userinfo(server: RunningServer) -> None:
    rp = rp_for(server, client(server), scope="openid")
    request = {"id_token": {"name": None}, "userinfo": {"email": {"essential": True}}}
    token = sign_in(rp, Browser(server), claims=json.dumps(request))
    claims = decode(server, token["id_token"])
    assert claims["name"] == "Carol Ann" and "email" not in claims
    me = httpx.get(
        rp.meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"}
    ).json()
    assert me["email"] == "carol@example.com" and "name" not in me
    bad = Browser(server).get(rp.authorization_url(claims="{not json"))
    assert query(bad.headers["location"])["error"] == "invalid_request"


def test_login_hint_max_age_and_prompt_login(server: RunningServer) -> None:
    rp = rp_for(server, client(server))
    browser = Browser(server)
    to_login = browser.get(rp.authorization_url(login_hint="carol"))
    page = browser.get(to_login.headers["location"])
    assert re.search(r'name="username" value="carol"', page.text)

    first = sign_in(rp, browser)
    first_claims = decode(server, first["id_token"])
    # max_age still satisfied: no login page, and auth_time is the original sign-in's.
    again = sign_in(rp, browser, max_age="3600")
    assert decode(server, again["id_token"])["auth_time"] == first_claims["auth_time"]
    time.sleep(1.1)
    # prompt=login: a fresh sign-in replaces the session; the same user keeps its sid.
    fresh = decode(server, sign_in(rp, browser, prompt="login")["id_token"])
    assert fresh["auth_time"] > first_claims["auth_time"]
    assert fresh["sid"] == first_claims["sid"]
    silent = browser.get(rp.authorization_url(prompt="none"))
    token = rp.fetch_token(silent.headers["location"])
    assert decode(server, token["id_token"])["auth_time"] == fresh["auth_time"]

    # Another account signing in ends the old session and the tokens bound to it.
    other = decode(server, sign_in(rp, browser, "dave", prompt="login")["id_token"])
    assert other["sub"] == "dave" and other["sid"] != first_claims["sid"]
    intro = httpx.post(
        rp.meta["introspection_endpoint"],
        data={"token": first["access_token"]},
        auth=(rp.client.client_id, rp.client.client_secret),
    ).json()
    assert intro == {"active": False}


def test_response_mode_form_post(server: RunningServer) -> None:
    rp = rp_for(server, client(server))
    browser = Browser(server)
    page = browser.follow(
        browser.get(rp.authorization_url(response_mode="form_post")), username="carol"
    )
    assert page.status_code == 200
    assert f'action="{CB}"' in page.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    assert fields["state"] == rp.state and fields["iss"] == f"{server.url}/openid"
    csp = page.headers["content-security-policy"]
    assert "form-action https://rp.example" in csp and "'unsafe-inline'" not in csp
    nonce = re.search(r'<script nonce="([^"]+)"', page.text)
    assert nonce is not None and f"'nonce-{nonce.group(1)}'" in csp
    token = rp.fetch_token(f"{CB}?code={html.unescape(fields['code'])}&state={rp.state}")
    assert decode(server, token["id_token"])["sub"] == "carol"


def test_consent_screen_per_client(server: RunningServer) -> None:
    rp = rp_for(server, client(server, "consent=true"))
    browser = Browser(server)
    page = browser.follow(browser.get(rp.authorization_url()), username="carol")
    assert page.status_code == 200 and 'value="deny"' in page.text
    form = dict(re.findall(r'name="(flow|csrf_token)" value="([^"]+)"', page.text))
    forged = browser.post(
        "/openid/auth/consent", data={**form, "csrf_token": "x", "decision": "allow"}
    )
    assert forged.status_code == 403
    denied = browser.post("/openid/auth/consent", data={**form, "decision": "deny"})
    assert query(denied.headers["location"])["error"] == "access_denied"

    page = browser.follow(browser.get(rp.authorization_url()))
    form = dict(re.findall(r'name="(flow|csrf_token)" value="([^"]+)"', page.text))
    allowed = browser.post("/openid/auth/consent", data={**form, "decision": "allow"})
    assert "code" in query(allowed.headers["location"])
    # Granted once: no screen the next time, unless prompt=consent asks for it.
    assert "code" in query(browser.get(rp.authorization_url()).headers["location"])
    asked = browser.follow(browser.get(rp.authorization_url(prompt="consent")))
    assert asked.status_code == 200 and 'value="allow"' in asked.text
    none = browser.get(rp.authorization_url(prompt="none"))
    assert "code" in query(none.headers["location"])


def test_key_rotation_seen_by_a_relying_party(server: RunningServer) -> None:
    rp = rp_for(server, client(server))
    before = decode(server, (old := sign_in(rp, Browser(server)))["id_token"])
    keys = json.loads(server.cli("keys", "list", "--json").stdout)
    rsa = {k["state"]: k["kid"] for k in keys if k["alg"] == "RS256"}
    published = {k["kid"] for k in httpx.get(rp.meta["jwks_uri"]).json()["keys"]}
    assert rsa["next"] in published  # published before it signs anything
    assert header(old["id_token"])["kid"] == rsa["current"]

    server.cli("keys", "rotate")
    deadline = time.monotonic() + 30
    while True:  # every node picks up rotated keys within its reload interval
        token = sign_in(rp, Browser(server))
        if header(token["id_token"])["kid"] == rsa["next"] or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert header(token["id_token"])["kid"] == rsa["next"]
    jwks = httpx.get(rp.meta["jwks_uri"]).json()["keys"]
    assert rsa["current"] in {k["kid"] for k in jwks}  # the retired key stays published
    assert decode(server, old["id_token"])["sid"] == before["sid"]


def test_client_show_prints_the_endpoint_table(server: RunningServer) -> None:
    created = client(server)
    server.cli("settings", "set", "name", "Example Cloud")
    shown = server.cli("client", "show", created["client_id"]).stdout
    assert re.search(r"Provider name:\s+Example Cloud", shown)
    assert re.search(rf"Issuer URL:\s+{re.escape(server.url)}/openid\n", shown)
    assert f"{server.url}/.well-known/openid-configuration" in shown
    data = json.loads(server.cli("client", "show", created["client_id"], "--json").stdout)
    assert data["endpoints"]["Provider name"] == "Example Cloud"
    assert "client_secret" not in data
