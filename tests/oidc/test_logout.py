"""RP-Initiated Logout 1.0 and Back-Channel Logout 1.0, and seed 001's "removing a user
revokes access everywhere": logout tokens are received by a real HTTP server in the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
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

ServerFactory = Callable[..., RunningServer]
RP_CB = "https://rp.example/cb"
BYE = "https://rp.example/bye"
EVENT = "http://schemas.openid.net/event/backchannel-logout"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def server(keyhall_server: ServerFactory) -> RunningServer:
    running = keyhall_server()
    add_user(running, "alice")
    add_user(running, "bob")
    return running


def signed_in(
    server: RunningServer, client: dict[str, str], username: str = "alice"
) -> tuple[RelyingParty, Browser, dict[str, str]]:
    rp = RelyingParty(server, client["client_id"], client["client_secret"])
    browser = Browser(server)
    response = browser.follow(browser.get(rp.authorization_url()), username=username)
    return rp, browser, rp.fetch_token(response.headers["location"])


def test_logout_with_hint_redirects_and_sends_logout_token(
    server: RunningServer, receiver: Receiver
) -> None:
    client = add_client(
        server, "RP", "--redirect-uri", RP_CB, "--post-logout-redirect-uri", BYE,
        "--backchannel-logout-uri", receiver.url,
    )  # fmt: skip
    rp, browser, token = signed_in(server, client)
    id_claims = decode(server, token["id_token"])
    end = rp.meta["end_session_endpoint"]
    out = browser.get(
        end,
        params={
            "id_token_hint": token["id_token"],
            "post_logout_redirect_uri": BYE,
            "state": "st8",
        },
    )
    assert out.status_code == 303
    assert out.headers["location"] == f"{BYE}?state=st8"

    logout = decode(server, receiver.next())
    assert logout["iss"] == f"{server.url}/openid"
    assert logout["aud"] == client["client_id"]
    assert logout["sub"] == "alice"
    assert logout["sid"] == id_claims["sid"]
    assert EVENT in logout["events"]
    assert {"iat", "exp", "jti"} <= logout.keys()
    assert "nonce" not in logout

    # The SSO session is gone: prompt=none now answers login_required.
    again = browser.get(rp.authorization_url(prompt="none"))
    assert query(again.headers["location"])["error"] == "login_required"


def test_logout_refuses_bad_hints_and_unregistered_uris(server: RunningServer) -> None:
    client = add_client(server, "RP", "--redirect-uri", RP_CB, "--post-logout-redirect-uri", BYE)
    other = add_client(server, "Other", "--redirect-uri", RP_CB)
    rp, browser, token = signed_in(server, client)
    end = rp.meta["end_session_endpoint"]
    for params in (
        {"id_token_hint": token["id_token"][:-4] + "AAAA", "post_logout_redirect_uri": BYE},
        {"id_token_hint": token["id_token"], "post_logout_redirect_uri": "https://evil.example/"},
        {"id_token_hint": token["id_token"], "client_id": other["client_id"]},
        {"post_logout_redirect_uri": BYE},
    ):
        page = browser.get(end, params=params)
        assert page.status_code == 400 and "location" not in page.headers, params
    # Still signed in after every refused request.
    assert "code" in query(browser.get(rp.authorization_url(prompt="none")).headers["location"])


def test_logout_with_client_id_only_and_unencoded_uri(server: RunningServer) -> None:
    client = add_client(
        server, "Nextcloud", "--redirect-uri", RP_CB, "--post-logout-redirect-uri", BYE
    )
    rp, browser, _ = signed_in(server, client)
    # Nextcloud sends no hint and the post-logout URI unencoded.
    out = browser.get(
        f"{rp.meta['end_session_endpoint']}?client_id={client['client_id']}&post_logout_redirect_uri={BYE}"
    )
    assert out.status_code == 303 and out.headers["location"] == BYE
    assert (
        query(browser.get(rp.authorization_url(prompt="none")).headers["location"])["error"]
        == "login_required"
    )
    # A cookieless server-side GET is tolerated.
    assert (
        httpx.get(f"{rp.meta['end_session_endpoint']}?client_id={client['client_id']}").status_code
        == 200
    )


def test_disabling_a_user_revokes_tokens_and_logs_out(
    server: RunningServer, receiver: Receiver
) -> None:
    client = add_client(
        server, "RP", "--redirect-uri", RP_CB, "--backchannel-logout-uri", receiver.url
    )
    rp, _, token = signed_in(server, client, "bob")
    auth = (client["client_id"], client["client_secret"])
    assert httpx.post(
        rp.meta["introspection_endpoint"], data={"token": token["access_token"]}, auth=auth
    ).json()["active"]
    server.cli("user", "disable", "bob")
    assert httpx.post(
        rp.meta["introspection_endpoint"], data={"token": token["access_token"]}, auth=auth
    ).json() == {"active": False}
    assert httpx.post(
        rp.meta["introspection_endpoint"], data={"token": token["refresh_token"]}, auth=auth
    ).json() == {"active": False}
    logout = decode(server, receiver.next())
    assert logout["sub"] == "bob"
    refresh = rp.token_request(grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert refresh.json()["error"] == "invalid_grant"


def test_deleting_a_user_reaches_clients_holding_only_offline_tokens(
    server: RunningServer, receiver: Receiver
) -> None:
    client = add_client(
        server, "Sync app", "--redirect-uri", RP_CB, "--post-logout-redirect-uri", BYE,
        "--backchannel-logout-uri", receiver.url,
    )  # fmt: skip
    auth = (client["client_id"], client["client_secret"])
    rp = RelyingParty(
        server, client["client_id"], client["client_secret"], scope="openid offline_access"
    )
    browser = Browser(server)
    response = browser.follow(browser.get(rp.authorization_url()), username="bob")
    token = rp.fetch_token(response.headers["location"])
    sid = decode(server, token["id_token"])["sid"]

    # Bob signs out of the browser: the session ends, the offline token lives on.
    out = browser.get(
        rp.meta["end_session_endpoint"],
        params={"id_token_hint": token["id_token"], "post_logout_redirect_uri": BYE},
    )
    assert out.status_code == 303
    assert decode(server, receiver.next())["sid"] == sid
    introspect = rp.meta["introspection_endpoint"]
    assert httpx.post(introspect, data={"token": token["refresh_token"]}, auth=auth).json()[
        "active"
    ]

    # Deleting bob reaches the app through its offline token: `sub`, and the sid it knows.
    server.cli("user", "delete", "bob")
    logout = decode(server, receiver.next())
    assert logout["sub"] == "bob" and logout["sid"] == sid
    assert logout["aud"] == client["client_id"] and "nonce" not in logout
    assert httpx.post(introspect, data={"token": token["refresh_token"]}, auth=auth).json() == {
        "active": False
    }
    refresh = rp.token_request(grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert refresh.json()["error"] == "invalid_grant"
