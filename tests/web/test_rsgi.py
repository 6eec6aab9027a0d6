"""keyhall.web.rsgi: `keyhall serve` answers through granian's RSGI interface.

Every server test goes through it; these pin what the front itself adds: the ASGI scope it
builds, HSTS and the JSON errors on the hot paths, request bodies however they arrive, and
streamed responses through the ASGI bridge.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
from tests.conftest import ServerFactory
from tests.support.net import free_port
from tests.support.oidc_rp import add_client

from keyhall.web.rsgi import asgi_scope_of


@dataclass
class FakeHeaders:
    pairs: list[tuple[str, str]]

    def items(self) -> list[tuple[str, str]]:
        return self.pairs


@dataclass
class FakeScope:
    """The attributes granian's RSGI scope has (granian.rsgi.Scope)."""

    client: str
    server: str = "127.0.0.1:9000"
    proto: str = "http"
    http_version: str = "1.1"
    rsgi_version: str = "1.5"
    scheme: str = "http"
    method: str = "GET"
    path: str = "/a b"
    query_string: str = "x=%20y&z=1"
    authority: str | None = None
    headers: FakeHeaders = field(
        default_factory=lambda: FakeHeaders([("cookie", "a=1"), ("cookie", "b=2"), ("x-n", "é")])
    )


def test_asgi_scope_of_an_rsgi_scope() -> None:
    scope = asgi_scope_of(FakeScope(client="10.0.0.7:51000"))  # type: ignore[arg-type]
    assert scope["type"] == "http" and scope["asgi"]["version"] == "3.0"
    assert scope["method"] == "GET" and scope["path"] == "/a b" and scope["root_path"] == ""
    assert scope["query_string"] == b"x=%20y&z=1"
    # Repeated headers stay repeated and in order; values are bytes as ASGI has them.
    assert scope["headers"] == [(b"cookie", b"a=1"), (b"cookie", b"b=2"), (b"x-n", b"\xe9")]
    assert scope["client"] == ("10.0.0.7", 51000)
    assert scope["server"] == ("127.0.0.1", 9000)


def test_asgi_scope_of_ipv6_and_unknown_peers() -> None:
    assert asgi_scope_of(FakeScope(client="[::1]:4242"))["client"] == ("::1", 4242)  # type: ignore[arg-type]
    assert asgi_scope_of(FakeScope(client=""))["client"] is None  # type: ignore[arg-type]


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_hot_paths_answer_json_errors_with_hsts_over_https(keyhall_server: ServerFactory) -> None:
    port = free_port()
    server = keyhall_server(
        KEYHALL_HTTP_ADDR=f"127.0.0.1:{port}", KEYHALL_PUBLIC_URL=f"https://127.0.0.1:{port}"
    )
    client = add_client(server, "rsgi", "--redirect-uri", "https://rp.example/cb")
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

    # Not a hot path: the ASGI bridge, where the middleware adds the same header.
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
