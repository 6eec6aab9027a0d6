"""The composition root: builds the ASGI application from an opened instance."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount, Route

from keyhall.oidc.provider import Provider
from keyhall.runtime import Instance
from keyhall.web import health, login, oidc
from keyhall.web.api import create_api


def create_app(inst: Instance) -> Starlette:
    routes = [
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
        *oidc.ROUTES,
        *login.ROUTES,
        Mount("/api", app=create_api(inst)),
    ]
    app = Starlette(routes=routes)
    app.state.instance = inst
    provider = Provider(inst)
    provider.start()
    app.state.provider = provider
    return app
