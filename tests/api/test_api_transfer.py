"""The admin JSON API skeleton against a running server: tokens, problem details, import/export."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from tests.support.server import RunningServer

PROBLEM = "application/problem+json"
FILE = (
    '{"type":"user","username":"alice","email":"alice@example.org",'
    '"password_hash":"{SSHA}Tgz2VVvdyo5dR/NLgGPbDMxac49I0hCW"}\n'
    '{"type":"user","username":"bob","email":"bob@example.org"}\n'
    '{"type":"group","name":"staff","members":["alice","bob"]}\n'
)


def _token(server: RunningServer, name: str = "ci") -> str:
    token: str = json.loads(server.cli("token", "create", name, "--json").stdout)["token"]
    return token


def test_openapi_document_lists_the_routes(keyhall_server: Callable[..., RunningServer]) -> None:
    server = keyhall_server()
    doc = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert {"/v1/import", "/v1/export"} <= set(doc["paths"])
    assert doc["servers"] == [{"url": "/api"}]
    assert "HTTPBearer" in doc["components"]["securitySchemes"]


def test_tokens_are_required_and_revocable(keyhall_server: Callable[..., RunningServer]) -> None:
    server = keyhall_server()
    missing = httpx.get(f"{server.url}/api/v1/export")
    assert missing.status_code == 401
    assert missing.headers["content-type"] == PROBLEM
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json() == {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "detail": "an admin token is required",
    }
    token = _token(server)
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server.url}/api/v1/export", headers=headers).status_code == 200
    wrong = httpx.get(f"{server.url}/api/v1/export", headers={"Authorization": f"Bearer {token}x"})
    assert wrong.status_code == 401 and "invalid_token" in wrong.headers["www-authenticate"]
    listed = json.loads(server.cli("token", "list", "--json").stdout)
    assert [t["name"] for t in listed] == ["ci"] and listed[0]["last_used_at"] is not None
    assert token not in server.cli("token", "list", "--json").stdout
    server.cli("token", "revoke", "ci")
    assert httpx.get(f"{server.url}/api/v1/export", headers=headers).status_code == 401


def test_import_and_export_over_http(keyhall_server: Callable[..., RunningServer]) -> None:
    server = keyhall_server()
    headers = {"Authorization": f"Bearer {_token(server)}"}
    url = f"{server.url}/api/v1"
    dry = httpx.post(f"{url}/import?dry_run=true", content=FILE, headers=headers)
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True and dry.json()["counts"]["users_create"] == 2
    assert json.loads(server.cli("user", "list", "--json").stdout) == []

    done = httpx.post(f"{url}/import", content=FILE.encode(), headers=headers)
    assert done.status_code == 200 and done.json()["counts"]["memberships"] == 2
    listed = json.loads(server.cli("group", "list", "--json").stdout)
    assert listed[0]["members"] == ["alice", "bob"]

    with httpx.stream("GET", f"{url}/export?with_hashes=true", headers=headers) as response:
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert lines[0]["type"] == "keyhall-export"
    users = {u["username"]: u for u in lines if u["type"] == "user"}
    assert users["alice"]["password_hash"].startswith("{SSHA}")
    ldif = httpx.get(f"{url}/export?format=ldif", headers=headers)
    assert "dn: uid=alice,ou=users,dc=keyhall\n" in ldif.text and "userPassword" not in ldif.text


def test_bad_input_is_a_problem_with_its_line_or_field(
    keyhall_server: Callable[..., RunningServer],
) -> None:
    server = keyhall_server()
    headers = {"Authorization": f"Bearer {_token(server)}"}
    url = f"{server.url}/api/v1"
    bad = FILE.replace("{SSHA}", "{MD4}")
    refused = httpx.post(f"{url}/import", content=bad, headers=headers)
    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
    body = refused.json()
    assert body["errors"][0] == {"line": 1, "detail": "unknown password hash scheme {MD4}"}
    assert json.loads(server.cli("user", "list", "--json").stdout) == []

    wrong_format = httpx.get(f"{url}/export?format=xml", headers=headers)
    assert wrong_format.status_code == 422
    assert wrong_format.json()["errors"][0]["field"] == "format"
