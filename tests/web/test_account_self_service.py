"""Issue 5's self-service pages in a real browser: profile and its lock, picture, password
change, app passwords bound over LDAP, and ending another session (its app hears about it)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from tests.support.accounts import (
    PASSWORD,
    LogoutReceiver,
    add_user,
    new_page,
    screenshot,
    sign_in,
)
from tests.support.admin_api import eventually
from tests.support.oidc_rp import RelyingParty, add_client, decode
from tests.support.server import RunningServer

import ldap

pytestmark = pytest.mark.browser
ServerFactory = Callable[..., RunningServer]
# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def ldap_bind(server: RunningServer, username: str, password: str) -> bool:
    conn = ldap.initialize(f"ldap://127.0.0.1:{server.ldap_port}")
    conn.set_option(ldap.OPT_NETWORK_TIMEOUT, 10)
    try:
        conn.simple_bind_s(f"uid={username},ou=users,dc=keyhall", password)
        return True
    except ldap.INVALID_CREDENTIALS:
        return False
    finally:
        conn.unbind_s()


def test_profile_picture_and_lock(
    keyhall_server: ServerFactory, chromium: Browser, tmp_path: Path
) -> None:
    server = keyhall_server()
    add_user(server, "alice")
    context, page = new_page(chromium)
    sign_in(page, server, "alice")
    response = page.goto(f"{server.url}/account")
    assert response is not None
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer"
    page.fill("#display_name", "Alice Liddell")
    page.fill("#email", "alice@wonderland.example")
    page.click("form[action='/account'] button[type=submit]")
    assert page.inner_text("#notice") == "Your profile was saved."
    shown = server.cli("user", "show", "alice", "--json").stdout
    assert "alice@wonderland.example" in shown and "Alice Liddell" in shown

    picture = tmp_path / "me.png"
    picture.write_bytes(PNG)
    page.set_input_files("#avatar", str(picture))
    page.click("button[value=upload]")
    assert page.inner_text("#notice") == "Your picture was updated."
    image = page.request.get(f"{server.url}/account/avatar")
    assert image.headers["content-type"] == "image/png" and image.body() == PNG
    fake = tmp_path / "script.png"
    fake.write_text("<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>")
    page.set_input_files("#avatar", str(fake))
    page.click("button[value=upload]")
    assert "PNG, JPEG, GIF or WebP" in page.inner_text("#page-error")

    server.cli("settings", "set", "lock_profile", "true")

    def email_locked() -> bool:
        # The server sees the CLI's change at its next view refresh (every 0.25 s).
        page.goto(f"{server.url}/account")
        return page.get_attribute("#email", "readonly") is not None

    eventually(email_locked, True, within=2.0)
    assert "locked" in page.inner_text("#locked")
    screenshot(page, "account-profile-locked")
    # A hand-made post (with a valid CSRF token) is refused and changes nothing.
    token = page.get_attribute("input[name=csrf_token]", "value")
    refused = page.request.post(
        f"{server.url}/account",
        form={"csrf_token": token or "", "email": "evil@example.com", "display_name": "Eve"},
    )
    assert refused.status == 403
    assert "evil@example.com" not in server.cli("user", "show", "alice", "--json").stdout
    # Without the token, nothing at all.
    forged = page.request.post(
        f"{server.url}/account", form={"email": "evil@example.com", "display_name": "Eve"}
    )
    assert forged.status == 403
    context.close()


def test_password_change_policy_and_other_sessions(
    keyhall_server: ServerFactory, chromium: Browser
) -> None:
    server = keyhall_server()
    add_user(server, "alice")
    other_context, other = new_page(chromium)
    sign_in(other, server, "alice")
    context, page = new_page(chromium)
    sign_in(page, server, "alice")
    page.goto(f"{server.url}/account/password")
    page.fill("#current_password", PASSWORD)
    page.fill("#new_password", "password1")  # one of the most common passwords
    page.click("form[action='/account/password'] button[type=submit]")
    assert "most commonly used" in page.inner_text("#page-error")
    page.fill("#current_password", PASSWORD)
    page.fill("#new_password", "a brand new passphrase")
    page.click("form[action='/account/password'] button[type=submit]")
    assert "signed out" in page.inner_text("#notice")
    page.goto(f"{server.url}/account")
    assert page.url.endswith("/account")  # this browser got a fresh session
    other.goto(f"{server.url}/account")
    assert "/login" in other.url  # the other one was signed out
    # Seed 001/issue 8: the old password stops working over LDAP within one second.
    eventually(lambda: ldap_bind(server, "alice", PASSWORD), False, within=1.0)
    assert ldap_bind(server, "alice", "a brand new passphrase")
    context.close()
    other_context.close()


def test_app_password_binds_over_ldap_until_revoked(
    keyhall_server: ServerFactory, chromium: Browser
) -> None:
    server = keyhall_server()
    add_user(server, "alice")
    context, page = new_page(chromium)
    sign_in(page, server, "alice")
    page.goto(f"{server.url}/account/app-passwords")
    page.fill("#name", "Mail on phone")
    page.click("form[action='/account/app-passwords'] button[type=submit]")
    secret = page.inner_text("#new-app-password").strip()
    screenshot(page, "account-app-passwords")
    assert ldap_bind(server, "alice", secret)
    page.goto(f"{server.url}/account/app-passwords")
    row = page.inner_text("#app-passwords")
    assert "Mail on phone" in row and "never" not in row.split("Mail on phone")[1]
    page.click("#app-passwords button[type=submit]")
    assert page.inner_text("#notice") == "The app password was revoked."
    # The LDAP process sees the revocation at its next refresh: within one second.
    eventually(lambda: ldap_bind(server, "alice", secret), False, within=1.0)
    context.close()


def test_ending_another_session_tells_its_app(
    keyhall_server: ServerFactory, chromium: Browser, receiver: LogoutReceiver
) -> None:
    server = keyhall_server()
    add_user(server, "alice")
    client = add_client(
        server, "Wiki", "--redirect-uri", receiver.callback,
        "--backchannel-logout-uri", receiver.url,
    )  # fmt: skip
    phone_context, phone = new_page(chromium)
    rp = RelyingParty(
        server, client["client_id"], client["client_secret"], redirect_uri=receiver.callback
    )
    phone.goto(rp.authorization_url())
    phone.fill("#username", "alice")
    phone.fill("#password", PASSWORD)
    phone.click("button[type=submit]")
    phone.wait_for_url(f"{receiver.callback}?*")
    phone_sid = decode(server, rp.fetch_token(phone.url)["id_token"])["sid"]

    context, page = new_page(chromium)
    sign_in(page, server, "alice")
    page.goto(f"{server.url}/account/sessions")
    table = page.inner_text("#sessions")
    assert "Wiki" in table and "(this browser)" in table
    screenshot(page, "account-sessions-two")
    page.click("#sessions button[type=submit]")
    assert page.inner_text("#notice").startswith("The session was ended")
    logout = decode(server, receiver.next())
    assert (logout["sub"], logout["sid"]) == ("alice", phone_sid)
    phone.goto(f"{server.url}/account")
    assert "/login" in phone.url
    page.goto(f"{server.url}/account/sessions")
    assert "Wiki" not in page.inner_text("#sessions")
    context.close()
    phone_context.close()
