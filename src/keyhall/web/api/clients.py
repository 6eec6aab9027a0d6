"""`/v1/clients`: OpenID Connect clients, their settings, secrets and presets (RFC 6749 §2)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from keyhall.directory.listing import page_of
from keyhall.oidc.clients import Client
from keyhall.oidc.registry import endpoints
from keyhall.web.api.auth import AdminActor
from keyhall.web.api.deps import Services
from keyhall.web.api.pagination import Limit, Offset, Page
from keyhall.web.api.problems import problem_responses
from keyhall.web.services import AdminServices

router = APIRouter(tags=["OIDC clients"])
ERRORS = problem_responses(401, 403, 404, 409, 422)
ClientPath = Annotated[str, Path(min_length=1, max_length=128)]
Uri = Annotated[str, Field(min_length=1, max_length=2000)]
Seconds = Annotated[int, Field(ge=1, le=400 * 24 * 3600)]
Names = Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=200)]


class ClientSettingsIn(BaseModel):
    """Per-client settings; omitted ones keep their value."""

    model_config = ConfigDict(extra="forbid")
    signing_alg: Literal["RS256", "ES256", "EdDSA"] | None = None
    access_token_format: Literal["opaque", "jwt"] | None = None
    extra_claims: Names | None = None
    allowed_groups: Names | None = None
    consent: bool | None = None
    access_token_lifetime: Seconds | None = None
    id_token_lifetime: Seconds | None = None
    refresh_token_lifetime: Seconds | None = None
    quota: Annotated[str, Field(max_length=64)] | None = None


class ClientUpdate(ClientSettingsIn):
    name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    redirect_uris: Annotated[list[Uri], Field(min_length=1, max_length=50)] | None = None
    post_logout_redirect_uris: Annotated[list[Uri], Field(max_length=50)] | None = None
    backchannel_logout_uri: Annotated[str, Field(max_length=2000)] | None = None
    """An empty string removes it."""


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=128)]
    redirect_uris: Annotated[list[Uri], Field(min_length=1, max_length=50)]
    client_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    """A predefined id (some apps hard-code theirs); generated when omitted."""
    public: bool = False
    """A public client (SPA, native app): no secret, PKCE required."""
    post_logout_redirect_uris: Annotated[list[Uri], Field(max_length=50)] = []
    backchannel_logout_uri: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    settings: ClientSettingsIn = ClientSettingsIn()


class ClientOut(BaseModel):
    client_id: str
    name: str
    type: Literal["public", "confidential"]
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    backchannel_logout_uri: str | None
    settings: dict[str, Any]
    endpoints: dict[str, str]
    """Seed 000's table for the app's configuration, with the provider name."""


class ClientWithSecret(ClientOut):
    client_secret: str | None
    """Shown only in this response; stored hashed. None for public clients."""


class SecretOut(BaseModel):
    client_id: str
    client_secret: str


class PresetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, Field(min_length=1, max_length=2000)]
    """The app's base URL, e.g. https://cloud.example.com."""


def client_out(svc: AdminServices, client: Client) -> ClientOut:
    return ClientOut(
        client_id=client.id,
        name=client.name,
        type="public" if client.public else "confidential",
        redirect_uris=list(client.redirect_uris),
        post_logout_redirect_uris=list(client.post_logout_redirect_uris),
        backchannel_logout_uri=client.backchannel_logout_uri,
        settings=client.settings.as_json(),
        endpoints=endpoints(svc.inst.config, svc.instance_name()),
    )


def assignments(body: BaseModel) -> dict[str, str]:
    """Typed JSON fields as the `KEY=VALUE` text the registry parses (one parser for all)."""
    out: dict[str, str] = {}
    for key, value in body.model_dump(exclude_unset=True, exclude_none=True).items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list):
            out[key] = " ".join(str(v) for v in value)
        else:
            out[key] = str(value)
    return out


@router.get("/clients", response_model=Page[ClientOut], responses=ERRORS, summary="List clients")
def list_clients(
    svc: Services,
    actor: AdminActor,
    offset: Offset = 0,
    limit: Limit = 50,
    search: Annotated[str, Query(max_length=256, description="part of id or name")] = "",
) -> Page[ClientOut]:
    needle = search.lower()
    found = [x for x in svc.clients.all() if needle in x.id.lower() or needle in x.name.lower()]
    page = page_of(found, offset, limit)
    items = [client_out(svc, x) for x in page.items]
    return Page(items=items, total=page.total, offset=offset, limit=limit)


@router.post(
    "/clients",
    response_model=ClientWithSecret,
    status_code=201,
    responses=ERRORS,
    summary="Register a client",
)
def create_client(body: ClientCreate, svc: Services, actor: AdminActor) -> ClientWithSecret:
    """The response holds the client secret: it is not shown again."""
    new = svc.clients.create(
        body.name,
        body.redirect_uris,
        actor=actor,
        client_id=body.client_id,
        public=body.public,
        post_logout_redirect_uris=body.post_logout_redirect_uris,
        backchannel_logout_uri=body.backchannel_logout_uri,
        settings=assignments(body.settings),
    )
    return ClientWithSecret(**client_out(svc, new.client).model_dump(), client_secret=new.secret)


@router.get(
    "/clients/{client_id}", response_model=ClientOut, responses=ERRORS, summary="Show a client"
)
def show_client(client_id: ClientPath, svc: Services, actor: AdminActor) -> ClientOut:
    return client_out(svc, svc.clients.get(client_id))


@router.patch(
    "/clients/{client_id}", response_model=ClientOut, responses=ERRORS, summary="Change a client"
)
def update_client(
    client_id: ClientPath, body: ClientUpdate, svc: Services, actor: AdminActor
) -> ClientOut:
    return client_out(svc, svc.clients.update(client_id, assignments(body), actor=actor))


@router.post(
    "/clients/{client_id}/secret",
    response_model=SecretOut,
    responses=ERRORS,
    summary="Replace a confidential client's secret",
)
def rotate_secret(client_id: ClientPath, svc: Services, actor: AdminActor) -> SecretOut:
    """The old secret stops working at once; the new one is shown only here."""
    new = svc.clients.rotate_secret(client_id, actor=actor)
    assert new.secret is not None
    return SecretOut(client_id=new.client.id, client_secret=new.secret)


@router.delete(
    "/clients/{client_id}",
    status_code=204,
    response_class=Response,
    responses=ERRORS,
    summary="Delete a client",
)
def delete_client(client_id: ClientPath, svc: Services, actor: AdminActor) -> None:
    """Its codes, tokens and consents go with it."""
    svc.clients.delete(client_id, actor=actor)


@router.post(
    "/client-presets/{kind}",
    response_model=list[ClientOut],
    status_code=201,
    responses=ERRORS,
    summary="Create a product's clients",
)
def create_preset(
    kind: Literal["opencloud"], body: PresetIn, svc: Services, actor: AdminActor
) -> list[ClientOut]:
    """`opencloud`: OpenCloud's web, desktop, Android and iOS public clients (seed 002)."""
    return [client_out(svc, x) for x in svc.clients.preset(kind, body.url, actor=actor)]
