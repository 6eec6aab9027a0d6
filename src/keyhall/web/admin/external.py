"""Dashboard: the external LDAP / Active Directory — settings, test login, sync now, reports."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keyhall.connectors.settings import KEYS
from keyhall.errors import KeyhallError
from keyhall.web.admin.common import Admin, Form, action, checked, done, page

RUNS_SHOWN = 10


def as_text(value: Any) -> str:
    """A setting as the form shows it; the same text sent back means "unchanged"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value) if value else ""
    return str(value)


def _page(admin: Admin, *, error: str | None = None, **extra: Any) -> Response:
    ext = admin.services.external
    shown = ext.show()
    return admin.render(
        "external.html",
        {
            "keys": KEYS,
            "values": {k: as_text(v) for k, v in shown["settings"].items()},
            "passes_2fa_through": shown["passes_2fa_through"],
            "runs": ext.store.runs(limit=RUNS_SHOWN),
            "error": error,
            "test": None,
            "report": None,
            **extra,
        },
        section="external",
    )


def _failed(admin: Admin, f: Form, exc: KeyhallError) -> Response:
    return _page(admin, error=exc.message)


async def show_external(request: Request) -> Response:
    return await page(request, _page)


async def save_external(request: Request) -> Response:
    def handle(admin: Admin, f: Form) -> Response:
        current = {k: as_text(v) for k, v in admin.services.external.show()["settings"].items()}
        changes: dict[str, str] = {}
        for key, spec in KEYS.items():
            if spec.kind == "bool":
                text = "true" if checked(f, key) else "false"
            elif spec.secret:
                # An empty password field keeps the stored secret (it is never sent to the page).
                if not f.get(key):
                    continue
                text = f[key]
            else:
                text = f.get(key, "").strip()
            if text != current.get(key):
                changes[key] = text
        if changes:
            admin.services.external.set(changes, actor=admin.actor)
        return done("/admin/external", "external_saved")

    return await action(request, handle, _failed)


async def test_login(request: Request) -> Response:
    def handle(admin: Admin, f: Form) -> Response:
        check = admin.services.external.test_login(
            f.get("username", ""), f.get("password", ""), f.get("totp") or None
        )
        return _page(admin, test=check)

    return await action(request, handle, _failed)


async def sync_now(request: Request) -> Response:
    def handle(admin: Admin, f: Form) -> Response:
        report = admin.services.external.sync(actor=admin.actor, dry_run=checked(f, "dry_run"))
        return _page(admin, report=report.as_dict())

    return await action(request, handle, _failed)


ROUTES = [
    Route("/admin/external", show_external, methods=["GET"]),
    Route("/admin/external", save_external, methods=["POST"]),
    Route("/admin/external/test", test_login, methods=["POST"]),
    Route("/admin/external/sync", sync_now, methods=["POST"]),
]
