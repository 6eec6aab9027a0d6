"""The admin dashboard: server-rendered pages under `/admin`, one module per area."""

from __future__ import annotations

from starlette.routing import BaseRoute

from keyhall.web.admin import audit, clients, external, groups, ldap, overview, settings, users

ROUTES: list[BaseRoute] = [
    *overview.ROUTES,
    *users.ROUTES,
    *groups.ROUTES,
    *clients.ROUTES,
    *ldap.ROUTES,
    *external.ROUTES,
    *settings.ROUTES,
    *audit.ROUTES,
]
