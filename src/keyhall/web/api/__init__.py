"""The admin JSON API: a FastAPI app mounted at `/api`, routes under `/v1`, bearer admin tokens.

Its OpenAPI document is served at `/api/v1/openapi.json`; errors are RFC 9457 problem details.
"""

from __future__ import annotations

from fastapi import FastAPI

from keyhall.runtime import Instance
from keyhall.web.api import (
    audit,
    clients,
    external,
    groups,
    ldap,
    problems,
    settings,
    tokens,
    transfer,
    users,
)
from keyhall.web.services import AdminServices

VERSION = "v1"


def create_api(inst: Instance) -> FastAPI:
    api = FastAPI(
        title="Keyhall admin API",
        version="1",
        description="Administer a Keyhall directory. Authenticate with "
        "`Authorization: Bearer <token>`; create tokens with `keyhall token create NAME`.",
        openapi_url=f"/{VERSION}/openapi.json",
        docs_url=f"/{VERSION}/docs",
        redoc_url=None,
    )
    api.state.instance = inst
    api.state.services = AdminServices.of(inst)
    problems.install(api)
    for module in (users, groups, clients, ldap, external, settings, audit, tokens, transfer):
        api.include_router(module.router, prefix=f"/{VERSION}")
    return api
