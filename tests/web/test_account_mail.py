"""Password reset and invitations by mail, through a real SMTP server (aiosmtpd): the message
carries the instance name and a single-use link; following it sets the password."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Browser
from tests.support.accounts import PASSWORD, Mailbox, add_user, link_in, new_page, sign_in
from tests.support.admin_api import eventually
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser
ServerFactory = Callable[..., RunningServer]


def test_password_reset_by_mail(
    keyhall_server: ServerFactory, chromium: Browser, mailbox: Mailbox
) -> None:
    server = keyhall_server(**mailbox.env())
    add_user(server, "alice")
    server.cli("settings", "set", "name", "Acme Accounts")
    context, page = new_page(chromium)

    def renamed() -> bool:
        # The server sees the CLI's change at its next view refresh (every 0.25 s).
        page.goto(f"{server.url}/login")
        return "Acme Accounts" in page.title()

    eventually(renamed, True, within=2.0)
    page.click("text=Forgot your password?")
    page.fill("#login", "alice@example.com")
    page.click("button[type=submit]")
    said = page.inner_text("#sent")
    msg = mailbox.next()
    assert msg["To"] == "alice@example.com"
    assert "Acme Accounts" in msg["Subject"] and "Acme Accounts" in str(msg["From"])
    link = link_in(msg)
    assert link.startswith(f"{server.url}/password/reset?token=")

    # An unknown account gets the very same answer, and no mail.
    page.goto(f"{server.url}/password/forgot")
    page.fill("#login", "nobody@example.com")
    page.click("button[type=submit]")
    assert page.inner_text("#sent") == said

    page.goto(link)
    page.fill("#password", "qwerty123")  # common: refused, and the link still works
    page.click("button[type=submit]")
    assert "most commonly used" in page.inner_text("#password-error")
    page.fill("#password", "a fresh start at last")
    page.click("button[type=submit]")
    assert "alice" in page.inner_text("#password-saved")
    page.goto(link)
    assert "not valid any more" in page.inner_text(".error")
    sign_in(page, server, "alice", "a fresh start at last")
    assert page.url.endswith("/account")
    context.close()
    assert mailbox.messages.empty()
    # The old password is gone.
    context, page = new_page(chromium)
    sign_in(page, server, "alice", PASSWORD)
    assert page.inner_text("#login-error") == "Wrong username or password."
    context.close()


def test_invitation_by_mail(
    keyhall_server: ServerFactory, chromium: Browser, mailbox: Mailbox
) -> None:
    server = keyhall_server(**mailbox.env())
    add_user(server, "owner")
    server.cli("user", "add", "carol", "--email", "carol@example.com", "--name", "Carol Ann")
    sent = server.cli("user", "invite", "carol", "--json").stdout
    assert "carol@example.com" in sent
    msg = mailbox.next()
    assert "invited to Keyhall" in msg["Subject"]
    link = link_in(msg)
    assert link.startswith(f"{server.url}/invite?token=")
    # A forged or altered token is simply not valid.
    assert httpx.get(link[:-3] + "xyz").status_code == 400
    context, page = new_page(chromium)
    page.goto(link)
    assert page.input_value("#username") == "carol"
    page.fill("#password", "carol's own passphrase")
    page.click("button[type=submit]")
    sign_in(page, server, "carol", "carol's own passphrase")
    assert page.url.endswith("/account")
    context.close()


def test_invitation_without_mail_configured_fails_cleanly(keyhall_server: ServerFactory) -> None:
    server = keyhall_server()
    add_user(server, "owner")
    failed = server.cli("user", "invite", "owner", check=False)
    assert failed.returncode == 1
    assert "mail is not configured" in failed.stderr and "Traceback" not in failed.stderr
