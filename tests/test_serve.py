"""`keyhall serve` end to end: a real process, probed over HTTP, changed through the CLI."""

from __future__ import annotations

import json
import time

import httpx
from tests.conftest import ServerFactory


def _served_version(url: str) -> int:
    body = httpx.get(f"{url}/readyz", timeout=5).json()
    assert body["status"] == "ok"
    return int(body["directory_version"])


def test_health_readiness_and_live_directory(keyhall_server: ServerFactory) -> None:
    server = keyhall_server()
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    assert "Keyhall has no owner yet" in server.logs()
    start = _served_version(server.url)

    server.cli("user", "add", "alice", "--email", "alice@example.com")
    wanted = json.loads(server.cli("migrate", "--json").stdout)["revision"]
    assert wanted
    # The server polls the directory version: it must catch up within one second.
    deadline = time.monotonic() + 1.0
    while _served_version(server.url) <= start:
        assert time.monotonic() < deadline, "the server did not see the CLI's change in 1 s"
        time.sleep(0.05)

    assert server.stop() == 0
    assert "stopped" in server.logs()


def test_postgres_backed_server(keyhall_server: ServerFactory, pg_url: str) -> None:
    server = keyhall_server(KEYHALL_DATABASE_URL=pg_url)
    server.cli("user", "add", "alice", "--email", "alice@example.com")
    listed = json.loads(server.cli("user", "list", "--json").stdout)
    assert [u["username"] for u in listed] == ["alice"]
    assert _served_version(server.url) >= 0
    assert server.stop() == 0


def test_second_start_reuses_the_data_dir(keyhall_server: ServerFactory) -> None:
    first = keyhall_server()
    first.cli("user", "add", "alice", "--email", "alice@example.com")
    secret = (first.data_dir / "secret.key").read_text()
    assert first.stop() == 0
    first.start()
    assert (first.data_dir / "secret.key").read_text() == secret
    assert "Keyhall has no owner yet" not in first.logs().split("stopped")[-1]
