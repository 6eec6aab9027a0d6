"""Server-rendered pages: Jinja2 with autoescape, and the headers every page carries.

Pages send a strict Content-Security-Policy (no inline script, no framing: `frame-ancestors
'none'` against clickjacking), no referrer (codes and states must not leak to other sites), and
`no-store`. CSRF tokens are an HMAC of the instance secret over the login flow and the browser
cookie, so only the browser that holds the cookie can post the flow's forms.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
BROWSER_COOKIE = "keyhall_browser"


def security_headers(csp: str | None = None) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp
        or (
            "default-src 'none'; style-src 'self'; img-src 'self' data:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
    }


def render(
    template: str, context: dict[str, Any], *, status: int = 200, csp: str | None = None
) -> HTMLResponse:
    body = TEMPLATES.get_template(template).render(**context)
    return HTMLResponse(body, status_code=status, headers=security_headers(csp))


def csrf_token(secret_key: bytes, flow_id: str, browser: str) -> str:
    message = f"csrf|{flow_id}|{browser}".encode()
    return hmac.new(secret_key, message, hashlib.sha256).hexdigest()


def check_csrf(secret_key: bytes, flow_id: str, browser: str | None, token: str | None) -> bool:
    if not browser or not token:
        return False
    return hmac.compare_digest(csrf_token(secret_key, flow_id, browser), token)


def new_browser_id() -> str:
    return secrets.token_urlsafe(24)
