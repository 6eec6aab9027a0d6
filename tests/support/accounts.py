"""Peers for the account tests: a headless Chromium, a mail server and a back-channel logout
receiver, all real and on loopback."""

from __future__ import annotations

import email
import email.policy
import queue
import re
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pyotp
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from tests.support.net import free_port
from tests.support.server import RunningServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "correct horse battery staple"


def launch() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def localhost_server_env() -> dict[str, str]:
    """WebAuthn refuses IP addresses as RP IDs: serve the public URL as http://localhost."""
    port = free_port()
    return {
        "KEYHALL_HTTP_ADDR": f"127.0.0.1:{port}",
        "KEYHALL_PUBLIC_URL": f"http://localhost:{port}",
    }


def add_user(server: RunningServer, username: str, *extra: str) -> None:
    server.cli(
        "user", "add", username, "--email", f"{username}@example.com", "--password-stdin", *extra,
        input=PASSWORD + "\n",
    )  # fmt: skip


def sign_in(page: Page, server: RunningServer, username: str, password: str = PASSWORD) -> None:
    """Open the account pages, which send the browser to the sign-in page, and sign in."""
    page.goto(f"{server.url}/account")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def new_page(browser: Browser) -> tuple[BrowserContext, Page]:
    context = browser.new_context()
    return context, context.new_page()


def current_code(secret: str) -> str:
    """What an authenticator app shows right now (use it once; `next_code` after it)."""
    return str(pyotp.TOTP(secret).now())


def next_code(secret: str) -> str:
    """The authenticator's code for the next 30-second step: valid now (RFC 6238 §5.2 allows
    one step of drift) and never the step an earlier code in the same test already used."""
    import time

    return str(pyotp.TOTP(secret).at(time.time() + 30))


class Mailbox:
    """An SMTP server (aiosmtpd) that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: queue.Queue[EmailMessage] = queue.Queue()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.put(msg)
        return "250 Message accepted for delivery"

    def env(self) -> dict[str, str]:
        return {
            "KEYHALL_SMTP_HOST": "127.0.0.1",
            "KEYHALL_SMTP_PORT": str(self.port),
            "KEYHALL_SMTP_FROM": "keyhall@example.com",
            "KEYHALL_SMTP_SECURITY": "none",
        }

    def next(self, timeout: float = 20.0) -> EmailMessage:
        return self.messages.get(timeout=timeout)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def link_in(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(r"https?://\S+", body.get_content())
    assert found is not None, "no link in the message"
    return found.group(0)


class LogoutReceiver:
    """A relying party on loopback: `/cb` answers the browser (the authorization response
    lands there), `/backchannel` records each POSTed logout_token."""

    def __init__(self) -> None:
        self.tokens: queue.Queue[str] = queue.Queue()
        tokens = self.tokens

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                tokens.put(parse_qs(body)["logout_token"][0])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                body = b"<!doctype html><title>app</title><p id=app>signed in to the app</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.url = f"{base}/backchannel"
        self.callback = f"{base}/cb"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def next(self, timeout: float = 20.0) -> str:
        return self.tokens.get(timeout=timeout)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
