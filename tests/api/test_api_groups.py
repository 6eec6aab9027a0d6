"""`/v1/groups` against a running server: groups, members, pages, bad input."""

from __future__ import annotations

import json

import httpx
from tests.support.admin_api import assert_problem
from tests.support.server import RunningServer


def test_group_lifecycle(api: httpx.Client, server: RunningServer) -> None:
    for name in ("ann", "ben"):
        api.post("/users", json={"username": name, "email": f"{name}@example.org"})
    made = api.post("/groups", json={"name": "Editors", "description": "Can edit"})
    assert made.status_code == 201, made.text
    assert made.json()["name"] == "editors" and made.json()["read_only"] is False
    added = api.post("/groups/editors/members", json={"usernames": ["ann", "ben", "ann"]})
    assert added.json() == {"changed": ["ann", "ben"]}
    again = api.post("/groups/editors/members", json={"usernames": ["ann"]})
    assert again.json() == {"changed": []}
    assert api.get("/groups/editors").json()["members"] == ["ann", "ben"]
    assert api.get("/users/ann").json()["groups"] == ["editors"]
    members = api.get("/users", params={"group": "editors"}).json()["items"]
    assert [u["username"] for u in members] == ["ann", "ben"]
    # The CLI (another process) sees the same directory.
    listed = json.loads(server.cli("group", "list", "--json").stdout)
    assert {"name": "editors", "members": ["ann", "ben"]}.items() <= next(
        g for g in listed if g["name"] == "editors"
    ).items()
    removed = api.post("/groups/editors/members/remove", json={"usernames": ["ben"]})
    assert removed.json() == {"changed": ["ben"]}
    assert api.delete("/groups/editors").status_code == 204
    assert_problem(api.get("/groups/editors"), 404)


def test_list_search_and_pages(api: httpx.Client) -> None:
    for i in range(3):
        api.post("/groups", json={"name": f"team{i}", "description": "squad"})
    page = api.get("/groups", params={"search": "team", "limit": 2}).json()
    assert page["total"] == 3 and [g["name"] for g in page["items"]] == ["team0", "team1"]
    rest = api.get("/groups", params={"search": "team", "offset": 2}).json()
    assert [g["name"] for g in rest["items"]] == ["team2"]
    by_description = api.get("/groups", params={"search": "SQUAD"}).json()
    assert by_description["total"] == 3


def test_bad_input(api: httpx.Client) -> None:
    api.post("/groups", json={"name": "solo"})
    assert_problem(api.post("/groups", json={"name": "solo"}), 409)
    assert_problem(api.post("/groups", json={"name": "semi;colon"}), 422, "name")
    assert_problem(api.post("/groups", json={"name": "admins"}), 422, "name")  # built-in
    assert_problem(api.post("/groups", json={"name": ""}), 422, "name")
    assert_problem(api.post("/groups/solo/members", json={"usernames": []}), 422, "usernames")
    assert_problem(api.post("/groups/solo/members", json={"usernames": ["nobody"]}), 404)
    assert_problem(api.post("/groups/none/members", json={"usernames": ["owner"]}), 404)
    assert_problem(api.delete("/groups/none"), 404)
    assert api.get("/groups/solo").json()["members"] == []
