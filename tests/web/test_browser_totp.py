"""Issue 5: enrol an authenticator app from the page, sign in again with a code (the ID token's
`amr` says so, RFC 8176), and with a one-time recovery code."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page
from tests.support.accounts import (
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
RP = "https://rp.example/cb"


def enrol_totp(page: Page) -> tuple[str, list[str]]:
    page.goto(page.url.split("/account")[0] + "/account/security")
    page.click("text=Set up an authenticator app")
    assert (
        page.locator("#totp-qr")
        .get_attribute("src", timeout=5000)
        .startswith(  # type: ignore[union-attr]
            "data:image/svg+xml"
        )
    )
    secret = page.inner_text("#totp-secret").strip()
    screenshot(page, "account-totp-setup")
    page.fill("#code", current_code(secret))
    page.click("text=Turn on")
    codes = [c.strip() for c in page.locator("#recovery-codes code").all_inner_texts()]
    screenshot(page, "account-recovery-codes")
    page.click("text=I have saved them, continue")
    assert page.inner_text("#totp-state") == "On."
    return secret, codes


def test_totp_enrolment_then_code_and_recovery_code_sign_in(
    keyhall_server: ServerFactory, chromium: Browser
) -> None:
    server = keyhall_server()
    add_user(server, "alice")
    client = add_client(server, "app", "--redirect-uri", RP)
    context, page = new_page(chromium)
    page.goto(f"{server.url}/login")
    screenshot(page, "login")
    sign_in(page, server, "alice")
    assert page.url.endswith("/account")
    screenshot(page, "account-profile")
    secret, codes = enrol_totp(page)
    assert len(codes) == 10 and len(set(codes)) == 10
    screenshot(page, "account-security")
    context.close()

    # A new browser: password, then the code, through an app's authorization request.
    context, page = new_page(chromium)
    page.route("https://rp.example/**", lambda route: route.fulfill(status=200, body="app"))
    rp = RelyingParty(server, client["client_id"], client["client_secret"])
    page.goto(rp.authorization_url())
    page.fill("#username", "alice")
    page.fill("#password", "correct horse battery staple")
    page.click("button[type=submit]")
    code_field = page.locator("#code")
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    screenshot(page, "login-second-factor")
    page.fill("#code", "000000" if next_code(secret) != "000000" else "111111")
    page.click("#totp-form button[type=submit]")
    assert "not right" in page.inner_text("#factor-error")
    page.fill("#code", next_code(secret))
    page.click("#totp-form button[type=submit]")
    page.wait_for_url("https://rp.example/cb?*")
    claims = decode(server, rp.fetch_token(page.url)["id_token"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["sub"] == "alice"
    context.close()

    # Another browser: a recovery code instead; it works once.
    for attempt, expected in ((1, "/account"), (2, "error")):
        context, page = new_page(chromium)
        sign_in(page, server, "alice")
        page.click("text=Use a recovery code")
        page.fill("#recovery_code", codes[0].upper())
        page.click("#recovery-form button[type=submit]")
        if expected == "/account":
            assert page.url.endswith("/account"), attempt
            page.goto(f"{server.url}/account/security")
            assert page.inner_text("#recovery-state").startswith("9 unused")
        else:
            assert "already used" in page.inner_text("#factor-error")
        context.close()


def test_wrong_password_never_reaches_the_second_factor(
    keyhall_server: ServerFactory, chromium: Browser
) -> None:
    server = keyhall_server()
    add_user(server, "alice")
    context, page = new_page(chromium)
    sign_in(page, server, "alice", "not the password at all")
    assert page.inner_text("#login-error") == "Wrong username or password."
    assert page.locator("#code").count() == 0
    context.close()
