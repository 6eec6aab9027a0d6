"""The composition root: builds the ASGI application from an opened instance."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from keyhall.runtime import Instance
from keyhall.web import health


def create_app(inst: Instance) -> Starlette:
    routes = [
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
    ]
    app = Starlette(routes=routes)
    app.state.instance = inst
    return app
