"""Self-service pages, part two: two-factor sign-in (authenticator app, recovery codes,
passkeys) and app passwords for apps that can't do 2FA (LDAP binds, Simple Auth).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from keyhall.accounts.passkeys import PasskeyError
from keyhall.errors import KeyhallError
from keyhall.web.account import act, back, page, text, view
from keyhall.web.accounts_state import PASSKEY_CSP, SignedIn, signed_in
from keyhall.web.pages import render, security_headers
from keyhall.web.second_factor import totp_setup


# -- two-factor sign-in --------------------------------------------------------------------
def _security(
    me: SignedIn,
    notice: str | None,
    error: str | None = None,
    status: int = 200,
    setup: dict[str, str] | None = None,
) -> Response:
    accounts = me.accounts
    return page(
        me,
        "account/security.html",
        notice=notice,
        error=error,
        status=status,
        csp=PASSKEY_CSP,
        factors=accounts.factors.status(me.user),
        passkeys=accounts.store.passkeys(me.user.id),
        mandatory=accounts.directory.settings()["mandatory_2fa"],
        external=accounts.factors.skips_local_2fa(me.user),
        setup=setup,
    )


async def security_page(request: Request) -> Response:
    return await view(request, _security)


async def totp_start(request: Request) -> Response:
    def handle(me: SignedIn, fields: Mapping[str, Any]) -> Response:
        if me.accounts.factors.status(me.user).totp:
            return _security(me, None, "Remove the current authenticator app first.", 409)
        uri = me.accounts.credentials.enroll_totp(me.user.username, actor=me.actor)
        return _security(me, None, setup=totp_setup(uri))

    return await act(request, handle)


async def totp_confirm(request: Request) -> Response:
    def handle(me: SignedIn, fields: Mapping[str, Any]) -> Response:
        accounts = me.accounts
        try:
            accounts.credentials.confirm_totp(
                me.user.username, text(fields, "code", 16), actor=me.actor
            )
        except KeyhallError:
            from keyhall.directory import totp

            secret = "".join(c for c in text(fields, "secret", 64) if c.isalnum())
            uri = totp.provisioning_uri(secret, me.user.email or me.user.username, accounts.name)
            return _security(me, None, "That code is not right.", 400, setup=totp_setup(uri))
        if accounts.factors.status(me.user).recovery_codes_left == 0:
            return _codes(me, accounts.factors.new_recovery_codes(me.user, actor=me.actor))
        return back("/account/security", "totp")

    return await act(request, handle)


async def totp_remove(request: Request) -> Response:
    def handle(me: SignedIn, fields: Mapping[str, Any]) -> Response:
        try:
            me.accounts.factors.check_removal(me.user, removing_totp=True)
        except KeyhallError as exc:
            return _security(me, None, exc.message, 403)
        me.accounts.credentials.remove_totp(me.user.username, actor=me.actor)
        return back("/account/security", "totp_removed")

    return await act(request, handle)


async def recovery_new(request: Request) -> Response:
    def handle(me: SignedIn, fields: Mapping[str, Any]) -> Response:
        if fields.get("continue"):
            return RedirectResponse(
                "/account/security", status_code=303, headers=security_headers()
            )
        return _codes(me, me.accounts.factors.new_recovery_codes(me.user, actor=me.actor))

    return await act(request, handle)


def _codes(me: SignedIn, codes: list[str]) -> Response:
    return render(
        "recovery_codes.html",
        {
            "instance_name": me.accounts.name,
            "codes": codes,
            "action": "/account/recovery-codes",
            "flow_id": None,
            "csrf_token": me.csrf,
        },
    )


# -- passkeys ------------------------------------------------------------------------------
async def _json_act(request: Request, handle: Any) -> Response:
    try:
        body = json.loads(await request.body())
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}

    def run() -> Response:
        me = signed_in(request)
        if me is None or not me.csrf_ok(body.get("csrf_token")):
            return JSONResponse(
                {"error": "Your session has ended; sign in again."}, status_code=403
            )
        try:
            return handle(me, body)  # type: ignore[no-any-return]
        except KeyhallError as exc:
            return JSONResponse({"error": exc.message}, status_code=400)

    return await run_in_threadpool(run)


async def passkey_options(request: Request) -> Response:
    return await _json_act(
        request, lambda me, body: JSONResponse(me.accounts.passkeys.registration_options(me.user))
    )


async def passkey_register(request: Request) -> Response:
    def handle(me: SignedIn, body: dict[str, Any]) -> Response:
        try:
            me.accounts.passkeys.register(
                me.user,
                str(body.get("challenge_id", "")),
                str(body.get("credential", "")),
                str(body.get("name", ""))[:64],
            )
        except PasskeyError as exc:
            return JSONResponse({"error": exc.message}, status_code=400)
        me.accounts.factors.record(me.user, "user.passkey_add", True, me.ip, "passkey")
        return JSONResponse({"next": "/account/security?done=passkey"})

    return await _json_act(request, handle)


async def passkey_remove(request: Request) -> Response:
    def handle(me: SignedIn, fields: Mapping[str, Any]) -> Response:
        try:
            me.accounts.factors.check_removal(me.user, passkeys=1)
        except KeyhallError as exc:
            return _security(me, None, exc.message, 403)
        if me.accounts.store.delete_passkey(me.user.id, text(fields, "id", 1400)):
            me.accounts.factors.record(me.user, "user.passkey_remove", True, me.ip, "passkey")
        return back("/account/security", "passkey_removed")

    return await act(request, handle)


# -- app passwords -------------------------------------------------------------------------
def _app_passwords(
    me: SignedIn,
    notice: str | None,
    error: str | None = None,
    status: int = 200,
    created: tuple[str, str] | None = None,
) -> Response:
    return page(
        me,
        "account/app_passwords.html",
        notice=notice,
        error=error,
        status=status,
        items=me.accounts.credentials.app_passwords(me.user.username),
        created=created,
        ldap_dn=f"uid={me.user.username},ou=users,{me.provider.inst.config.ldap_base_dn}",
    )


async def app_passwords_page(request: Request) -> Response:
    return await view(request, _app_passwords)


async def app_password_add(request: Request) -> Response:
    def handle(me: SignedIn, fields: Mapping[str, Any]) -> Response:
        name = text(fields, "name", 64)
        try:
            _, secret = me.accounts.credentials.add_app_password(
                me.user.username, name, actor=me.actor
            )
        except KeyhallError as exc:
            return _app_passwords(me, None, exc.message, 400)
        return _app_passwords(me, None, created=(name.strip(), secret))

    return await act(request, handle)


async def app_password_revoke(request: Request) -> Response:
    def handle(me: SignedIn, fields: Mapping[str, Any]) -> Response:
        try:
            me.accounts.credentials.revoke_app_password(
                me.user.username, text(fields, "name", 64), actor=me.actor
            )
        except KeyhallError as exc:
            return _app_passwords(me, None, exc.message, 404)
        return back("/account/app-passwords", "app_password_revoked")

    return await act(request, handle)


ROUTES = [
    Route("/account/security", security_page, methods=["GET"]),
    Route("/account/totp", totp_start, methods=["POST"]),
    Route("/account/totp/confirm", totp_confirm, methods=["POST"]),
    Route("/account/totp/remove", totp_remove, methods=["POST"]),
    Route("/account/recovery-codes", recovery_new, methods=["POST"]),
    Route("/account/passkeys/options", passkey_options, methods=["POST"]),
    Route("/account/passkeys/register", passkey_register, methods=["POST"]),
    Route("/account/passkeys/remove", passkey_remove, methods=["POST"]),
    Route("/account/app-passwords", app_passwords_page, methods=["GET"]),
    Route("/account/app-passwords", app_password_add, methods=["POST"]),
    Route("/account/app-passwords/revoke", app_password_revoke, methods=["POST"]),
]
