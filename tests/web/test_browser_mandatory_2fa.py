"""Seed 000's mandatory 2FA: turning it on signs out at once every user without a second
factor (their apps get back-channel logout), and their next sign-in makes them set one up
before any app sees them. Users with a second factor stay signed in."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser
from tests.support.accounts import (
    PASSWORD,
    LogoutReceiver,
    add_user,
    current_code,
    new_page,
    next_code,
    screenshot,
    sign_in,
)
from tests.support.oidc_rp import RelyingParty, add_client, decode
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser
ServerFactory = Callable[..., RunningServer]


def test_mandatory_2fa_signs_out_users_without_it_and_forces_enrolment(
    keyhall_server: ServerFactory, chromium: Browser, receiver: LogoutReceiver
) -> None:
    server = keyhall_server()
    add_user(server, "alice")
    add_user(server, "bob")
    uri = server.cli("user", "totp-enroll", "alice").stdout.strip()
    alice_secret = parse_qs(urlsplit(uri).query)["secret"][0]
    client = add_client(
        server, "app", "--redirect-uri", receiver.callback,
        "--backchannel-logout-uri", receiver.url,
    )  # fmt: skip

    # bob (no second factor) signs in to the app; alice signs in with her code.
    bob_context, bob = new_page(chromium)
    rp = RelyingParty(
        server, client["client_id"], client["client_secret"], redirect_uri=receiver.callback
    )
    bob.goto(rp.authorization_url())
    bob.fill("#username", "bob")
    bob.fill("#password", PASSWORD)
    bob.click("button[type=submit]")
    bob.wait_for_url(f"{receiver.callback}?*")
    bob_tokens = rp.fetch_token(bob.url)
    bob_sid = decode(server, bob_tokens["id_token"])["sid"]
    alice_context, alice = new_page(chromium)
    sign_in(alice, server, "alice")
    alice.fill("#code", current_code(alice_secret))
    alice.click("#totp-form button[type=submit]")
    alice.wait_for_url("**/account")

    server.cli("settings", "set", "mandatory_2fa", "true")

    logout = decode(server, receiver.next())
    assert (logout["sub"], logout["sid"], logout["aud"]) == ("bob", bob_sid, client["client_id"])
    bob.goto(f"{server.url}/account")
    assert "/login?flow=" in bob.url
    refreshed = rp.token_request(
        grant_type="refresh_token", refresh_token=bob_tokens["refresh_token"]
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    alice.goto(f"{server.url}/account")
    assert alice.url.endswith("/account")

    # bob's next sign-in: set up an authenticator first, then on to the app.
    rp = RelyingParty(
        server, client["client_id"], client["client_secret"], redirect_uri=receiver.callback
    )
    bob.goto(rp.authorization_url())
    bob.fill("#username", "bob")
    bob.fill("#password", PASSWORD)
    bob.click("button[type=submit]")
    assert "/login/enrol?flow=" in bob.url
    screenshot(bob, "login-enrol-required")
    secret = bob.inner_text("#totp-secret").strip()
    bob.fill("#code", "123456" if current_code(secret) != "123456" else "654321")
    bob.click("button[type=submit]")
    assert "not right" in bob.inner_text("#enrol-error")
    assert bob.inner_text("#totp-secret").strip() == secret
    bob.fill("#code", next_code(secret))
    bob.click("button[type=submit]")
    assert bob.locator("#recovery-codes code").count() == 10
    bob.click("text=I have saved them, continue")
    bob.wait_for_url(f"{receiver.callback}?*")
    assert decode(server, rp.fetch_token(bob.url)["id_token"])["amr"] == ["pwd", "otp", "mfa"]

    # With 2FA mandatory, bob can't remove his only second factor.
    bob.goto(f"{server.url}/account/security")
    bob.click("text=Remove authenticator app")
    assert "mandatory" in bob.inner_text("#page-error")
    bob_context.close()
    alice_context.close()
