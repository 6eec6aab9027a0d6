"""Self-service pages, part one: profile (names, email unless locked, picture) and password.

Each handler: find the signed-in user, parse, one `Accounts` call in a thread, render. Notices
after a redirect are picked from a fixed table by key, so nothing from the URL is reflected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from keyhall.directory.models import LOCAL_SOURCE
from keyhall.errors import KeyhallError
from keyhall.oidc.sessions import COOKIE_NAME, Sessions
from keyhall.web.accounts_state import SignedIn, signed_in, to_login
from keyhall.web.login import SESSION_LIFETIME
from keyhall.web.pages import render, security_headers

NOTICES = {
    "profile": "Your profile was saved.",
    "avatar": "Your picture was updated.",
    "password": "Your password was changed. Every other session was signed out.",
    "totp": "Two-factor sign-in with an authenticator app is on.",
    "totp_removed": "The authenticator app was removed.",
    "passkey": "The passkey was added.",
    "passkey_removed": "The passkey was removed.",
    "app_password_revoked": "The app password was revoked.",
    "session_ended": "The session was ended and its apps were told.",
}
FORBIDDEN = "This form has expired; reload the page and try again."


def page(
    me: SignedIn,
    template: str,
    *,
    status: int = 200,
    csp: str | None = None,
    notice: str | None = None,
    error: str | None = None,
    **context: Any,
) -> Response:
    return render(
        template,
        {
            "instance_name": me.accounts.name,
            "user": me.user,
            "csrf_token": me.csrf,
            "notice": NOTICES.get(notice or ""),
            "error": error,
            **context,
        },
        status=status,
        csp=csp,
    )


def back(path: str, notice: str) -> Response:
    return RedirectResponse(f"{path}?done={notice}", status_code=303, headers=security_headers())


async def view(request: Request, show: Callable[[SignedIn, str | None], Response]) -> Response:
    """GET: the page of the signed-in user, or the sign-in page that comes back here."""

    def run() -> Response:
        me = signed_in(request)
        if me is None:
            return to_login(request)
        return show(me, request.query_params.get("done"))

    return await run_in_threadpool(run)


async def act(
    request: Request, handle: Callable[[SignedIn, Mapping[str, Any]], Response]
) -> Response:
    """POST: check the session and the CSRF token, then handle the form in a thread."""
    form = await request.form()
    fields: dict[str, Any] = dict(form.items())

    def run() -> Response:
        me = signed_in(request)
        if me is None:
            return to_login(request)
        if not me.csrf_ok(fields.get("csrf_token")):
            return render(
                "error.html", {"instance_name": me.accounts.name, "message": FORBIDDEN}, status=403
            )
        return handle(me, fields)

    try:
        return await run_in_threadpool(run)
    finally:
        await form.close()


def text(fields: Mapping[str, Any], name: str, limit: int = 1024) -> str:
    value = fields.get(name)
    return value[:limit] if isinstance(value, str) else ""


# -- profile -------------------------------------------------------------------------------
def _profile(
    me: SignedIn, notice: str | None, error: str | None = None, status: int = 200
) -> Response:
    locked = None
    if me.user.source != LOCAL_SOURCE:
        locked = "Your name and email come from your organisation's directory."
    elif me.accounts.directory.settings()["lock_profile"]:
        locked = "Your name and email are locked by the administrator."
    return page(
        me,
        "account/profile.html",
        notice=notice,
        error=error,
        status=status,
        locked=locked,
        has_avatar=me.accounts.store.avatar(me.user.id) is not None,
    )


async def profile_page(request: Request) -> Response:
    return await view(request, _profile)


async def profile_submit(request: Request) -> Response:
    def handle(me: SignedIn, fields: Mapping[str, Any]) -> Response:
        try:
            me.accounts.update_profile(
                me.user,
                email=text(fields, "email", 254),
                display_name=text(fields, "display_name", 256),
                actor=me.actor,
            )
        except KeyhallError as exc:
            return _profile(me, None, exc.message, 403 if exc.code == "forbidden" else 400)
        return back("/account", "profile")

    return await act(request, handle)


async def avatar_submit(request: Request) -> Response:
    form = await request.form(max_part_size=512 * 1024)
    upload = form.get("avatar")
    data = await upload.read(300 * 1024) if isinstance(upload, UploadFile) else b""
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    await form.close()

    def run() -> Response:
        me = signed_in(request)
        if me is None:
            return to_login(request)
        if not me.csrf_ok(fields.get("csrf_token")):
            return render(
                "error.html", {"instance_name": me.accounts.name, "message": FORBIDDEN}, status=403
            )
        try:
            if fields.get("action") == "remove":
                me.accounts.remove_avatar(me.user, actor=me.actor)
            else:
                me.accounts.set_avatar(me.user, data, actor=me.actor)
        except KeyhallError as exc:
            return _profile(me, None, exc.message, 400)
        return back("/account", "avatar")

    return await run_in_threadpool(run)


async def avatar_image(request: Request) -> Response:
    def run() -> Response:
        me = signed_in(request)
        found = me.accounts.store.avatar(me.user.id) if me is not None else None
        if found is None:
            return Response(status_code=404)
        return Response(
            found[1],
            media_type=found[0],
            headers={
                "Cache-Control": "private, no-cache",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
            },
        )

    return await run_in_threadpool(run)


# -- password ------------------------------------------------------------------------------
def _password(
    me: SignedIn, notice: str | None, error: str | None = None, status: int = 200
) -> Response:
    return page(
        me,
        "account/password.html",
        notice=notice,
        error=error,
        status=status,
        external=me.user.source != LOCAL_SOURCE,
        min_length=me.accounts.directory.settings()["password_min_length"],
    )


async def password_page(request: Request) -> Response:
    return await view(request, _password)


async def password_submit(request: Request) -> Response:
    def handle(me: SignedIn, fields: Mapping[str, Any]) -> Response:
        try:
            me.accounts.change_password(
                me.user,
                text(fields, "current_password"),
                text(fields, "new_password", 2048),
                actor=me.actor,
                ip=me.ip,
            )
        except KeyhallError as exc:
            return _password(me, None, exc.message, 400)
        # The new password ended every session, this one too: give this browser a fresh one.
        provider = me.provider
        sessions = Sessions(provider.store, provider.keys, provider.issuer)
        _, cookie = sessions.create(me.user, me.session.amr, provider.now(), SESSION_LIFETIME)
        response = back("/account/password", "password")
        response.set_cookie(
            COOKIE_NAME,
            cookie,
            max_age=int(SESSION_LIFETIME.total_seconds()),
            httponly=True,
            secure=provider.inst.config.secure_cookies,
            samesite="lax",
            path="/",
        )
        return response

    return await act(request, handle)


async def home(request: Request) -> Response:
    return RedirectResponse("/account", status_code=303, headers=security_headers())


ROUTES = [
    Route("/", home, methods=["GET"]),
    Route("/account", profile_page, methods=["GET"]),
    Route("/account", profile_submit, methods=["POST"]),
    Route("/account/avatar", avatar_image, methods=["GET"]),
    Route("/account/avatar", avatar_submit, methods=["POST"]),
    Route("/account/password", password_page, methods=["GET"]),
    Route("/account/password", password_submit, methods=["POST"]),
]
