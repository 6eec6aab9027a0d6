"""Who may use the dashboard, CSRF on every form, and the headers every page sends."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.support.admin_api import start_server
from tests.support.admin_web import add_user, browsing_as, form, forms
from tests.support.net import free_port
from tests.support.server import RunningServer

PAGES = [
    "/admin",
    "/admin/users",
    "/admin/users/owner",
    "/admin/groups",
    "/admin/clients",
    "/admin/ldap",
    "/admin/external",
    "/admin/settings",
    "/admin/audit",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(tmp_path_factory.mktemp("access"))
    add_user(server, "pat")
    add_user(server, "ada", "--admin")
    yield server
    server.stop()


def test_without_a_session_the_browser_is_sent_to_sign_in(server: RunningServer) -> None:
    for path in PAGES:
        response = httpx.get(f"{server.url}{path}")
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/login?return_to={path}"
    assert httpx.post(f"{server.url}/admin/users", data={"username": "x"}).status_code == 303


def test_a_plain_user_gets_403(server: RunningServer) -> None:
    with browsing_as(server, "pat") as pat:
        for path in PAGES:
            response = pat.get(path)
            assert response.status_code == 403, path
            assert "owner and administrators" in response.text
        assert pat.post("/admin/groups", data={"name": "mine"}).status_code == 403


def test_admins_see_every_page_with_strict_headers(server: RunningServer) -> None:
    with browsing_as(server, "ada") as ada:
        for path in PAGES:
            response = ada.get(path)
            assert response.status_code == 200, path
            csp = response.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
            assert "unsafe-inline" not in csp
            assert response.headers["referrer-policy"] == "no-referrer"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["cache-control"] == "no-store"
            assert "<script>" not in response.text and " on" + "click=" not in response.text
            assert '<script src="/static/admin.js" defer></script>' in response.text
            assert "strict-transport-security" not in response.headers  # plain http here
        script = ada.get("/static/admin.js")
        assert script.status_code == 200 and "clipboard" in script.text


def test_every_form_carries_a_csrf_token_that_is_checked(server: RunningServer) -> None:
    with browsing_as(server, "ada") as ada, browsing_as(server, "owner") as owner:
        for path in PAGES:
            for f in (f for f in forms(ada.get(path).text) if f.method == "post"):
                assert f.fields.get("csrf_token"), (path, f.action)
        made = form(ada.get("/admin/groups").text, "/admin/groups")
        made.fields["name"] = "csrf-test"
        # No token, a wrong one, and another session's token: all refused, nothing created.
        missing = {k: v for k, v in made.fields.items() if k != "csrf_token"}
        assert ada.post("/admin/groups", data=missing).status_code == 403
        wrong = {**made.fields, "csrf_token": "0" * 64}
        assert ada.post("/admin/groups", data=wrong).status_code == 403
        theirs = form(owner.get("/admin/groups").text, "/admin/groups").fields["csrf_token"]
        stolen = {**made.fields, "csrf_token": theirs}
        refused = ada.post("/admin/groups", data=stolen)
        assert refused.status_code == 403 and "expired" in refused.text
        assert ada.get("/admin/groups/csrf-test").status_code == 404
        assert ada.post("/admin/groups", data=made.fields).status_code == 303
        assert ada.get("/admin/groups/csrf-test").status_code == 200


def test_hsts_on_https(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Behind a TLS-terminating proxy the public URL is https: pages then send HSTS.
    port = free_port()
    env = {
        "KEYHALL_HTTP_ADDR": f"127.0.0.1:{port}",
        "KEYHALL_PUBLIC_URL": f"https://127.0.0.1:{port}",
    }
    server = start_server(tmp_path_factory.mktemp("https"), **env)
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/admin")
        assert response.headers["strict-transport-security"].startswith("max-age=")
    finally:
        server.stop()
