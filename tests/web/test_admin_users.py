"""Dashboard users over HTTP, as a browser without JavaScript: forms, CSRF tokens, redirects."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.support.accounts import Mailbox, link_in
from tests.support.admin_api import eventually, serve_module
from tests.support.admin_web import PASSWORD, browsing_as, form, sign_in, submit
from tests.support.server import RunningServer


@pytest.fixture(scope="module")
def mail() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, mail: Mailbox
) -> Iterator[tuple[RunningServer, httpx.Client]]:
    yield from serve_module(tmp_path_factory.mktemp("users"), **mail.env())


@pytest.fixture
def server(served: tuple[RunningServer, httpx.Client]) -> RunningServer:
    return served[0]


@pytest.fixture
def api(served: tuple[RunningServer, httpx.Client]) -> httpx.Client:
    return served[1]


@pytest.fixture
def owner(server: RunningServer) -> Iterator[httpx.Client]:
    with browsing_as(server, "owner") as client:
        yield client


def _user(api: httpx.Client, username: str) -> dict[str, object]:
    shown: dict[str, object] = api.get(f"/users/{username}").json()
    return shown


def test_create_user_from_the_form(
    owner: httpx.Client, server: RunningServer, api: httpx.Client
) -> None:
    made = submit(
        owner,
        "/admin/users",
        "/admin/users",
        username="vera",
        email="vera@example.org",
        display_name="Vera Ng",
        password=PASSWORD,
        admin="on",
    )
    assert (
        made.status_code == 303
        and made.headers["location"] == "/admin/users/vera?done=user_created"
    )
    page = owner.get(made.headers["location"])
    assert "User created." in page.text and "Vera Ng" in page.text
    assert _user(api, "vera")["role"] == "admin"
    sign_in(server, "vera").close()
    # The same username again: the form comes back with the reason, and the status says why.
    again = submit(owner, "/admin/users", "/admin/users", username="vera", email="v2@example.org")
    assert again.status_code == 409
    assert "already exists" in again.text
    assert form(again.text, "/admin/users").fields["email"] == "v2@example.org"
    bad = submit(owner, "/admin/users", "/admin/users", username="w", email="not-an-email")
    assert bad.status_code == 422 and "invalid email" in bad.text


def test_search_and_pages(owner: httpx.Client, server: RunningServer) -> None:
    for i in range(52):
        owner_api = f"page{i:02d}"
        server_user = {"username": owner_api, "email": f"{owner_api}@example.org"}
        submit(owner, "/admin/users", "/admin/users", **server_user)
    first = owner.get("/admin/users", params={"q": "page"})
    assert "52 users" in first.text and "page49" in first.text and "page50" not in first.text
    assert 'href="/admin/users?q=page&amp;offset=50"' in first.text
    second = owner.get("/admin/users", params={"q": "page", "offset": "50"})
    assert "page50" in second.text and "page51" in second.text and "page49" not in second.text
    admins = owner.get("/admin/users", params={"role": "owner"})
    assert "1 user<" in admins.text


def test_edit_role_disable_password_and_delete(
    owner: httpx.Client, server: RunningServer, api: httpx.Client
) -> None:
    api.post("/users", json={"username": "walt", "email": "walt@example.org", "password": PASSWORD})
    page = "/admin/users/walt"
    saved = submit(
        owner, page, "/admin/users/walt/profile", display_name="Walt W", email="w@example.org"
    )
    assert saved.status_code == 303
    assert _user(api, "walt")["email"] == "w@example.org"
    assert submit(owner, page, "/admin/users/walt/role", role="admin").status_code == 303
    assert _user(api, "walt")["role"] == "admin"
    with browsing_as(server, "walt") as walt:
        assert walt.get("/admin").status_code == 200
        assert submit(owner, page, "/admin/users/walt/role", role="user").status_code == 303
        # Every node sees a change within one view refresh (issue 8: within a second).
        eventually(lambda: walt.get("/admin").status_code, 403)
        # Disabling ends the user's session.
        assert submit(owner, page, "/admin/users/walt/active").status_code == 303
        eventually(lambda: walt.get("/admin").status_code, 303)
    assert _user(api, "walt")["active"] is False
    with pytest.raises(AssertionError):
        sign_in(server, "walt")
    assert submit(owner, page, "/admin/users/walt/active").status_code == 303  # enable again
    new_password = "another long passphrase here"
    assert (
        submit(owner, page, "/admin/users/walt/password", password=new_password).status_code == 303
    )
    sign_in(server, "walt", new_password).close()
    short = submit(owner, page, "/admin/users/walt/password", password="short")
    assert short.status_code == 422 and "too short" in short.text
    gone = submit(owner, page, "/admin/users/walt/delete")
    assert gone.headers["location"] == "/admin/users?done=user_deleted"
    assert owner.get(page).status_code == 404
    # The owner's page offers neither delete nor role change, and the use case refuses them.
    owner_page = owner.get("/admin/users/owner").text
    assert "/admin/users/owner/delete" not in owner_page
    refused = owner.post(
        "/admin/users/owner/delete",
        data={"csrf_token": form(owner_page, "/admin/users/owner/profile").fields["csrf_token"]},
    )
    assert refused.status_code == 403


def test_reset_two_factor(owner: httpx.Client, server: RunningServer) -> None:
    server.cli("user", "add", "tina", "--email", "tina@example.org")
    server.cli("user", "totp-enroll", "tina")
    page = owner.get("/admin/users/tina").text
    assert "authenticator app" in page
    assert submit(owner, "/admin/users/tina", "/admin/users/tina/reset-2fa").status_code == 303
    assert "not set up" in owner.get("/admin/users/tina").text
    audit = owner.get("/admin/audit", params={"target": "tina", "action": "user."}).text
    assert "user.second_factors_reset" in audit and "user:owner" in audit


def test_invite_by_mail(owner: httpx.Client, server: RunningServer, mail: Mailbox) -> None:
    made = submit(
        owner, "/admin/users", "/admin/users", username="ivy", email="ivy@example.org", invite="on"
    )
    assert made.headers["location"] == "/admin/users/ivy?done=invited"
    message = mail.next()
    assert message["To"] == "ivy@example.org"
    link = link_in(message)
    assert link.startswith(f"{server.url}/invite")
    with httpx.Client() as browser:
        page = browser.get(link)
        assert page.status_code == 200 and 'autocomplete="new-password"' in page.text
