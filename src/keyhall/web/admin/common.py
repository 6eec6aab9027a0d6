"""What every dashboard page shares: who may see it, CSRF, headers, errors, notices.

The dashboard belongs to the SSO session (the cookie the login page sets): no session sends
the browser to sign in, a session whose user is not an owner or admin gets 403. Every form
carries a CSRF token, an HMAC over the session's `sid` and the browser cookie, checked before
anything else. Pages run no inline script (the copy buttons and confirmations come from one
static file), so the CSP allows scripts and styles from this origin only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from keyhall.directory.models import Actor
from keyhall.errors import KeyhallError
from keyhall.web.accounts_state import SignedIn, signed_in, to_login
from keyhall.web.api.problems import problem_of
from keyhall.web.pages import TEMPLATES, check_csrf, csrf_token, security_headers
from keyhall.web.services import AdminServices

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
FORBIDDEN = "The dashboard is for the owner and administrators."

# Notices after a successful form, by code: the page never echoes text from the URL.
NOTICES = {
    "user_created": "User created.",
    "user_saved": "Profile saved.",
    "role_saved": "Role changed.",
    "enabled": "User enabled.",
    "disabled": "User disabled: their sessions and tokens ended.",
    "password_set": "Password set; the user's sessions ended.",
    "factors_reset": "Two-factor authentication reset.",
    "invited": "Invitation sent.",
    "user_deleted": "User deleted: their access ended everywhere.",
    "group_created": "Group created.",
    "group_deleted": "Group deleted.",
    "members_added": "Members added.",
    "members_removed": "Members removed.",
    "client_saved": "Client saved.",
    "client_deleted": "Client deleted.",
    "ldap_saved": "LDAP server settings saved.",
    "external_saved": "Directory settings saved.",
    "settings_saved": "Settings saved.",
}


@dataclass(frozen=True)
class Admin:
    """One dashboard request: the signed-in administrator and the use cases."""

    me: SignedIn
    services: AdminServices
    query: Mapping[str, str] = field(default_factory=dict)

    @property
    def actor(self) -> Actor:
        return Actor("user", self.me.user.username, self.me.ip)

    @property
    def csrf(self) -> str:
        return csrf_token(self.secret, f"admin:{self.me.session.sid}", self.me.browser)

    def csrf_ok(self, token: str | None) -> bool:
        return check_csrf(self.secret, f"admin:{self.me.session.sid}", self.me.browser, token)

    @property
    def secret(self) -> bytes:
        return self.services.inst.secret_key

    def render(
        self, template: str, context: dict[str, Any], *, status: int = 200, section: str = ""
    ) -> HTMLResponse:
        notice = NOTICES.get(self.query.get("done", ""))
        body = TEMPLATES.get_template(f"admin/{template}").render(
            instance_name=self.services.instance_name(),
            me=self.me.user,
            csrf_token=self.csrf,
            section=section,
            notice=notice,
            **context,
        )
        return HTMLResponse(body, status_code=status, headers=security_headers(CSP))


def services_of(request: Request) -> AdminServices:
    found: AdminServices = request.app.state.admin
    return found


def _error(services: AdminServices, message: str, status: int) -> Response:
    body = TEMPLATES.get_template("admin/error.html").render(
        instance_name=services.instance_name(), message=message, code=None
    )
    return HTMLResponse(body, status_code=status, headers=security_headers(CSP))


def _forbidden(services: AdminServices, message: str = FORBIDDEN) -> Response:
    return _error(services, message, 403)


def _admin(request: Request) -> Admin | Response:
    services = services_of(request)
    me = signed_in(request)
    if me is None:
        return to_login(request)
    if not me.user.is_admin:
        return _forbidden(services)
    return Admin(me, services, dict(request.query_params))


async def page(request: Request, build: Callable[[Admin], Response]) -> Response:
    """GET: check the session, then build the page in a thread (it may query the database)."""

    def run() -> Response:
        admin = _admin(request)
        if isinstance(admin, Response):
            return admin
        try:
            return build(admin)
        except KeyhallError as exc:
            return _error(admin.services, exc.message, problem_of(exc)[0])

    return await run_in_threadpool(run)


Form = dict[str, str]
Handler = Callable[[Admin, Form], Response]
OnError = Callable[[Admin, Form, KeyhallError], Response]


async def action(request: Request, handle: Handler, on_error: OnError) -> Response:
    """POST: check the session and CSRF token, run the use case in a thread; a domain error
    re-renders the form with the message and the status the API would answer."""
    form = await request.form()
    fields: Form = {k: v for k, v in form.items() if isinstance(v, str)}

    def run() -> Response:
        admin = _admin(request)
        if isinstance(admin, Response):
            return admin
        if not admin.csrf_ok(fields.get("csrf_token")):
            return _forbidden(admin.services, "This form has expired; reload the page.")
        try:
            return handle(admin, fields)
        except KeyhallError as exc:
            response = on_error(admin, fields, exc)
            response.status_code = problem_of(exc)[0]
            return response

    return await run_in_threadpool(run)


def done(path: str, notice: str) -> Response:
    """Post/redirect/get: the browser lands on a page it can reload safely."""
    sep = "&" if "?" in path else "?"
    return RedirectResponse(
        f"{path}{sep}done={notice}", status_code=303, headers=security_headers()
    )


def checked(fields: Form, name: str) -> bool:
    return fields.get(name) in {"on", "true", "1", "yes"}


def words(text: str, *, commas: bool = False) -> list[str]:
    """Values typed one per line (or space-separated; also comma-separated if `commas`)."""
    if commas:
        text = text.replace(",", " ")
    return text.split()
