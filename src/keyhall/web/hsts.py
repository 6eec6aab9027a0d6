"""RFC 6797 HTTP Strict Transport Security, sent on every response when served over https."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = (b"strict-transport-security", b"max-age=31536000")


class StrictTransportSecurity:
    """Pure ASGI (no per-request objects), so it costs nearly nothing on the hot paths."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), HEADER]
            await send(message)

        await self.app(scope, receive, send_with_header)
