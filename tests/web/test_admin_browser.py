"""The dashboard in headless Chromium: sign in, create an OIDC client, copy its ID with the
copy button, and complete an authorization-code flow with it (Authlib as the relying party).
Screenshots of the main dashboard pages go to test-artifacts/."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser, Page
from tests.support.accounts import screenshot
from tests.support.admin_web import PASSWORD
from tests.support.oidc_rp import RelyingParty, close_all, decode
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser


class App(BaseHTTPRequestHandler):
    """The relying party's callback page on loopback; remembers what arrived."""

    arrived: list[str]

    def do_GET(self) -> None:
        self.arrived.append(self.path)
        body = b"<!doctype html><title>App</title><h1>Signed in to the app</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def app() -> Iterator[tuple[str, list[str]]]:
    arrived: list[str] = []
    handler = type("Handler", (App,), {"arrived": arrived})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/callback", arrived
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def _close_rp_clients() -> Iterator[None]:
    yield
    close_all()


def _sign_in(page: Page, server: RunningServer) -> None:
    page.goto(f"{server.url}/admin")
    page.fill("input[autocomplete=username]", "owner")
    page.fill("input[autocomplete=current-password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/admin")


def test_create_client_in_the_dashboard_and_sign_in_with_it(
    keyhall_server: object, chromium: Browser, app: tuple[str, list[str]]
) -> None:
    callback, arrived = app
    server: RunningServer = keyhall_server()  # type: ignore[operator]
    server.cli(
        "user", "add", "owner", "--email", "owner@example.com", "--name", "Olive Owner",
        "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    context = chromium.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        _sign_in(page, server)
        assert page.locator("header .brand").inner_text() == "Keyhall"
        screenshot(page, "admin-overview")

        page.click("nav >> text=Apps (OpenID)")
        page.fill("#client-name", "Playwright RP")
        page.fill("#client-redirects", callback)
        page.click("form[action='/admin/clients'] button[type=submit]")
        client_id = page.locator("#client-id code").inner_text()
        secret = page.locator("#client-secret code").inner_text()
        assert len(client_id) == 24 and len(secret) >= 43
        assert page.locator("text=shown only this once").is_visible()
        provider = page.locator("table.endpoints tr:has(th:text-is('Provider name')) code")
        assert provider.inner_text() == "Keyhall"
        screenshot(page, "admin-client-created")

        # The copy button (static admin.js, allowed by the CSP) puts the ID on the clipboard.
        page.click("#client-id button.copy")
        page.wait_for_function(
            "document.querySelector('#client-id button.copy').textContent === 'Copied'"
        )
        assert page.evaluate("navigator.clipboard.readText()") == client_id

        # Authlib's client as the app: the browser is signed in, so the provider answers
        # the authorization request straight away with a code for the registered callback.
        rp = RelyingParty(server, client_id, secret, redirect_uri=callback)
        page.goto(rp.authorization_url())
        page.wait_for_url(f"{callback}?*")
        assert page.locator("h1").inner_text() == "Signed in to the app"
        assert [p for p in arrived if p.startswith("/callback")] == [
            page.url.removeprefix(callback.removesuffix("/callback"))
        ]
        tokens = rp.fetch_token(page.url)
        claims = decode(server, tokens["id_token"])
        assert claims["iss"] == f"{server.url}/openid" and claims["aud"] == client_id
        assert claims["preferred_username"] == "owner" and claims["name"] == "Olive Owner"
        screenshot(page, "admin-rp-signed-in")

        for area in ("users", "groups", "ldap", "external", "settings", "audit"):
            page.goto(f"{server.url}/admin/{area}")
            assert page.locator("nav a[aria-current=page]").count() == 1
            screenshot(page, f"admin-{area}")
        assert page.locator("td", has_text="client.create").count() >= 1
    finally:
        context.close()
