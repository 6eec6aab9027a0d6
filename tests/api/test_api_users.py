"""`/v1/users` against a running server: pre-provisioning, lists, changes, bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from tests.support.accounts import Mailbox, link_in
from tests.support.admin_api import assert_problem, serve_module
from tests.support.admin_web import PASSWORD, sign_in
from tests.support.oidc_rp import Browser, RelyingParty, close_all
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


def test_pre_provisioned_user_exists_before_first_login(
    api: httpx.Client, server: RunningServer
) -> None:
    made = api.post("/users", json={"username": "newbie", "email": "New@Example.org"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["username"] == "newbie" and body["email"] == "New@Example.org"
    assert body["role"] == "user" and body["active"] is True and body["groups"] == []
    # It is there for LDAP and OIDC at once, and can't sign in until it has a password.
    shown = json.loads(server.cli("user", "show", "newbie", "--json").stdout)
    assert shown["id"] == body["id"]
    with pytest.raises(AssertionError):
        sign_in(server, "newbie")
    set_pw = api.put("/users/newbie/password", json={"password": PASSWORD})
    assert set_pw.status_code == 204
    sign_in(server, "newbie").close()


def test_create_with_password_role_and_groups(api: httpx.Client) -> None:
    assert api.post("/groups", json={"name": "crew"}).status_code == 201
    made = api.post(
        "/users",
        json={
            "username": "carla",
            "email": "carla@example.org",
            "display_name": "Carla Diaz",
            "role": "admin",
            "password": PASSWORD,
            "groups": ["crew"],
        },
    )
    assert made.status_code == 201, made.text
    assert made.json()["role"] == "admin" and made.json()["groups"] == ["crew"]
    assert (made.json()["given_name"], made.json()["family_name"]) == ("Carla", "Diaz")
    shown = api.get("/users/carla").json()
    assert shown["totp"] is False and shown["display_name"] == "Carla Diaz"


def test_list_search_filters_and_pages(api: httpx.Client) -> None:
    for i in range(5):
        api.post("/users", json={"username": f"pager{i}", "email": f"pager{i}@example.org"})
    api.put("/users/pager3/active", json={"active": False})
    first = api.get("/users", params={"search": "pager", "limit": 2}).json()
    assert first["total"] == 5 and first["offset"] == 0 and first["limit"] == 2
    assert [u["username"] for u in first["items"]] == ["pager0", "pager1"]
    last = api.get("/users", params={"search": "PAGER", "limit": 2, "offset": 4}).json()
    assert [u["username"] for u in last["items"]] == ["pager4"]
    disabled = api.get("/users", params={"search": "pager", "active": "false"}).json()
    assert [u["username"] for u in disabled["items"]] == ["pager3"]
    owners = api.get("/users", params={"role": "owner"}).json()
    assert [u["username"] for u in owners["items"]] == ["owner"]
    by_mail = api.get("/users", params={"search": "pager2@example"}).json()
    assert [u["username"] for u in by_mail["items"]] == ["pager2"]


def test_profile_role_and_active(api: httpx.Client, server: RunningServer) -> None:
    api.post("/users", json={"username": "dora", "email": "dora@example.org", "password": PASSWORD})
    changed = api.patch("/users/dora", json={"display_name": "Dora Lee", "email": "d@example.org"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["email"] == "d@example.org"
    assert api.put("/users/dora/role", json={"role": "admin"}).json()["role"] == "admin"
    assert api.put("/users/dora/role", json={"role": "user"}).json()["role"] == "user"
    off = api.put("/users/dora/active", json={"active": False})
    assert off.json()["active"] is False
    with pytest.raises(AssertionError):
        sign_in(server, "dora")
    assert api.put("/users/dora/active", json={"active": True}).json()["active"] is True
    sign_in(server, "dora").close()


def test_second_factors_reset(api: httpx.Client, server: RunningServer) -> None:
    api.post("/users", json={"username": "tess", "email": "tess@example.org"})
    server.cli("user", "totp-enroll", "tess")
    assert api.get("/users/tess").json()["totp"] is True
    assert api.delete("/users/tess/second-factors").status_code == 204
    assert api.get("/users/tess").json()["totp"] is False
    events = api.get("/audit", params={"target": "tess", "action": "user."}).json()["items"]
    assert "user.second_factors_reset" in [e["action"] for e in events]


def test_invitation(api: httpx.Client, server: RunningServer, mail: Mailbox) -> None:
    api.post("/users", json={"username": "ivan", "email": "ivan@example.org"})
    sent = api.post("/users/ivan/invitation")
    assert sent.status_code == 202 and sent.json() == {"sent_to": "ivan@example.org"}
    message = mail.next()
    assert message["To"] == "ivan@example.org"
    assert link_in(message).startswith(f"{server.url}/invite")
    assert_problem(api.post("/users/nobody/invitation"), 404)


def test_deleting_ends_oidc_access_at_once(api: httpx.Client, server: RunningServer) -> None:
    # Issue 8: an admin removes a user through the API; the app's tokens die with them.
    api.post(
        "/users", json={"username": "leaver", "email": "leaver@example.org", "password": PASSWORD}
    )
    made = api.post("/clients", json={"name": "App", "redirect_uris": ["https://app.example/cb"]})
    client_id, secret = made.json()["client_id"], made.json()["client_secret"]
    rp = RelyingParty(server, client_id, secret, redirect_uri="https://app.example/cb")
    browser = Browser(server)
    try:
        answer = browser.follow(browser.get(rp.authorization_url()), username="leaver")
        tokens = rp.fetch_token(str(answer.headers["location"]))

        def active() -> bool:
            body = httpx.post(
                rp.meta["introspection_endpoint"],
                data={"token": tokens["access_token"]},
                auth=(client_id, secret),
            ).json()
            return bool(body["active"])

        assert active() is True
        assert api.delete("/users/leaver").status_code == 204
        assert active() is False
    finally:
        close_all()


def test_delete(api: httpx.Client) -> None:
    api.post("/users", json={"username": "gone", "email": "gone@example.org"})
    assert api.delete("/users/gone").status_code == 204
    assert_problem(api.get("/users/gone"), 404)
    assert_problem(api.delete("/users/gone"), 404)


def test_bad_input_is_a_problem_and_changes_nothing(api: httpx.Client) -> None:
    before = api.get("/users").json()["total"]
    assert_problem(api.post("/users", json={"username": "x1", "email": "nope"}), 422, "email")
    assert_problem(api.post("/users", json={"email": "a@example.org"}), 422, "username")
    assert_problem(
        api.post("/users", json={"username": "x2", "email": "x2@example.org", "admin": True}),
        422,
        "admin",
    )
    assert_problem(
        api.post("/users", json={"username": "x3", "email": "x3@example.org", "role": "owner"}),
        422,
        "role",
    )
    assert_problem(
        api.post("/users", json={"username": "Bad Name!", "email": "x4@example.org"}),
        422,
        "username",
    )
    short = api.post("/users", json={"username": "x5", "email": "x5@example.org", "password": "a"})
    assert_problem(short, 422, "password")
    assert_problem(api.post("/users", content=b"{not json", headers=_json()), 422)
    assert_problem(api.get("/users", params={"limit": 0}), 422, "limit")
    assert_problem(api.get("/users", params={"offset": -1}), 422, "offset")
    assert_problem(api.put("/users/owner/role", json={"role": "user"}), 403)
    assert_problem(api.delete("/users/owner"), 403)
    assert_problem(api.put("/users/owner/active", json={"active": False}), 403)
    assert_problem(api.patch("/users/nobody", json={"display_name": "X"}), 404)
    assert api.get("/users").json()["total"] == before


def test_duplicates_conflict(api: httpx.Client) -> None:
    api.post("/users", json={"username": "twin", "email": "twin@example.org"})
    again = api.post("/users", json={"username": "twin", "email": "twin2@example.org"})
    assert_problem(again, 409)
    assert again.json()["type"] == "urn:keyhall:problem:conflict"
    same_mail = api.post("/users", json={"username": "twin2", "email": "TWIN@example.org"})
    assert_problem(same_mail, 409)


def _json() -> dict[str, str]:
    return {"content-type": "application/json"}
