"""The login page: username or email and password, advancing the login flow step by step.

Parse → one domain call (in a thread: argon2 must not run on the event loop) → render. The
domain rules live in `Directory.authenticate` and `login_flow`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from keyhall.accounts.service import Accounts
from keyhall.directory.models import User
from keyhall.oidc.provider import Provider
from keyhall.oidc.sessions import COOKIE_NAME, Sessions
from keyhall.web.accounts_state import accounts_of, flow_csp
from keyhall.web.login_flow import Flow, LoginFlows, Step, after_password
from keyhall.web.oidc import (
    browser_id,
    error_page,
    instance_name,
    provider_of,
    set_browser_cookie,
)
from keyhall.web.pages import BROWSER_COOKIE, check_csrf, csrf_token, render, security_headers

SESSION_LIFETIME = timedelta(days=14)
BAD_LOGIN = "Wrong username or password."  # the same words whatever failed: no enumeration


def _page(
    provider: Provider,
    flow: Flow,
    browser: str,
    *,
    username: str = "",
    error: str | None = None,
    status: int | None = None,
) -> Response:
    auth = flow.authorization or {}
    client = provider.client(auth.get("client_id")) if auth else None
    return render(
        "login.html",
        {
            "instance_name": instance_name(provider),
            "client_name": client.name if client else None,
            "flow_id": flow.id,
            "csrf_token": csrf_token(provider.inst.secret_key, flow.id, browser),
            "username": username or auth.get("login_hint", ""),
            "error": error,
        },
        status=status or (401 if error else 200),
        csp=flow_csp(auth.get("redirect_uri")),
    )


async def login_page(request: Request) -> Response:
    provider = provider_of(request)
    browser, new_browser = browser_id(request)
    flow_id = request.query_params.get("flow")
    return_to = request.query_params.get("return_to", "/")

    def show() -> Response:
        now = provider.now()
        flows = LoginFlows(provider.store)
        flow = flows.get(flow_id, browser, now)
        if flow is None:
            # A plain sign-in (no app asked): only same-site paths are allowed back.
            safe = (
                return_to if return_to.startswith("/") and not return_to.startswith("//") else "/"
            )
            flow = flows.start(browser, now, return_to=safe)
            return RedirectResponse(f"/login?flow={flow.id}", status_code=303)
        if flow.step is not Step.PENDING:
            return error_page(provider, "This sign-in has expired; start again.", None)
        return _page(provider, flow, browser)

    response = await run_in_threadpool(show)
    if new_browser:
        set_browser_cookie(response, provider, browser)
    return response


async def login_submit(request: Request) -> Response:
    provider = provider_of(request)
    form = await request.form()
    fields: dict[str, str] = {k: v for k, v in form.items() if isinstance(v, str)}
    browser = request.cookies.get(BROWSER_COOKIE)
    ip = request.client.host if request.client else None
    return await run_in_threadpool(_submit, provider, accounts_of(request), fields, browser, ip)


def _submit(
    provider: Provider,
    accounts: Accounts,
    fields: dict[str, str],
    browser: str | None,
    ip: str | None,
) -> Response:
    now = provider.now()
    flows = LoginFlows(provider.store)
    flow_id = fields.get("flow", "")
    flow = flows.get(flow_id, browser, now)
    if (
        flow is None
        or browser is None
        or not check_csrf(provider.inst.secret_key, flow_id, browser, fields.get("csrf_token"))
    ):
        return error_page(provider, "This sign-in form has expired; start again.", None, 403)
    if flow.step is not Step.PENDING:
        return error_page(provider, "This sign-in has expired; start again.", None)
    username = fields.get("username", "")[:256]
    guard = accounts.guard
    keys = guard.keys(provider.directory.view.user_by_login(username), username, ip, browser)
    wait = guard.wait_seconds(keys)
    if wait:
        guard.refused(keys, username, ip, wait)
        page = _page(provider, flow, browser, username=username, error=throttled(wait), status=429)
        page.headers["Retry-After"] = str(wait)
        return page
    result = provider.directory.authenticate(username, fields.get("password", ""), ip=ip, via="web")
    if not result.ok or result.user is None:
        guard.failed(keys, username, ip)
        return _page(provider, flow, browser, username=username, error=BAD_LOGIN)
    user = result.user
    if not flows.advance(flow, Step.PASSWORD_VERIFIED, user_id=user.id, amr=["pwd"]):
        return error_page(provider, "This sign-in has expired; start again.", None)
    flow = flows.get(flow.id, browser, now) or flow
    nxt = after_password(user, accounts.factors.need(user))
    if nxt is not Step.DONE:
        if not flows.advance(flow, nxt):
            return error_page(provider, "This sign-in has expired; start again.", None)
        step_page = "2fa" if nxt is Step.SECOND_FACTOR else "enrol"
        return RedirectResponse(
            f"/login/{step_page}?flow={flow.id}", status_code=303, headers=security_headers()
        )
    return complete(provider, accounts, flow, user, ["pwd"], browser)


def throttled(wait: int) -> str:
    return f"Too many failed sign-ins. Try again in {wait} seconds."


def complete(
    provider: Provider,
    accounts: Accounts,
    flow: Flow,
    user: User,
    amr: list[str],
    browser: str | None,
) -> Response:
    """The last step of every sign-in: start the SSO session, then resume or go back."""
    now = provider.now()
    flows = LoginFlows(provider.store)
    accounts.guard.succeeded(user, browser)
    sessions = Sessions(provider.store, provider.keys, provider.issuer)
    session, cookie = sessions.create(user, amr, now, SESSION_LIFETIME)
    if not flows.advance(flow, Step.DONE, session_sid=session.sid):
        return error_page(provider, "This sign-in has expired; start again.", None)
    target = f"/openid/auth/resume?flow={flow.id}" if flow.authorization else flow.return_to
    if not flow.authorization:
        flows.finish(flow)
    response = RedirectResponse(target, status_code=303, headers=security_headers())
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


ROUTES: list[Any] = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
]
