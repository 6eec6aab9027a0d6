"""The sign-in steps after the password: prove a second factor, or set one up when mandatory.

Also passkeys at sign-in (W3C WebAuthn §7.2), either as the second factor of a flow that is at
`second_factor`, or alone (passwordless, user verification required) from the first page.
Parse → one domain call in a thread → render; the rules live in `keyhall.accounts`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import segno
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from keyhall.accounts.factors import amr
from keyhall.accounts.passkeys import PasskeyError
from keyhall.directory import totp
from keyhall.directory.models import Actor, User
from keyhall.errors import KeyhallError
from keyhall.web.accounts_state import accounts_of, client_ip, flow_csp, provider_of
from keyhall.web.login import complete, throttled
from keyhall.web.login_flow import Flow, LoginFlows, Step
from keyhall.web.oidc import error_page, instance_name
from keyhall.web.pages import BROWSER_COOKIE, check_csrf, csrf_token, render

EXPIRED = "This sign-in has expired; start again."
BAD_CODE = "That code is not right, or was already used."


def totp_setup(uri: str) -> dict[str, str]:
    """What an enrolment page shows: the QR code (SVG data URI) and the secret as text."""
    secret = parse_qs(urlsplit(uri).query).get("secret", [""])[0]
    qr = segno.make(uri, error="m")
    return {"qr": qr.svg_data_uri(scale=5, dark="#000", light="#fff"), "secret": secret}


class Step2:
    """One request on a flow past its password: the flow, its user and the browser."""

    def __init__(self, request: Request) -> None:
        self.provider = provider_of(request)
        self.accounts = accounts_of(request)
        self.browser = request.cookies.get(BROWSER_COOKIE)
        self.ip = client_ip(request)

    def flow(self, flow_id: str | None, step: Step) -> tuple[Flow, User] | None:
        flow = LoginFlows(self.provider.store).get(flow_id, self.browser, self.provider.now())
        if flow is None or flow.step is not step or flow.row.user_id is None:
            return None
        user = self.provider.active_user(flow.row.user_id)
        return None if user is None else (flow, user)

    def csrf(self, flow: Flow) -> str:
        assert self.browser is not None
        return csrf_token(self.provider.inst.secret_key, flow.id, self.browser)

    def csp(self, flow: Flow) -> str:
        return flow_csp((flow.authorization or {}).get("redirect_uri"))

    def posted_flow(self, fields: dict[str, str], step: Step) -> tuple[Flow, User] | Response:
        """The flow a form was posted for, or the error page when its token or step is wrong."""
        flow_id = fields.get("flow", "")
        if not self.csrf_ok(flow_id, fields.get("csrf_token")):
            return error_page(
                self.provider, "This sign-in form has expired; start again.", None, 403
            )
        found = self.flow(flow_id, step)
        return error_page(self.provider, EXPIRED, None) if found is None else found

    def csrf_ok(self, flow_id: str, token: object) -> bool:
        return check_csrf(
            self.provider.inst.secret_key,
            flow_id,
            self.browser,
            token if isinstance(token, str) else None,
        )


# -- /login/2fa ------------------------------------------------------------------------------
def _second_factor_page(
    s: Step2, flow: Flow, user: User, *, error: str | None = None, status: int = 200
) -> Response:
    factors = s.accounts.factors.status(user)
    return render(
        "second_factor.html",
        {
            "instance_name": instance_name(s.provider),
            "flow_id": flow.id,
            "csrf_token": s.csrf(flow),
            "totp": factors.totp,
            "passkeys": factors.passkeys > 0,
            "recovery": factors.recovery_codes_left > 0,
            "error": error,
        },
        status=status,
        csp=s.csp(flow),
    )


async def second_factor_page(request: Request) -> Response:
    s = Step2(request)

    def show() -> Response:
        found = s.flow(request.query_params.get("flow"), Step.SECOND_FACTOR)
        if found is None:
            return error_page(s.provider, EXPIRED, None)
        return _second_factor_page(s, *found)

    return await run_in_threadpool(show)


async def second_factor_submit(request: Request) -> Response:
    s = Step2(request)
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return await run_in_threadpool(_check_second_factor, s, fields)


def _check_second_factor(s: Step2, fields: dict[str, str]) -> Response:
    found = s.posted_flow(fields, Step.SECOND_FACTOR)
    if isinstance(found, Response):
        return found
    flow, user = found
    guard = s.accounts.guard
    keys = guard.keys(user, user.username, s.ip, s.browser)
    wait = guard.wait_seconds(keys)
    if wait:
        guard.refused(keys, user.username, s.ip, wait)
        page = _second_factor_page(s, flow, user, error=throttled(wait), status=429)
        page.headers["Retry-After"] = str(wait)
        return page
    factors = s.accounts.factors
    code, recovery = fields.get("code", "")[:64], fields.get("recovery_code", "")[:64]
    ok = factors.check_totp(user, code) if code else factors.use_recovery_code(user, recovery)
    factors.record(user, "auth.second_factor", ok, s.ip, "recovery_code" if recovery else "totp")
    if not ok:
        guard.failed(keys, user.username, s.ip)
        return _second_factor_page(s, flow, user, error=BAD_CODE, status=401)
    return complete(s.provider, s.accounts, flow, user, amr("pwd", "otp"), s.browser)


# -- /login/enrol: mandatory 2FA -------------------------------------------------------------
async def enrol_page(request: Request) -> Response:
    s = Step2(request)

    def show() -> Response:
        found = s.flow(request.query_params.get("flow"), Step.ENROL_REQUIRED)
        if found is None:
            return error_page(s.provider, EXPIRED, None)
        flow, user = found
        uri = s.accounts.credentials.enroll_totp(user.username, actor=_actor(user, s.ip))
        return _enrol_page(s, flow, totp_setup(uri))

    return await run_in_threadpool(show)


def _enrol_page(
    s: Step2, flow: Flow, setup: dict[str, str], *, error: str | None = None, status: int = 200
) -> Response:
    return render(
        "enrol.html",
        {
            "instance_name": instance_name(s.provider),
            "flow_id": flow.id,
            "csrf_token": s.csrf(flow),
            "error": error,
            **setup,
        },
        status=status,
        csp=s.csp(flow),
    )


async def enrol_submit(request: Request) -> Response:
    s = Step2(request)
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return await run_in_threadpool(_enrol, s, fields)


def _enrol(s: Step2, fields: dict[str, str]) -> Response:
    found = s.posted_flow(fields, Step.ENROL_REQUIRED)
    if isinstance(found, Response):
        return found
    flow, user = found
    actor = _actor(user, s.ip)
    if fields.get("continue"):
        # Codes were shown; the factor is confirmed: the sign-in may finish.
        if not s.accounts.factors.status(user).enrolled:
            return error_page(s.provider, EXPIRED, None)
        return complete(s.provider, s.accounts, flow, user, amr("pwd", "otp"), s.browser)
    try:
        s.accounts.credentials.confirm_totp(user.username, fields.get("code", "")[:16], actor=actor)
    except KeyhallError:
        # Show the same secret again (the one this page was given) rather than a new one.
        secret = "".join(c for c in fields.get("secret", "") if c.isalnum())[:64]
        uri = totp.provisioning_uri(secret, user.email or user.username, s.accounts.name)
        return _enrol_page(s, flow, totp_setup(uri), error=BAD_CODE, status=401)
    codes = s.accounts.factors.new_recovery_codes(user, actor=actor)
    return render(
        "recovery_codes.html",
        {
            "instance_name": instance_name(s.provider),
            "codes": codes,
            "action": "/login/enrol",
            "flow_id": flow.id,
            "csrf_token": s.csrf(flow),
        },
        csp=s.csp(flow),
    )


def _actor(user: User, ip: str | None) -> Actor:
    return Actor("user", user.username, ip)


# -- passkeys at sign-in -------------------------------------------------------------------
async def passkey_options(request: Request) -> Response:
    s = Step2(request)
    body = await _json(request)
    return await run_in_threadpool(_passkey_options, s, body)


def _passkey_options(s: Step2, body: dict[str, Any]) -> Response:
    flow_id = str(body.get("flow", ""))
    if not s.csrf_ok(flow_id, body.get("csrf_token")):
        return _json_error("This sign-in form has expired; start again.", 403)
    flows = LoginFlows(s.provider.store)
    flow = flows.get(flow_id, s.browser, s.provider.now())
    if flow is None:
        return _json_error(EXPIRED, 400)
    user = None
    if flow.step is Step.SECOND_FACTOR and flow.row.user_id is not None:
        user = s.provider.active_user(flow.row.user_id)
        if user is None:
            return _json_error(EXPIRED, 400)
    elif flow.step is not Step.PENDING:
        return _json_error(EXPIRED, 400)
    return JSONResponse(s.accounts.passkeys.authentication_options(user))


async def passkey_verify(request: Request) -> Response:
    s = Step2(request)
    body = await _json(request)
    return await run_in_threadpool(_passkey_verify, s, body)


def _passkey_verify(s: Step2, body: dict[str, Any]) -> Response:
    flow_id = str(body.get("flow", ""))
    if not s.csrf_ok(flow_id, body.get("csrf_token")):
        return _json_error("This sign-in form has expired; start again.", 403)
    flow = LoginFlows(s.provider.store).get(flow_id, s.browser, s.provider.now())
    if flow is None or flow.step not in (Step.PENDING, Step.SECOND_FACTOR):
        return _json_error(EXPIRED, 400)
    expected = s.provider.active_user(flow.row.user_id) if flow.row.user_id else None
    if flow.step is Step.SECOND_FACTOR and expected is None:
        return _json_error(EXPIRED, 400)
    try:
        verified = s.accounts.passkeys.authenticate(
            str(body.get("challenge_id", "")), str(body.get("credential", "")), expected
        )
    except PasskeyError as exc:
        return _json_error(exc.message, 400)
    user = expected or s.provider.active_user(verified.passkey.user_id)
    if user is None:
        return _json_error(EXPIRED, 400)
    methods = amr("pwd", verified.amr) if expected else amr(verified.amr, "user")
    s.accounts.factors.record(user, "auth.passkey", True, s.ip, "passkey")
    return _as_json(complete(s.provider, s.accounts, flow, user, methods, s.browser))


def _as_json(response: Response) -> Response:
    """A fetch() caller can't follow a redirect's cookie: hand it the target and the cookie."""
    location = response.headers.get("location")
    if response.status_code != 303 or location is None:
        return _json_error(EXPIRED, 400)
    out = JSONResponse({"next": location}, headers={"Cache-Control": "no-store"})
    for value in response.headers.getlist("set-cookie"):
        out.headers.append("set-cookie", value)
    return out


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _json_error(message: str, status: int) -> Response:
    return JSONResponse(
        {"error": message}, status_code=status, headers={"Cache-Control": "no-store"}
    )


ROUTES = [
    Route("/login/2fa", second_factor_page, methods=["GET"]),
    Route("/login/2fa", second_factor_submit, methods=["POST"]),
    Route("/login/enrol", enrol_page, methods=["GET"]),
    Route("/login/enrol", enrol_submit, methods=["POST"]),
    Route("/login/passkey/options", passkey_options, methods=["POST"]),
    Route("/login/passkey/verify", passkey_verify, methods=["POST"]),
]
