"""keyhall.web.hot_paths under `keyhall serve`: the OAuth endpoints that skip Starlette's
middleware and router still answer their JSON errors with what the middleware would add
(HSTS), read request bodies however they arrive, and wait for SQLite's write lock without
stopping the worker."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
from tests.conftest import ServerFactory
from tests.support.net import free_port
from tests.support.oidc_rp import add_client


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_hot_paths_answer_json_errors_with_hsts_over_https(keyhall_server: ServerFactory) -> None:
    port = free_port()
    server = keyhall_server(
        KEYHALL_HTTP_ADDR=f"127.0.0.1:{port}", KEYHALL_PUBLIC_URL=f"https://127.0.0.1:{port}"
    )
    client = add_client(server, "hsts", "--redirect-uri", "https://rp.example/cb")
    client_id, secret = client["client_id"], client["client_secret"]
    base = f"http://127.0.0.1:{port}"
    token = httpx.post(
        f"{base}/openid/token",
        data={"grant_type": "authorization_code", "code": "nope", "redirect_uri": "x"},
        headers={"Authorization": _basic(client_id, secret)},
    )
    assert token.status_code == 400
    assert token.json()["error"] == "invalid_grant"
    assert token.headers["cache-control"] == "no-store"
    assert token.headers["strict-transport-security"].startswith("max-age=")

    me = httpx.get(f"{base}/openid/me", headers={"Authorization": "Bearer not-a-token"})
    assert me.status_code == 401
    assert me.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert me.headers["strict-transport-security"].startswith("max-age=")

    # Not a hot path: the middleware adds the same header.
    assert httpx.get(f"{base}/healthz").headers["strict-transport-security"].startswith("max-age")


def test_a_chunked_token_request_body_is_read_whole(keyhall_server: ServerFactory) -> None:
    server = keyhall_server()
    client = add_client(server, "chunked", "--redirect-uri", "https://rp.example/cb")
    client_id, secret = client["client_id"], client["client_secret"]

    def pieces() -> Iterator[bytes]:
        # No Content-Length: Transfer-Encoding: chunked, the form split mid-field.
        yield b"grant_type=refresh_"
        yield b"token&refresh_token=" + b"x" * 5000

    response = httpx.post(
        f"{server.url}/openid/token",
        content=pieces(),
        headers={
            "Authorization": _basic(client_id, secret),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    # The whole form arrived: a refresh grant with an unknown token, not a missing parameter.
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant"


def test_a_held_write_lock_makes_the_hot_path_wait_off_the_event_loop(
    keyhall_server: ServerFactory,
) -> None:
    # One worker: the same event loop would serve both requests below.
    server = keyhall_server()
    client = add_client(server, "waits", "--redirect-uri", "https://rp.example/cb")
    auth = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": "https://rp.example/cb",
        "scope": "openid",
        "state": "s",
    }
    other = sqlite3.connect(server.data_dir / "keyhall.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # an import or a sync in another process, say
    with ThreadPoolExecutor(1) as pool:
        try:
            # No session: the authorization endpoint writes a login flow, and must wait.
            pending = pool.submit(httpx.get, f"{server.url}/openid/auth", params=auth, timeout=30)
            # Meanwhile the worker goes on serving: were it stuck on the lock, this would time
            # out, the lock being released only below.
            assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
            assert httpx.get(f"{server.url}/openid/me", timeout=5).status_code == 401
            assert not pending.done()
        finally:
            other.execute("ROLLBACK")
            other.close()
        started = pending.result()
    assert started.status_code == 303
    assert started.headers["location"].startswith("/login?flow=")
