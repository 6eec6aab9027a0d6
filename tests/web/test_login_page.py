"""The login page as a browser and a password manager see it: its fields, its headers, its
cookies, and a forged form that changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from tests.support.oidc_rp import PASSWORD, add_user
from tests.support.server import RunningServer, keyhall_env

ServerFactory = Callable[..., RunningServer]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = RunningServer(keyhall_env(tmp_path_factory.mktemp("login") / "data"))
    running.start()
    add_user(running, "alice")
    yield running
    running.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(follow_redirects=False) as client:
        yield client


def open_page(http: httpx.Client, base: str) -> tuple[httpx.Response, dict[str, str]]:
    start = http.get(f"{base}/login")
    assert start.status_code == 303 and start.headers["location"].startswith("/login?flow=")
    page = http.get(base + start.headers["location"])
    assert page.status_code == 200
    return page, dict(re.findall(r'name="(flow|csrf_token)" value="([^"]+)"', page.text))


def cookie_attributes(response: httpx.Response, name: str) -> list[str]:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return [part.strip().lower() for part in header.split(";")[1:]]
    raise AssertionError(f"no {name} cookie set: {response.headers.get_list('set-cookie')}")


def test_fields_carry_autocomplete_and_the_instance_name(
    server: RunningServer, http: httpx.Client
) -> None:
    page, fields = open_page(http, server.url)
    assert re.search(r'<input[^>]+name="username"[^>]+autocomplete="username"', page.text)
    assert re.search(r'<input[^>]+name="password"[^>]+autocomplete="current-password"', page.text)
    assert "Sign in to Keyhall" in page.text
    assert fields.keys() == {"flow", "csrf_token"}


def test_security_headers_and_no_inline_styles(server: RunningServer, http: httpx.Client) -> None:
    page, _ = open_page(http, server.url)
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "style-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<style" not in page.text and " style=" not in page.text
    sheet = re.search(r'<link rel="stylesheet" href="(/static/[^"]+\.css)">', page.text)
    assert sheet is not None
    css = http.get(server.url + sheet.group(1))
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_forged_or_foreign_posts_change_nothing(server: RunningServer, http: httpx.Client) -> None:
    _, fields = open_page(http, server.url)
    login = {"username": "alice", "password": PASSWORD}
    forged = http.post(f"{server.url}/login", data={**fields, "csrf_token": "0" * 64, **login})
    assert forged.status_code == 403
    assert "keyhall_session" not in forged.headers.get("set-cookie", "")
    # The same form from another browser (no browser cookie) is refused too.
    foreign = httpx.post(f"{server.url}/login", data={**fields, **login})
    assert foreign.status_code == 403
    assert "keyhall_session" not in foreign.headers.get("set-cookie", "")
    # The flow is untouched: the real form still works, once.
    real = http.post(f"{server.url}/login", data={**fields, **login})
    assert real.status_code == 303 and real.headers["location"] == "/"
    attributes = cookie_attributes(real, "keyhall_session")
    assert {"httponly", "samesite=lax", "path=/"} <= set(attributes)
    assert "secure" not in attributes  # the public URL is http
    replay = http.post(f"{server.url}/login", data={**fields, **login})
    assert replay.status_code in (400, 403)


def test_wrong_password_keeps_the_form(server: RunningServer, http: httpx.Client) -> None:
    _, fields = open_page(http, server.url)
    wrong = http.post(
        f"{server.url}/login", data={**fields, "username": "alice", "password": "nope"}
    )
    assert wrong.status_code == 401
    assert "Wrong username or password." in wrong.text
    assert 'value="alice"' in wrong.text
    assert "keyhall_session" not in wrong.headers.get("set-cookie", "")


def test_cookies_are_secure_behind_an_https_public_url(keyhall_server: ServerFactory) -> None:
    server = keyhall_server(KEYHALL_PUBLIC_URL="https://login.example")
    add_user(server, "alice")
    base = f"http://{server.http_addr}"  # the TLS proxy in front is not part of the test
    with httpx.Client(follow_redirects=False) as http:
        start = http.get(f"{base}/login")
        assert "secure" in cookie_attributes(start, "keyhall_browser")
        # httpx keeps Secure cookies off plain http: hand the browser cookie over explicitly.
        browser = start.cookies["keyhall_browser"]
        headers = {"Cookie": f"keyhall_browser={browser}"}
        page = http.get(base + start.headers["location"], headers=headers)
        fields = dict(re.findall(r'name="(flow|csrf_token)" value="([^"]+)"', page.text))
        done = http.post(
            f"{base}/login",
            data={**fields, "username": "alice", "password": PASSWORD},
            headers=headers,
        )
    assert done.status_code == 303, done.text
    assert {"secure", "httponly", "samesite=lax"} <= set(cookie_attributes(done, "keyhall_session"))
