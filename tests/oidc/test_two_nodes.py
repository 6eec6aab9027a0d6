"""Two `keyhall serve` nodes sharing one PostgreSQL database and one instance secret: every piece
of flow state is in the database, so any step of a flow can land on either node."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

import httpx
import pytest
from tests.support.oidc_rp import (
    PASSWORD,
    Browser,
    RelyingParty,
    add_client,
    add_user,
    decode,
    query,
)
from tests.support.server import RunningServer

pytestmark = pytest.mark.postgres

ServerFactory = Callable[..., RunningServer]
CB = "https://rp.example/cb"


def test_flow_across_two_nodes(keyhall_server: ServerFactory, pg_url: str) -> None:
    secret = secrets.token_hex(32)
    a = keyhall_server(KEYHALL_DATABASE_URL=pg_url, KEYHALL_SECRET_KEY=secret)
    # Both nodes sit behind one public URL, as behind a load balancer; B is reached directly.
    b = keyhall_server(
        KEYHALL_DATABASE_URL=pg_url, KEYHALL_SECRET_KEY=secret, KEYHALL_PUBLIC_URL=a.url
    )
    b_url = f"http://{b.http_addr}"
    add_user(a, "alice")
    client = add_client(b, "RP", "--redirect-uri", CB)  # registered through the other node
    auth = (client["client_id"], client["client_secret"])
    rp = RelyingParty(a, client["client_id"], client["client_secret"])
    assert httpx.get(f"{b_url}/.well-known/openid-configuration").json() == rp.meta

    # The login starts on A, its page is served and submitted on B, and it resumes on A.
    browser = Browser(a)  # one cookie jar for both: cookies are not bound to ports
    to_login = browser.get(rp.authorization_url(nonce="two-nodes"))
    login_path = to_login.headers["location"]
    assert login_path.startswith("/login?flow=")
    page = browser.get(b_url + login_path)
    fields = dict(re.findall(r'name="(flow|csrf_token)" value="([^"]+)"', page.text))
    submitted = browser.post(
        b_url + "/login", data={**fields, "username": "alice", "password": PASSWORD}
    )
    assert submitted.status_code == 303, submitted.text
    resumed = browser.get(submitted.headers["location"])
    location = resumed.headers["location"]
    assert location.startswith(CB + "?code=")

    # The code is exchanged on B; B signs with the same keys A publishes.
    code = query(location)["code"]
    grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": CB}
    exchanged = httpx.post(
        f"{b_url}/openid/token", data={**grant, "code_verifier": rp.verifier}, auth=auth
    )
    assert exchanged.status_code == 200, exchanged.text
    token = exchanged.json()
    claims = decode(a, token["id_token"])
    assert claims["sub"] == "alice" and claims["nonce"] == "two-nodes"
    assert claims["iss"] == f"{a.url}/openid"

    # The refresh goes to A, the userinfo call to B, a replayed code to A.
    refreshed = rp.token_request(grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    me = httpx.get(
        f"{b_url}/openid/me",
        headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"},
    )
    assert me.status_code == 200 and me.json()["sub"] == "alice"
    replay = rp.token_request(**grant, code_verifier=rp.verifier)
    assert replay.json()["error"] == "invalid_grant"

    # The SSO session made through B lets A answer prompt=none.
    silent = browser.get(rp.authorization_url(prompt="none"))
    assert "code" in query(silent.headers["location"])
