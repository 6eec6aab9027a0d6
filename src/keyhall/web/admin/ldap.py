"""Dashboard: the LDAP server — on/off, IP allowlist, service account secret, how to connect."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keyhall.errors import KeyhallError
from keyhall.web.admin.common import Admin, Form, action, checked, done, page, words


def _page(admin: Admin, *, error: str | None = None, secret: str | None = None) -> Response:
    svc = admin.services
    policy, state = svc.ldap.show()
    return admin.render(
        "ldap.html",
        {
            "enabled": policy.enabled,
            "allowlist": state.allowlist,
            "secret": policy.secret,
            "rotated": secret is not None,
            "rotated_at": state.rotated_at,
            "bind_dn": svc.ldap_bind_dn,
            "base_dn": svc.inst.config.ldap_base_dn.strip().lower(),
            "urls": svc.ldap_urls(),
            "example": svc.ldapsearch_example(),
            "error": error,
        },
        section="ldap",
    )


async def show_ldap(request: Request) -> Response:
    return await page(request, _page)


def _failed(admin: Admin, f: Form, exc: KeyhallError) -> Response:
    return _page(admin, error=exc.message)


async def save_ldap(request: Request) -> Response:
    def handle(admin: Admin, f: Form) -> Response:
        svc = admin.services
        svc.ldap.set_allowlist(words(f.get("allowlist", ""), commas=True), actor=admin.actor)
        enabled = "true" if checked(f, "enabled") else "false"
        svc.directory.set_setting("ldap_enabled", enabled, actor=admin.actor)
        return done("/admin/ldap", "ldap_saved")

    return await action(request, handle, _failed)


async def rotate_secret(request: Request) -> Response:
    def handle(admin: Admin, f: Form) -> Response:
        secret = admin.services.ldap.rotate_secret(actor=admin.actor)
        return _page(admin, secret=secret)

    return await action(request, handle, _failed)


ROUTES = [
    Route("/admin/ldap", show_ldap, methods=["GET"]),
    Route("/admin/ldap", save_ldap, methods=["POST"]),
    Route("/admin/ldap/secret", rotate_secret, methods=["POST"]),
]
