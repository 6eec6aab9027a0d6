"""RFC 6749 §4.1.1 and OIDC Core §3.1.2: the authorization endpoint.

Authlib's code grant validates the client, the redirect URI (an unknown client or redirect URI
is never redirected to), the response type and the PKCE challenge; the `check_*` steps below add
OIDC's parameters. `decide` then chooses between sending the user to log in, asking consent,
refusing, or issuing a code (RFC 9207 `iss` included in every response).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from keyhall.directory.models import User
from keyhall.oidc.claims import ClaimsRequest, parse_claims_parameter
from keyhall.oidc.clients import Client
from keyhall.oidc.discovery import PROMPT_VALUES
from keyhall.oidc.errors import (
    AccessDeniedError,
    ConsentRequiredError,
    InvalidRequestError,
    LoginRequiredError,
    OAuth2Error,
    RequestNotSupportedError,
    RequestURINotSupportedError,
)
from keyhall.oidc.grant import Grant, new_secret
from keyhall.oidc.provider import CODE_LIFETIME, Provider
from keyhall.oidc.server import Request
from keyhall.storage.oidc_store import CodeRow, SessionRow

RESPONSE_MODES = ("query", "form_post")


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    client: Client
    redirect_uri: str
    scope: str
    state: str | None
    nonce: str | None
    response_mode: str
    prompt: frozenset[str]
    max_age: int | None
    login_hint: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    claims: ClaimsRequest
    params: dict[str, str]
    """The request as sent, to resume it after the login pages."""


@dataclass(frozen=True, slots=True)
class AuthorizationResponse:
    """Where to send the browser, and how (OAuth 2.0 Form Post Response Mode)."""

    redirect_uri: str
    params: list[tuple[str, str]]
    response_mode: str


class Next(enum.Enum):
    LOGIN = "login"
    CONSENT = "consent"
    ISSUE = "issue"


Check = Callable[[Mapping[str, str], Client], None]


def check_request_objects(params: Mapping[str, str], client: Client) -> None:
    # OIDC Core §6: request objects are not supported; say so with the dedicated codes.
    if "request" in params:
        raise RequestNotSupportedError()
    if "request_uri" in params:
        raise RequestURINotSupportedError()


def check_response_mode(params: Mapping[str, str], client: Client) -> None:
    if params.get("response_mode", "query") not in RESPONSE_MODES:
        raise InvalidRequestError("Unsupported 'response_mode'.")


def check_prompt(params: Mapping[str, str], client: Client) -> None:
    prompts = params.get("prompt", "").split()
    if any(p not in PROMPT_VALUES for p in prompts):
        raise InvalidRequestError("Unsupported 'prompt' value.")
    # OIDC Core §3.1.2.1: none with any other value is an error.
    if "none" in prompts and len(prompts) > 1:
        raise InvalidRequestError("'prompt=none' cannot be combined with other values.")


def check_max_age(params: Mapping[str, str], client: Client) -> None:
    raw = params.get("max_age")
    if raw is not None and not raw.isdigit():
        raise InvalidRequestError("'max_age' must be a non-negative integer.")


def check_claims(params: Mapping[str, str], client: Client) -> None:
    parse_claims_parameter(params.get("claims"))


CHECKS: tuple[Check, ...] = (
    check_request_objects,
    check_response_mode,
    check_prompt,
    check_max_age,
    check_claims,
)


def validate(provider: Provider, request: Request) -> AuthorizationRequest:
    """Raise an OAuth2Error (with `redirect_uri` only once that URI is verified) or return it."""
    grant = provider.server.get_consent_grant(request)
    redirect_uri: str = grant.redirect_uri
    client = request.client
    assert client is not None  # set by the grant's validation
    params: dict[str, str] = dict(request.payload.data)
    try:
        for check in CHECKS:
            check(params, client)
    except OAuth2Error as error:
        error.redirect_uri = redirect_uri
        error.state = params.get("state")
        raise
    max_age = params.get("max_age")
    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        scope=request.scope or "",
        state=params.get("state"),
        nonce=params.get("nonce"),
        response_mode=params.get("response_mode", "query"),
        prompt=frozenset(params.get("prompt", "").split()),
        max_age=None if max_age is None else int(max_age),
        login_hint=params.get("login_hint"),
        code_challenge=params.get("code_challenge"),
        code_challenge_method=params.get("code_challenge_method"),
        claims=parse_claims_parameter(params.get("claims")),
        params=params,
    )


def error_response(
    provider: Provider, error: OAuth2Error, response_mode: str = "query"
) -> AuthorizationResponse:
    """RFC 6749 §4.1.2.1 plus RFC 9207 §2: errors carry `iss` too."""
    params = [(k, v) for k, v in error.get_body() if v is not None]
    params.append(("iss", provider.issuer))
    mode = response_mode if response_mode in RESPONSE_MODES else "query"
    return AuthorizationResponse(error.redirect_uri, params, mode)


def _fail(req: AuthorizationRequest, error: OAuth2Error) -> OAuth2Error:
    error.redirect_uri = req.redirect_uri
    error.state = req.state
    return error


def decide(
    provider: Provider,
    req: AuthorizationRequest,
    session: SessionRow | None,
    user: User | None,
    now: datetime,
    *,
    just_logged_in: bool = False,
) -> Next:
    """OIDC Core §3.1.2.3: authenticate (or not), then authorize; raise what prompt=none hits."""
    stale = (
        session is not None
        and req.max_age is not None
        and now - session.auth_time > timedelta(seconds=req.max_age)
    )
    if not just_logged_in and (user is None or "login" in req.prompt or stale):
        if "none" in req.prompt:
            raise _fail(req, LoginRequiredError())
        return Next.LOGIN
    assert user is not None
    if not provider.allowed(user, req.client):
        raise _fail(req, AccessDeniedError("You are not allowed to use this application."))
    if req.client.settings.consent:
        granted = provider.store.consented_scope(user.id, req.client.id)
        if "consent" in req.prompt or not set(req.scope.split()) <= granted:
            if "none" in req.prompt:
                raise _fail(req, ConsentRequiredError())
            return Next.CONSENT
    return Next.ISSUE


def issue_code(
    provider: Provider, req: AuthorizationRequest, user: User, session: SessionRow
) -> AuthorizationResponse:
    """RFC 6749 §4.1.2: a single-use code bound to client, redirect URI and PKCE challenge."""
    now = provider.now()
    grant = Grant(
        grant_id=new_secret()[:32],
        client_id=req.client.id,
        user_id=user.id,
        sid=session.sid,
        scope=req.scope,
        auth_time=session.auth_time,
        amr=tuple(session.amr),
        nonce=req.nonce,
        claims=req.claims,
    )
    details: dict[str, Any] = {
        **grant.details(),
        "code_challenge": req.code_challenge,
        "code_challenge_method": req.code_challenge_method,
    }
    code = provider.codes.seal(
        CodeRow(
            grant.grant_id,
            grant.client_id,
            grant.user_id,
            grant.sid,
            req.redirect_uri,
            grant.scope,
            details,
            now + CODE_LIFETIME,
        )
    )
    params = [("code", code)]
    if req.state is not None:
        params.append(("state", req.state))
    params.append(("iss", provider.issuer))
    return AuthorizationResponse(req.redirect_uri, params, req.response_mode)
