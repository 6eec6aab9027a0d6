"""Password reset and invitations by mail: ask for a link, follow it, choose a password.

CSRF here is an HMAC over a fixed purpose (and the link's token) and the browser cookie: the
visitor has no session yet. Asking for a reset always answers the same, whether or not the
account exists (OWASP forgot-password guidance).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keyhall.accounts import links as ln
from keyhall.accounts.service import Accounts
from keyhall.errors import KeyhallError
from keyhall.web.accounts_state import accounts_of, client_ip
from keyhall.web.oidc import browser_id, set_browser_cookie
from keyhall.web.pages import check_csrf, csrf_token, render

SENT = "If that account exists, a message with a link is on its way to its email address."
TITLES = {ln.RESET: "Choose a new password", ln.INVITE: "Welcome: choose your password"}


def _page(accounts: Accounts, template: str, status: int = 200, **context: object) -> Response:
    return render(template, {"instance_name": accounts.name, **context}, status=status)


async def forgot_page(request: Request) -> Response:
    accounts = accounts_of(request)
    browser, new = browser_id(request)
    secret = accounts.inst.secret_key
    response = _page(accounts, "forgot.html", csrf_token=csrf_token(secret, "forgot", browser))
    if new:
        set_browser_cookie(response, request.app.state.provider, browser)
    return response


async def forgot_submit(request: Request) -> Response:
    accounts = accounts_of(request)
    form = await request.form()
    token, login = form.get("csrf_token"), form.get("login")
    browser = request.cookies.get("keyhall_browser")
    if not check_csrf(
        accounts.inst.secret_key, "forgot", browser, token if isinstance(token, str) else None
    ):
        return _page(accounts, "error.html", 403, message="This form has expired; reload the page.")
    if isinstance(login, str) and login.strip():
        await run_in_threadpool(accounts.request_reset, login, ip=client_ip(request))
    return _page(accounts, "forgot.html", sent=SENT)


def _link_page(request: Request, kind: str) -> Response:
    accounts = accounts_of(request)
    token = request.query_params.get("token", "")
    user = accounts.link_user(token, kind)
    if user is None:
        return _page(
            accounts,
            "error.html",
            400,
            message="This link is not valid any more: ask for a new one.",
        )
    browser, new = browser_id(request)
    response = _page(
        accounts,
        "set_password.html",
        title=TITLES[kind],
        action=ln.PATHS[kind],
        token=token,
        username=user.username,
        min_length=accounts.directory.settings()["password_min_length"],
        csrf_token=csrf_token(accounts.inst.secret_key, f"{kind}:{token}", browser),
    )
    if new:
        set_browser_cookie(response, request.app.state.provider, browser)
    return response


async def _link_submit(request: Request, kind: str) -> Response:
    accounts = accounts_of(request)
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    token = fields.get("token", "")[:128]
    browser = request.cookies.get("keyhall_browser")
    if not check_csrf(
        accounts.inst.secret_key, f"{kind}:{token}", browser, fields.get("csrf_token")
    ):
        return _page(
            accounts, "error.html", 403, message="This form has expired; open the link again."
        )

    def run() -> Response:
        try:
            user = accounts.redeem_link(
                token, kind, fields.get("password", "")[:2048], ip=client_ip(request)
            )
        except KeyhallError as exc:
            still = accounts.link_user(token, kind)
            if still is None:
                return _page(accounts, "error.html", 400, message=exc.message)
            return _page(
                accounts,
                "set_password.html",
                400,
                title=TITLES[kind],
                action=ln.PATHS[kind],
                token=token,
                username=still.username,
                min_length=accounts.directory.settings()["password_min_length"],
                csrf_token=fields.get("csrf_token", ""),
                error=exc.message,
            )
        return _page(accounts, "password_set.html", username=user.username)

    return await run_in_threadpool(run)


async def reset_page(request: Request) -> Response:
    return await run_in_threadpool(_link_page, request, ln.RESET)


async def reset_submit(request: Request) -> Response:
    return await _link_submit(request, ln.RESET)


async def invite_page(request: Request) -> Response:
    return await run_in_threadpool(_link_page, request, ln.INVITE)


async def invite_submit(request: Request) -> Response:
    return await _link_submit(request, ln.INVITE)


ROUTES = [
    Route("/password/forgot", forgot_page, methods=["GET"]),
    Route("/password/forgot", forgot_submit, methods=["POST"]),
    Route("/password/reset", reset_page, methods=["GET"]),
    Route("/password/reset", reset_submit, methods=["POST"]),
    Route("/invite", invite_page, methods=["GET"]),
    Route("/invite", invite_submit, methods=["POST"]),
]
