"""`/v1/ldap`: the LDAP server's switch, IP allowlist and service account (seed 000)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from keyhall.web.api.auth import AdminActor
from keyhall.web.api.deps import Services
from keyhall.web.api.problems import problem_responses
from keyhall.web.services import AdminServices

router = APIRouter(tags=["LDAP server"])
Cidrs = Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=500)]
ERRORS = problem_responses(401, 403, 422)


class LdapOut(BaseModel):
    enabled: bool
    base_dn: str
    bind_dn: str
    """The service account apps bind as to list users."""
    secret: str
    """The service account's password."""
    secret_rotated_at: datetime
    allowlist: list[str]
    """IP addresses and CIDR ranges that may connect; everything else is refused."""
    urls: list[str]
    example: str
    """An `ldapsearch` command that lists the users."""


class LdapUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    allowlist: Cidrs | None = None


class SecretOut(BaseModel):
    bind_dn: str
    secret: str


def ldap_out(svc: AdminServices) -> LdapOut:
    policy, state = svc.ldap.show()
    return LdapOut(
        enabled=policy.enabled,
        base_dn=svc.inst.config.ldap_base_dn,
        bind_dn=svc.ldap_bind_dn,
        secret=policy.secret,
        secret_rotated_at=state.rotated_at,
        allowlist=state.allowlist,
        urls=svc.ldap_urls(),
        example=svc.ldapsearch_example(),
    )


@router.get("/ldap", response_model=LdapOut, responses=ERRORS, summary="Show LDAP server settings")
def show_ldap(svc: Services, actor: AdminActor) -> LdapOut:
    return ldap_out(svc)


@router.patch(
    "/ldap", response_model=LdapOut, responses=ERRORS, summary="Switch LDAP, replace the allowlist"
)
def update_ldap(body: LdapUpdate, svc: Services, actor: AdminActor) -> LdapOut:
    """Running servers apply the change within a second; open connections stay."""
    if body.allowlist is not None:
        svc.ldap.set_allowlist(body.allowlist, actor=actor)
    if body.enabled is not None:
        svc.directory.set_setting("ldap_enabled", str(body.enabled), actor=actor)
    return ldap_out(svc)


@router.post(
    "/ldap/secret", response_model=SecretOut, responses=ERRORS, summary="Rotate the LDAP secret"
)
def rotate_secret(svc: Services, actor: AdminActor) -> SecretOut:
    """Binds with the old secret fail from now on."""
    return SecretOut(bind_dn=svc.ldap_bind_dn, secret=svc.ldap.rotate_secret(actor=actor))
