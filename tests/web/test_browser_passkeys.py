"""Issue 5: register a passkey from the page (Chromium's virtual authenticator, through CDP),
then use it as the second factor after the password, and alone (passwordless)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page
from tests.support.accounts import (
    LogoutReceiver,
    add_user,
    localhost_server_env,
    screenshot,
    sign_in,
)
from tests.support.oidc_rp import RelyingParty, add_client, decode
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser
ServerFactory = Callable[..., RunningServer]


def virtual_authenticator(page: Page) -> str:
    """A CTAP2 platform authenticator with user verification, as a phone or laptop has."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return str(added["authenticatorId"])


def test_passkey_as_second_factor_and_alone(
    keyhall_server: ServerFactory, chromium: Browser, receiver: LogoutReceiver
) -> None:
    server = keyhall_server(**localhost_server_env())
    add_user(server, "alice")
    client = add_client(server, "app", "--redirect-uri", receiver.callback)
    context = chromium.new_context()
    page = context.new_page()
    virtual_authenticator(page)
    sign_in(page, server, "alice")
    page.goto(f"{server.url}/account/security")
    page.fill("#passkey-name", "Laptop")
    page.click("#passkey-add")
    page.wait_for_url("**/account/security?done=passkey")
    assert "Laptop" in page.inner_text("#passkeys")
    screenshot(page, "account-passkeys")

    # Signed out, the same browser (and authenticator): password, then the passkey.
    context.clear_cookies()
    rp = RelyingParty(
        server, client["client_id"], client["client_secret"], redirect_uri=receiver.callback
    )
    page.goto(rp.authorization_url())
    page.fill("#username", "alice")
    page.fill("#password", "correct horse battery staple")
    page.click("button[type=submit]")
    page.click("#passkey-second-factor")
    page.wait_for_url(f"{receiver.callback}?*")
    amr = decode(server, rp.fetch_token(page.url)["id_token"])["amr"]
    assert amr[0] == "pwd" and amr[1] in ("hwk", "swk") and amr[-1] == "mfa"

    # Signed out again: the passkey alone, from the first page.
    context.clear_cookies()
    rp = RelyingParty(
        server, client["client_id"], client["client_secret"], redirect_uri=receiver.callback
    )
    page.goto(rp.authorization_url())
    page.click("#passkey-login")
    page.wait_for_url(f"{receiver.callback}?*")
    claims = decode(server, rp.fetch_token(page.url)["id_token"])
    assert claims["sub"] == "alice"
    assert "pwd" not in claims["amr"] and claims["amr"][0] in ("hwk", "swk")
    assert "mfa" in claims["amr"]
    page.goto(f"{server.url}/account/sessions")
    screenshot(page, "account-sessions")
    context.close()


def test_second_factor_asks_for_the_users_own_passkey(
    keyhall_server: ServerFactory, chromium: Browser
) -> None:
    server = keyhall_server(**localhost_server_env())
    add_user(server, "alice")
    add_user(server, "bob")
    context = chromium.new_context()
    page = context.new_page()
    virtual_authenticator(page)
    for user in ("alice", "bob"):
        context.clear_cookies()
        sign_in(page, server, user)
        page.goto(f"{server.url}/account/security")
        page.click("#passkey-add")
        page.wait_for_url("**/account/security?done=passkey")
    context.clear_cookies()
    # The authenticator holds both users' keys; bob's sign-in allows only bob's.
    sign_in(page, server, "bob")
    page.click("#passkey-second-factor")
    page.wait_for_url("**/account")
    assert page.inner_text("#username") == "bob"
    context.close()
