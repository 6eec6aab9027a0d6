"""Self-service pages, part three: the user's active sessions, the apps each signed into, and
ending one (OpenID Connect Back-Channel Logout 1.0 tells those apps at once)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keyhall.accounts.factors import methods_text
from keyhall.errors import KeyhallError
from keyhall.web.account import act, back, page, text, view
from keyhall.web.accounts_state import SignedIn


def _sessions(
    me: SignedIn, notice: str | None, error: str | None = None, status: int = 200
) -> Response:
    return page(
        me,
        "account/sessions.html",
        notice=notice,
        error=error,
        status=status,
        sessions=me.accounts.sessions_of(me.user),
        current=me.session.sid,
        methods=methods_text,
    )


async def sessions_page(request: Request) -> Response:
    return await view(request, _sessions)


async def session_end(request: Request) -> Response:
    def handle(me: SignedIn, fields: Mapping[str, Any]) -> Response:
        try:
            me.accounts.end_session(me.user, text(fields, "sid", 64), actor=me.actor)
        except KeyhallError as exc:
            return _sessions(me, None, exc.message, 404)
        return back("/account/sessions", "session_ended")

    return await act(request, handle)


ROUTES = [
    Route("/account/sessions", sessions_page, methods=["GET"]),
    Route("/account/sessions/end", session_end, methods=["POST"]),
]
