"""What the account pages share: the `Accounts` service, the signed-in user, CSRF, headers.

A self-service page belongs to the SSO session's user. Its forms carry a CSRF token that is an
HMAC over the session's `sid` and the browser cookie, so a token is useless in another browser
or after the session ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from keyhall.accounts.service import Accounts
from keyhall.directory.models import Actor, User
from keyhall.oidc.provider import Provider
from keyhall.oidc.sessions import COOKIE_NAME, Sessions
from keyhall.storage.oidc_store import SessionRow
from keyhall.web.pages import BROWSER_COOKIE, check_csrf, csrf_token, security_headers

# Pages with passkey buttons run one same-origin script and call back to the same origin.
PASSKEY_CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)


def flow_csp(redirect_uri: str | None) -> str:
    """CSP for a sign-in page whose form may end in a redirect to the app (CSP 3 §6.3.1.1:
    browsers hold a form submission's redirects to `form-action`, so the app's origin too)."""
    if not redirect_uri:
        return PASSKEY_CSP
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        # Native apps' custom schemes: CSP source lists can name a scheme on its own.
        origin = f"{parts.scheme}:" if parts.scheme.isalnum() else ""
    else:
        origin = f"{parts.scheme}://{parts.netloc}"
    return PASSKEY_CSP.replace("form-action 'self'", f"form-action 'self' {origin}".rstrip())


def accounts_of(request: Request) -> Accounts:
    return request.app.state.accounts  # type: ignore[no-any-return]


def provider_of(request: Request) -> Provider:
    return request.app.state.provider  # type: ignore[no-any-return]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The browser's SSO session and its user, for one request."""

    provider: Provider
    accounts: Accounts
    user: User
    session: SessionRow
    browser: str
    ip: str | None

    @property
    def actor(self) -> Actor:
        return Actor("user", self.user.username, self.ip)

    @property
    def csrf(self) -> str:
        return csrf_token(
            self.provider.inst.secret_key, f"account:{self.session.sid}", self.browser
        )

    def csrf_ok(self, token: object) -> bool:
        return check_csrf(
            self.provider.inst.secret_key,
            f"account:{self.session.sid}",
            self.browser,
            token if isinstance(token, str) else None,
        )


def signed_in(request: Request) -> SignedIn | None:
    """The session behind the request's cookies, or None (no, ended or expired session)."""
    provider = provider_of(request)
    browser = request.cookies.get(BROWSER_COOKIE)
    if not browser:
        return None
    sessions = Sessions(provider.store, provider.keys, provider.issuer)
    session = sessions.from_cookie(request.cookies.get(COOKIE_NAME), provider.now())
    user = provider.active_user(session.user_id) if session is not None else None
    if session is None or user is None:
        return None
    return SignedIn(provider, accounts_of(request), user, session, browser, client_ip(request))


def to_login(request: Request) -> Response:
    back = request.url.path
    return RedirectResponse(f"/login?return_to={back}", status_code=303, headers=security_headers())
