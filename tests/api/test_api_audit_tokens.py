"""`/v1/audit` filters and `/v1/tokens` scopes against a running server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from tests.support.admin_api import api_client, assert_problem
from tests.support.server import RunningServer


def test_audit_filters_and_pages(api: httpx.Client, server: RunningServer) -> None:
    start = datetime.now(UTC)
    for name in ("au1", "au2", "au3"):
        api.post("/users", json={"username": name, "email": f"{name}@example.org"})
    api.delete("/users/au2")
    server.cli("user", "disable", "au3")
    everything = api.get("/audit", params={"since": start.isoformat()}).json()
    assert [e["action"] for e in everything["items"]] == [
        "user.disable", "user.delete", "user.create", "user.create", "user.create"
    ]  # fmt: skip
    created = api.get("/audit", params={"action": "user.create", "since": start.isoformat()})
    assert [e["target"] for e in created.json()["items"]] == ["au3", "au2", "au1"]  # newest first
    page = api.get("/audit", params={"action": "user.", "since": start.isoformat(), "limit": 2})
    assert page.json()["total"] == 5 and len(page.json()["items"]) == 2
    by_cli = api.get("/audit", params={"by": "cli:local", "since": start.isoformat()}).json()
    assert [(e["action"], e["target"]) for e in by_cli["items"]] == [("user.disable", "au3")]
    by_token = api.get("/audit", params={"by": "token:module", "target": "au2"}).json()
    assert [e["action"] for e in by_token["items"]] == ["user.delete", "user.create"]
    assert by_token["items"][0]["ip"] == "127.0.0.1"
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert api.get("/audit", params={"since": future}).json()["total"] == 0
    before = api.get("/audit", params={"until": start.isoformat(), "action": "user.create"})
    assert "au1" not in [e["target"] for e in before.json()["items"]]
    assert_problem(api.get("/audit", params={"since": "2026-01-01T00:00:00"}), 422, "since")
    assert_problem(api.get("/audit", params={"until": "yesterday"}), 422, "until")
    assert_problem(api.get("/audit", params={"limit": 501}), 422, "limit")


def test_tokens_are_scoped_and_revocable(api: httpx.Client, server: RunningServer) -> None:
    made = api.post("/tokens", json={"name": "reader", "scope": "read"})
    assert made.status_code == 201, made.text
    secret = made.json()["token"]
    assert made.json()["scope"] == "read" and secret.startswith("kh_")
    listed = api.get("/tokens")
    assert {"reader", "module"} <= {t["name"] for t in listed.json()} and secret not in listed.text
    with api_client(server, secret) as reader:
        assert reader.get("/users").status_code == 200
        assert reader.get("/ldap").status_code == 200
        denied = reader.post("/groups", json={"name": "readers"})
        assert_problem(denied, 403)
        assert 'error="insufficient_scope"' in denied.headers["www-authenticate"]
        assert_problem(reader.delete("/tokens/module"), 403)
        assert api.delete("/tokens/reader").status_code == 204
        gone = reader.get("/users")
        assert_problem(gone, 401)
        assert 'error="invalid_token"' in gone.headers["www-authenticate"]
    assert_problem(api.get("/groups/readers"), 404)
    assert_problem(api.delete("/tokens/reader"), 404)
    assert_problem(api.post("/tokens", json={"name": "module"}), 409)
    assert_problem(api.post("/tokens", json={"name": "x", "scope": "root"}), 422, "scope")
    assert_problem(api.post("/tokens", json={"name": "no spaces"}), 422, "name")
    cli = server.cli("token", "create", "cli-reader", "--scope", "read", "--json").stdout
    assert '"scope": "read"' in cli
    events = api.get("/audit", params={"action": "token.", "target": "reader"}).json()["items"]
    assert [e["action"] for e in events] == ["token.revoke", "token.create"]
