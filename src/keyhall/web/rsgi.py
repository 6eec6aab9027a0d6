"""granian's RSGI interface in front of the ASGI app.

granian serves Keyhall either way; its RSGI interface costs less per request than its ASGI one
(a bare POST answered in 79 µs of server CPU against 135 µs, tasks run by granian's own
scheduler), and the OAuth endpoints relying parties call on every sign-in, code exchange,
refresh and userinfo request (`HotPathApp.hot`) are answered here without the ASGI message
exchange. Every other request goes through a small ASGI bridge to the same app, in an asyncio
task of its own: Starlette's thread pool (anyio) needs a real asyncio task, which granian's
tasks are not.

Requests in both cases reach the app as ASGI scopes, so the app and its tests know nothing
of this module; `keyhall serve` is the only one to use it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

from granian._granian import RSGIHTTPProtocol as HTTPProtocol
from granian._granian import RSGIProtocolClosed as ProtocolClosed
from granian.rsgi import Scope as RsgiScope
from starlette.requests import Request
from starlette.types import Message

from keyhall.logs import get_logger
from keyhall.web.hot_paths import HotPathApp

log = get_logger("keyhall.web")

ASGI_VERSION = {"version": "3.0", "spec_version": "2.3"}
Headers = list[tuple[str, str]]


class _Stream(Protocol):
    async def send_bytes(self, data: bytes) -> None: ...


class RsgiFront:
    """An RSGI application: the hot paths of `app` directly, the rest through ASGI."""

    def __init__(self, app: HotPathApp) -> None:
        self.app = app

    async def __call__(self, scope: RsgiScope, proto: HTTPProtocol) -> None:
        if scope.proto != "http":
            return  # granian is started without websockets
        asgi_scope = asgi_scope_of(scope)
        exchange = Exchange(proto)
        handler = self.app.hot.get((scope.path, scope.method))
        if handler is None:
            await asyncio.ensure_future(self._bridge(asgi_scope, exchange))
            return
        asgi_scope["app"] = self.app
        response = await self.app.answer(handler, Request(asgi_scope, exchange.receive))
        exchange.start(response.status_code, response.raw_headers)
        exchange.finish(bytes(response.body))

    async def _bridge(self, scope: dict[str, Any], exchange: Exchange) -> None:
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except Exception as exc:
            # Starlette has answered 500 already unless the failure came before it could.
            log.exception("request failed", path=scope["path"], error=type(exc).__name__)
            if not exchange.answered:
                exchange.start(500, [(b"content-type", b"text/plain; charset=utf-8")])
                exchange.finish(b"Internal Server Error")


def asgi_scope_of(scope: RsgiScope) -> dict[str, Any]:
    """The ASGI HTTP scope of an RSGI one (granian decodes the path in both; RSGI has no raw
    path, which ASGI makes optional)."""
    return {
        "type": "http",
        "asgi": ASGI_VERSION,
        "http_version": scope.http_version,
        "scheme": scope.scheme,
        "method": scope.method,
        "path": scope.path,
        "root_path": "",
        "query_string": scope.query_string.encode("latin-1"),
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in scope.headers.items()],
        "server": _host_port(scope.server),
        "client": _host_port(scope.client),
    }


def _host_port(value: str) -> tuple[str, int] | None:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


class Exchange:
    """One request's ASGI `receive` and `send`, carried out on its RSGI protocol."""

    def __init__(self, proto: HTTPProtocol) -> None:
        self.proto = proto
        self._body_read = False
        self._head: tuple[int, Headers] | None = None
        self._stream: _Stream | None = None
        self.answered = False

    async def receive(self) -> Message:
        if not self._body_read:
            self._body_read = True
            try:
                body = await self.proto()
            except ProtocolClosed:
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": body, "more_body": False}
        await self.proto.client_disconnect()
        return {"type": "http.disconnect"}

    def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self._head = (status, [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers])

    def finish(self, body: bytes) -> None:
        """The whole body of a response not streamed."""
        assert self._head is not None
        self.answered = True
        with contextlib.suppress(ProtocolClosed):  # the client left: nothing to tell it
            self.proto.response_bytes(*self._head, body)

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.start(message["status"], list(message.get("headers", ())))
        elif kind == "http.response.body":
            body: bytes = message.get("body", b"")
            more: bool = message.get("more_body", False)
            if self._stream is None:
                if not more:
                    self.finish(body)
                    return
                assert self._head is not None
                self.answered = True
                self._stream = self.proto.response_stream(*self._head)
            if body:
                await self._stream.send_bytes(body)
