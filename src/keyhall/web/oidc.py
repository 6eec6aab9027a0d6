"""HTTP adapter for the OpenID Connect endpoints: parse, call the provider, render.

Everything that touches the database or signs runs in a thread pool (`blocking`), so the event
loop only moves bytes, except on the hot endpoints (authorization, token, userinfo) with the
embedded SQLite database, which run on the loop itself (see `hot`).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from keyhall.oidc import authorization, logout, userinfo
from keyhall.oidc.authorization import AuthorizationResponse, Next
from keyhall.oidc.discovery import metadata
from keyhall.oidc.errors import InvalidTokenError, OAuth2Error
from keyhall.oidc.provider import Provider
from keyhall.oidc.server import Request as OAuthRequest
from keyhall.oidc.sessions import COOKIE_NAME, Sessions
from keyhall.storage.oidc_sql import Busy
from keyhall.web.accounts_state import flow_csp
from keyhall.web.login_flow import LoginFlows, Step
from keyhall.web.pages import (
    BROWSER_COOKIE,
    check_csrf,
    csrf_token,
    new_browser_id,
    render,
    security_headers,
)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
P = ParamSpec("P")
T = TypeVar("T")
# A plain executor: handing a call to it costs a fraction of anyio's `run_in_threadpool`, which
# showed in profiles of a whole code flow. Eight threads cover the database pool's connections.
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="oidc")


async def blocking(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run database work or signing off the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_POOL, lambda: fn(*args, **kwargs))


# Pauses between tries of a hot call that found SQLite's write lock taken. Another worker's
# commit holds it for about a tenth of a millisecond: the first tries only let the loop serve
# what else is ready; an import or a directory sync holds it far longer, and then the call goes
# to the pool, where it may wait.
_BUSY_PAUSES = (0.0, 0.0, 0.0, 0.001, 0.002)


async def hot(provider: Provider, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """The hot endpoints' work: on SQLite right here, else (or when it would wait) in the pool.

    A PostgreSQL query waits on the network, and other requests should go on meanwhile. An
    embedded SQLite statement costs tens of microseconds, while handing a call to a thread and
    back costs more than the call itself (a userinfo request took 266 µs of CPU through the
    pool, 59 µs without it), and with the GIL the pool would not run two calls at once anyway.
    What can make SQLite wait is another writer's transaction. Rather than let SQLite sleep
    (a millisecond at least, the loop stopped), a write that finds the lock taken raises `Busy`
    and the call is tried again after the pauses above, then in the pool. Each `fn` given here
    writes at most once, in one transaction of the prepared-statement driver, so trying it
    again repeats nothing."""
    if provider.store.embedded:
        driver = provider.store.driver
        for pause in (*_BUSY_PAUSES, None):
            try:
                with driver.not_waiting():
                    return fn(*args, **kwargs)
            except Busy:
                if pause is None:
                    break  # the write lock is held for long: wait for it off the loop
                await asyncio.sleep(pause)
    return await blocking(fn, *args, **kwargs)


def provider_of(request: Request) -> Provider:
    return request.app.state.provider  # type: ignore[no-any-return]


def instance_name(provider: Provider) -> str:
    return str(provider.directory.settings()["name"])


FORM = "application/x-www-form-urlencoded"


async def params_of(request: Request) -> list[tuple[str, str]]:
    if request.method != "POST":
        # What Starlette's `query_params` parses, without building its multi-dict.
        return parse_qsl(request.scope["query_string"].decode("latin-1"), keep_blank_values=True)
    if request.headers.get("content-type", "").partition(";")[0].strip().lower() == FORM:
        # RFC 6749 §3.2 and §4.1.3: token and authorization POSTs are form-urlencoded; parsing
        # that directly costs a fraction of the general multipart form parser.
        body = (await _body(request)).decode("utf-8", "replace")
        return parse_qsl(body, keep_blank_values=True)
    form = await request.form()
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


async def _body(request: Request) -> bytes:
    """The request body, read off the ASGI channel (Request.body's async generator showed in
    profiles of the token endpoint). Nothing else reads the body of these requests."""
    chunks = []
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def request_uri(request: Request) -> str:
    """The request's path and query, for Authlib's request objects: they keep it but read it on
    no path Keyhall uses, and Starlette's absolute `request.url` (host header parsed, URL
    rebuilt) showed in profiles of the token endpoint."""
    query = request.scope.get("query_string", b"")
    path: str = request.scope["path"]
    return f"{path}?{query.decode('latin-1')}" if query else path


def oauth_response(result: tuple[int, Any, list[tuple[str, str]]]) -> Response:
    status, body, headers = result
    content = body if isinstance(body, str) else json.dumps(body)
    # Authlib's headers (its JSON type, WWW-Authenticate), then no-store: each name once.
    merged = {name.lower(): value for name, value in headers}
    merged.update(_NO_STORE_LOWER)
    return Response(content, status_code=status, headers=merged, media_type="application/json")


_NO_STORE_LOWER = {name.lower(): value for name, value in NO_STORE.items()}


def error_page(provider: Provider, message: str, code: str | None, status: int = 400) -> Response:
    return render(
        "error.html",
        {"instance_name": instance_name(provider), "message": message, "code": code},
        status=status,
    )


def respond(resp: AuthorizationResponse) -> Response:
    """Deliver an authorization response: query redirect, or an auto-submitted form (form_post)."""
    if resp.response_mode == "form_post":
        nonce = secrets.token_urlsafe(16)
        target = urlsplit(resp.redirect_uri)
        origin = f"{target.scheme}://{target.netloc}"
        csp = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; form-action {origin}; "
            "frame-ancestors 'none'; base-uri 'none'"
        )
        return render(
            "form_post.html",
            {"action": resp.redirect_uri, "params": resp.params, "nonce": nonce},
            csp=csp,
        )
    # Quoted as RedirectResponse would, but only the registered URI: the parameters are
    # form-encoded already, and a sealed code is long enough for quoting it to show.
    location = quote(resp.redirect_uri, safe=":/%#?=@[]!$&'()*+,;")
    if resp.params:
        sep = "&" if urlsplit(resp.redirect_uri).query else "?"
        location += sep + urlencode(resp.params)
    return Response(status_code=303, headers={"location": location, **security_headers()})


def browser_id(request: Request) -> tuple[str, bool]:
    current = request.cookies.get(BROWSER_COOKIE)
    return (current, False) if current else (new_browser_id(), True)


def set_browser_cookie(response: Response, provider: Provider, value: str) -> None:
    response.set_cookie(
        BROWSER_COOKIE,
        value,
        max_age=400 * 24 * 3600,
        httponly=True,
        secure=provider.inst.config.secure_cookies,
        samesite="lax",
        path="/",
    )


# -- authorization endpoint ---------------------------------------------------------------
async def authorize(request: Request) -> Response:
    provider = provider_of(request)
    params = await params_of(request)
    oreq = OAuthRequest(request.method, request_uri(request), request.headers, params)
    browser, new_browser = browser_id(request)
    cookie = request.cookies.get(COOKIE_NAME)
    response = await hot(provider, _authorize, provider, oreq, cookie, browser)
    if new_browser:
        set_browser_cookie(response, provider, browser)
    return response


def _authorize(
    provider: Provider, oreq: OAuthRequest, cookie: str | None, browser: str
) -> Response:
    try:
        req = authorization.validate(provider, oreq)
    except OAuth2Error as error:
        return _oauth_error(provider, error, oreq.payload.data.get("response_mode", "query"))
    now = provider.now()
    sessions = Sessions(provider.store, provider.keys, provider.issuer)
    session = sessions.from_cookie(cookie, now)
    user = provider.active_user(session.user_id) if session else None
    try:
        step = authorization.decide(provider, req, session, user if session else None, now)
    except OAuth2Error as error:
        return _oauth_error(provider, error, req.response_mode)
    flows = LoginFlows(provider.store)
    if step is Next.ISSUE:
        assert user is not None and session is not None
        return respond(authorization.issue_code(provider, req, user, session))
    if step is Next.CONSENT:
        assert user is not None and session is not None
        flow = flows.start(
            browser,
            now,
            authorization=req.params,
            step=Step.DONE,
            user_id=user.id,
            session_sid=session.sid,
        )
        return RedirectResponse(f"/openid/auth/resume?flow={flow.id}", status_code=303)
    # A sign-in asked while a session exists (prompt=login, max_age) replaces that session.
    replaces = session.sid if session is not None else None
    flow = flows.start(browser, now, authorization=req.params, replaces=replaces)
    return RedirectResponse(f"/login?flow={flow.id}", status_code=303)


def _oauth_error(provider: Provider, error: OAuth2Error, mode: str) -> Response:
    if error.redirect_uri:
        return respond(authorization.error_response(provider, error, mode))
    return error_page(provider, error.description or "Invalid request.", error.error)


async def resume(request: Request) -> Response:
    """After the login pages: finish the authorization request the flow carried."""
    provider = provider_of(request)
    return await blocking(
        _resume,
        provider,
        request.query_params.get("flow"),
        request.cookies.get(BROWSER_COOKIE),
        str(request.url),
        None,
    )


async def consent(request: Request) -> Response:
    provider = provider_of(request)
    form = await request.form()
    flow_id, token = form.get("flow"), form.get("csrf_token")
    browser = request.cookies.get(BROWSER_COOKIE)
    if not isinstance(flow_id, str) or not check_csrf(
        provider.inst.secret_key, flow_id, browser, token if isinstance(token, str) else None
    ):
        return error_page(provider, "This form has expired; start again.", None, 403)
    decision = "allow" if form.get("decision") == "allow" else "deny"
    return await blocking(_resume, provider, flow_id, browser, str(request.url), decision)


def _resume(
    provider: Provider, flow_id: str | None, browser: str | None, url: str, decision: str | None
) -> Response:
    now = provider.now()
    flows = LoginFlows(provider.store)
    flow = flows.get(flow_id, browser, now)
    if flow is None or flow.step is not Step.DONE or flow.authorization is None:
        return error_page(provider, "This sign-in has expired; start again.", None)
    oreq = OAuthRequest("GET", url, {}, flow.authorization.items())
    try:
        req = authorization.validate(provider, oreq)
    except OAuth2Error as error:
        return _oauth_error(provider, error, "query")
    sid = flow.row.session_sid
    if sid and flow.replaces and flow.replaces != sid:
        sid = Sessions(provider.store, provider.keys, provider.issuer).replace(
            flow.replaces, sid, now, lambda user_id: _username(provider, user_id)
        )
        provider.store.advance_flow(flow.id, Step.DONE.value, session_sid=sid)
    session = provider.store.session(sid=sid) if sid else None
    user = provider.active_user(session.user_id) if session else None
    if session is None or user is None:
        return error_page(provider, "This sign-in has expired; start again.", None)
    try:
        if decision == "deny":
            from keyhall.oidc.errors import AccessDeniedError

            denied = AccessDeniedError("The user denied access.")
            denied.redirect_uri, denied.state = req.redirect_uri, req.state
            raise denied
        if decision == "allow":
            provider.store.put_consent(user.id, req.client.id, req.scope, now)
        step = authorization.decide(provider, req, session, user, now, just_logged_in=True)
    except OAuth2Error as error:
        flows.finish(flow)
        return _oauth_error(provider, error, req.response_mode)
    if step is Next.CONSENT and decision is None:
        assert browser is not None
        return render(
            "consent.html",
            {
                "instance_name": instance_name(provider),
                "client_name": req.client.name,
                "scopes": req.scope.split(),
                "flow_id": flow.id,
                "csrf_token": csrf_token(provider.inst.secret_key, flow.id, browser),
            },
            # The form's answer redirects to the app: its origin must be in form-action.
            csp=flow_csp(req.redirect_uri),
        )
    if not flows.finish(flow):
        return error_page(provider, "This sign-in was already completed.", None)
    return respond(authorization.issue_code(provider, req, user, session))


def _username(provider: Provider, user_id: str) -> str:
    user = provider.directory.view.users.get(user_id)
    return user.username if user else ""


# -- token, revocation, introspection ---------------------------------------------------
async def token(request: Request) -> Response:
    provider = provider_of(request)
    oreq = OAuthRequest("POST", request_uri(request), request.headers, await params_of(request))
    result = await hot(provider, provider.server.create_token_response, oreq)
    return with_cors(request, provider, oauth_response(result))


async def revoke(request: Request) -> Response:
    return await _endpoint(request, "revocation")


async def introspect(request: Request) -> Response:
    return await _endpoint(request, "introspection")


async def _endpoint(request: Request, name: str) -> Response:
    provider = provider_of(request)
    oreq = OAuthRequest("POST", request_uri(request), request.headers, await params_of(request))
    result = await blocking(provider.server.create_endpoint_response, name, oreq)
    return with_cors(request, provider, oauth_response(result))


# -- userinfo ------------------------------------------------------------------------------
async def me(request: Request) -> Response:
    """OIDC Core §5.3.1: GET or POST; RFC 6750 §2.1 header or §2.2 form body."""
    provider = provider_of(request)
    bearer = None
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        bearer = header[7:].strip()
    elif request.method == "POST":
        form = await request.form()
        value = form.get("access_token")
        bearer = value if isinstance(value, str) else None
    try:
        claims = await hot(provider, userinfo.userinfo, provider, bearer)
    except OAuth2Error as error:
        challenge = f'Bearer error="{error.error}"'
        if error.description:
            challenge += f', error_description="{error.description}"'
        status = error.status_code or InvalidTokenError.status_code
        response: Response = JSONResponse(
            {"error": error.error, "error_description": error.description},
            status_code=status,
            headers={"WWW-Authenticate": challenge, **NO_STORE},
        )
        return with_cors(request, provider, response)
    return with_cors(request, provider, JSONResponse(claims, headers=NO_STORE))


# -- discovery and keys ------------------------------------------------------------------
async def discovery(request: Request) -> Response:
    provider = provider_of(request)
    return JSONResponse(metadata(provider.issuer), headers={"Access-Control-Allow-Origin": "*"})


async def jwks(request: Request) -> Response:
    return _jwks(request, rsa_only=False)


async def jwks_rsaonly(request: Request) -> Response:
    return _jwks(request, rsa_only=True)


def _jwks(request: Request, *, rsa_only: bool) -> Response:
    provider = provider_of(request)
    return JSONResponse(
        provider.keys.jwks(rsa_only=rsa_only),
        media_type="application/jwk-set+json",
        headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "max-age=300"},
    )


# -- end session -------------------------------------------------------------------------
async def end_session(request: Request) -> Response:
    provider = provider_of(request)
    params = dict(await params_of(request))
    cookie = request.cookies.get(COOKIE_NAME)
    return await blocking(
        _end_session, provider, params, cookie, request.cookies.get(BROWSER_COOKIE)
    )


def _end_session(
    provider: Provider, params: dict[str, str], cookie: str | None, browser: str | None
) -> Response:
    now = provider.now()
    sessions = Sessions(provider.store, provider.keys, provider.issuer)
    session = sessions.from_cookie(cookie, now)
    try:
        req = logout.validate(provider, params, session)
    except logout.LogoutError as error:
        return error_page(provider, error.message, "invalid_request")
    if req.needs_confirmation and browser:
        return render(
            "logout.html",
            {
                "instance_name": instance_name(provider),
                "confirm": True,
                "csrf_token": csrf_token(provider.inst.secret_key, "logout", browser),
            },
        )
    if req.sid is not None and not req.needs_confirmation:
        sessions.end(req.sid, req.username or "", now)
    return _logged_out(
        provider, req.redirect_to, req.state, req.client.name if req.client else None
    )


def _logged_out(
    provider: Provider, redirect_to: str | None, state: str | None, client_name: str | None
) -> Response:
    if redirect_to is not None:
        params = [("state", state)] if state is not None else []
        response: Response = respond(AuthorizationResponse(redirect_to, params, "query"))
    else:
        response = render(
            "logout.html",
            {
                "instance_name": instance_name(provider),
                "confirm": False,
                "client_name": client_name,
            },
        )
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


async def end_session_confirm(request: Request) -> Response:
    provider = provider_of(request)
    form = await request.form()
    token = form.get("csrf_token")
    browser = request.cookies.get(BROWSER_COOKIE)
    if not check_csrf(
        provider.inst.secret_key, "logout", browser, token if isinstance(token, str) else None
    ):
        return error_page(provider, "This form has expired.", None, 403)
    cookie = request.cookies.get(COOKIE_NAME)

    def end() -> Response:
        now = provider.now()
        sessions = Sessions(provider.store, provider.keys, provider.issuer)
        session = sessions.from_cookie(cookie, now)
        if session is not None:
            user = provider.directory.view.users.get(session.user_id)
            sessions.end(session.sid, user.username if user else "", now)
        return _logged_out(provider, None, None, None)

    return await blocking(end)


# -- CORS for browser-based public clients -------------------------------------------------
def _origins(provider: Provider) -> set[str]:
    origins = set()
    for client in provider.clients().values():
        if client.public:
            for uri in client.redirect_uris:
                parts = urlsplit(uri)
                if parts.scheme in {"http", "https"}:
                    origins.add(f"{parts.scheme}://{parts.netloc}")
    return origins


def with_cors(request: Request, provider: Provider, response: Response) -> Response:
    origin = request.headers.get("origin")
    if origin and origin in _origins(provider):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


async def preflight(request: Request) -> Response:
    provider = provider_of(request)
    origin = request.headers.get("origin")
    allowed = await blocking(_origins, provider)
    if not origin or origin not in allowed:
        return Response(status_code=403)
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        },
    )


def _route(path: str, endpoint: Any, methods: Iterable[str]) -> Route:
    return Route(path, endpoint, methods=list(methods))


ROUTES = [
    _route("/.well-known/openid-configuration", discovery, ["GET"]),
    _route("/openid/.well-known/openid-configuration", discovery, ["GET"]),
    _route("/openid/auth", authorize, ["GET", "POST"]),
    _route("/openid/auth/resume", resume, ["GET"]),
    _route("/openid/auth/consent", consent, ["POST"]),
    _route("/openid/token", token, ["POST"]),
    _route("/openid/token", preflight, ["OPTIONS"]),
    _route("/openid/me", me, ["GET", "POST"]),
    _route("/openid/me", preflight, ["OPTIONS"]),
    _route("/openid/jwks", jwks, ["GET"]),
    _route("/openid/jwks_rsaonly", jwks_rsaonly, ["GET"]),
    _route("/openid/token/revocation", revoke, ["POST"]),
    _route("/openid/token/revocation", preflight, ["OPTIONS"]),
    _route("/openid/token/introspection", introspect, ["POST"]),
    _route("/openid/session/end", end_session, ["GET", "POST"]),
    _route("/openid/session/end/confirm", end_session_confirm, ["POST"]),
]

# Hit on every sign-in, code exchange, refresh and userinfo call, and answering every error in
# their own form: `HotPathApp` sends these straight here.
HOT_ROUTES = {
    ("/openid/auth", "GET"): authorize,
    ("/openid/auth", "POST"): authorize,
    ("/openid/token", "POST"): token,
    ("/openid/me", "GET"): me,
    ("/openid/me", "POST"): me,
}
