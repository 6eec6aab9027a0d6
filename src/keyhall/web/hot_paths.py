"""The root ASGI app, with a short way in for the OAuth 2.0 endpoints relying parties poll.

RFC 6749 §3.2 (token endpoint) and OIDC Core §5.3 (userinfo) are called by machines, many times
per sign-in, and answer every error in their own JSON form: they need none of what Starlette's
stack adds around the pages (error pages, HTTP exception handlers, a walk over every route).
Requests for them go straight to their handlers; everything else takes the usual way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from keyhall.logs import get_logger
from keyhall.web.hsts import HEADER as HSTS_HEADER

log = get_logger("keyhall.web")

Handler = Callable[[Request], Awaitable[Response]]


class HotPathApp(Starlette):
    """Starlette, except that `hot` (path, method) pairs skip its middleware and router."""

    def __init__(self, *args: object, hot: Mapping[tuple[str, str], Handler], **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.hot = dict(hot)
        self.hsts = False
        """Set when served over https: the hot paths add the header StrictTransportSecurity
        adds to every other response."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.hot.get((scope.get("path", ""), scope.get("method", "")))
        if handler is None or scope["type"] != "http" or scope.get("root_path"):
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        response = await self.answer(handler, Request(scope, receive))
        await response(scope, receive, send)

    async def answer(self, handler: Handler, request: Request) -> Response:
        """A hot path's response, with what the usual way would add."""
        try:
            response = await handler(request)
        except Exception as exc:
            # What ServerErrorMiddleware does on the other paths: a bare 500, details in the log.
            log.exception("request failed", path=request.scope["path"], error=type(exc).__name__)
            response = PlainTextResponse("Internal Server Error", status_code=500)
        if self.hsts:
            response.raw_headers.append(HSTS_HEADER)
        return response
