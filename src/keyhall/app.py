"""The composition root: builds the ASGI application from an opened instance."""

from __future__ import annotations

from starlette.routing import Mount, Route

from keyhall.accounts.service import Accounts
from keyhall.oidc.provider import Provider
from keyhall.oidc.sessions import Sessions
from keyhall.runtime import Instance
from keyhall.web import (
    account,
    account_security,
    account_sessions,
    admin,
    health,
    login,
    oidc,
    recovery,
    second_factor,
    static,
)
from keyhall.web.api import create_api
from keyhall.web.hot_paths import HotPathApp
from keyhall.web.hsts import StrictTransportSecurity
from keyhall.web.services import AdminServices


def create_app(inst: Instance) -> HotPathApp:
    routes = [
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
        *oidc.ROUTES,
        *login.ROUTES,
        *second_factor.ROUTES,
        *account.ROUTES,
        *account_security.ROUTES,
        *account_sessions.ROUTES,
        *recovery.ROUTES,
        *static.ROUTES,
        *admin.ROUTES,
        Mount("/api", app=create_api(inst)),
    ]
    app = HotPathApp(routes=routes, hot=oidc.HOT_ROUTES)
    app.state.instance = inst
    provider = Provider(inst)
    provider.start()
    app.state.provider = provider
    app.state.accounts = Accounts(
        inst, lambda: Sessions(provider.store, provider.keys, provider.issuer)
    )
    app.state.admin = AdminServices.of(inst, app.state.accounts)
    if inst.config.public_url.startswith("https://"):
        app.add_middleware(StrictTransportSecurity)
        app.hsts = True
    return app
