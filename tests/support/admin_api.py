"""One `keyhall serve` per test module for the admin API and dashboard tests, with an owner.

Starting a server costs about a second; the API tests share one per module and keep out of
each other's way by naming what they create after the test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
from tests.support.admin_web import add_user, token
from tests.support.server import RunningServer, keyhall_env

PROBLEM = "application/problem+json"
T = TypeVar("T")


def start_server(base: Path, **env: str) -> RunningServer:
    server = RunningServer(keyhall_env(base / "data", **env))
    server.start()
    add_user(server, "owner")
    return server


def api_client(server: RunningServer, bearer: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {bearer}"}, timeout=30
    )


def serve_module(base: Path, **env: str) -> Iterator[tuple[RunningServer, httpx.Client]]:
    server = start_server(base, **env)
    client = api_client(server, token(server, "module"))
    try:
        yield server, client
    finally:
        client.close()
        server.stop()


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> None:
    """An RFC 9457 problem with this status (and, for 422, naming `field`)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"]
    if field is not None:
        assert field in [e.get("field") for e in body.get("errors", [])], body


def eventually(check: Callable[[], T], expected: T, within: float = 5.0) -> None:
    """Every node applies a change on its next view refresh (every 0.25 s): poll for it."""
    deadline = time.monotonic() + within
    while (got := check()) != expected:
        assert time.monotonic() < deadline, f"still {got!r}, expected {expected!r}"
        time.sleep(0.05)
