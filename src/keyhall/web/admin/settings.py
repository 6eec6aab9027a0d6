"""Dashboard: instance settings — name, mandatory 2FA, lock profile, password policy."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keyhall.directory.settings import SETTINGS, parse_setting
from keyhall.errors import KeyhallError
from keyhall.web.admin.common import Admin, Form, action, checked, done, page

# The settings this page edits, in its order; the rest stay with `keyhall settings`.
SHOWN = ("name", "mandatory_2fa", "lock_profile", "password_min_length")


def _page(admin: Admin, *, error: str | None = None) -> Response:
    values = admin.services.directory.settings()
    return admin.render(
        "settings.html",
        {"shown": {k: SETTINGS[k] for k in SHOWN}, "values": values, "error": error},
        section="settings",
    )


async def show_settings(request: Request) -> Response:
    return await page(request, _page)


async def save_settings(request: Request) -> Response:
    def handle(admin: Admin, f: Form) -> Response:
        d = admin.services.directory
        current = d.settings()
        texts = {
            key: ("true" if checked(f, key) else "false")
            if SETTINGS[key].kind is bool
            else f.get(key, "")
            for key in SHOWN
        }
        # Check every value first, then write only what changed (each change is audited, and
        # turning mandatory 2FA on signs out users without a second factor).
        parsed = {key: parse_setting(key, text) for key, text in texts.items()}
        for key, value in parsed.items():
            if value != current[key]:
                d.set_setting(key, texts[key], actor=admin.actor)
        return done("/admin/settings", "settings_saved")

    def failed(admin: Admin, f: Form, exc: KeyhallError) -> Response:
        return _page(admin, error=exc.message)

    return await action(request, handle, failed)


ROUTES = [
    Route("/admin/settings", show_settings, methods=["GET"]),
    Route("/admin/settings", save_settings, methods=["POST"]),
]
