"""Dashboard: OpenID Connect clients — create (generated or predefined id), the secret shown
once, redirect URIs, per-client settings, seed 000's endpoint table, presets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keyhall.errors import KeyhallError
from keyhall.oidc.claims import EXTRA_CLAIMS
from keyhall.oidc.clients import ACCESS_TOKEN_FORMATS, SIGNING_ALGS, Client
from keyhall.oidc.registry import PRESETS, NewClient, endpoints
from keyhall.web.admin.common import Admin, Form, action, checked, done, page, words

Endpoint = Callable[[Request], Awaitable[Response]]
# Form fields that hold several values (one per line), sent to the registry space-separated.
LIST_FIELDS = ("redirect_uris", "post_logout_redirect_uris", "extra_claims", "allowed_groups")
TEXT_FIELDS = (
    "name",
    "backchannel_logout_uri",
    "signing_alg",
    "access_token_format",
    "access_token_lifetime",
    "id_token_lifetime",
    "refresh_token_lifetime",
    "quota",
)


def _choices() -> dict[str, object]:
    return {
        "signing_algs": SIGNING_ALGS,
        "token_formats": ACCESS_TOKEN_FORMATS,
        "claims": sorted(EXTRA_CLAIMS),
        "presets": PRESETS,
    }


def _list(admin: Admin, error: str | None = None, form: Form | None = None) -> Response:
    return admin.render(
        "clients.html",
        {"clients": admin.services.clients.all(), "form": form or {}, "error": error},
        section="clients",
    )


def _endpoints(admin: Admin) -> dict[str, str]:
    return endpoints(admin.services.inst.config, admin.services.instance_name())


def _client(
    admin: Admin, client: Client, *, error: str | None = None, new: NewClient | None = None
) -> Response:
    return admin.render(
        "client.html",
        {
            "client": client,
            "settings": client.settings,
            "endpoints": _endpoints(admin),
            "secret": new.secret if new else None,
            "error": error,
            **_choices(),
        },
        section="clients",
    )


async def list_clients(request: Request) -> Response:
    return await page(request, _list)


async def create_client(request: Request) -> Response:
    def handle(admin: Admin, f: Form) -> Response:
        new = admin.services.clients.create(
            f.get("name", ""),
            words(f.get("redirect_uris", "")),
            actor=admin.actor,
            client_id=f.get("client_id") or None,
            public=checked(f, "public"),
            post_logout_redirect_uris=words(f.get("post_logout_redirect_uris", "")),
            backchannel_logout_uri=f.get("backchannel_logout_uri") or None,
        )
        # The secret is in this response only: no redirect, nothing stored to show it again.
        return _client(admin, new.client, new=new)

    def failed(admin: Admin, f: Form, exc: KeyhallError) -> Response:
        return _list(admin, exc.message, f)

    return await action(request, handle, failed)


async def create_preset(request: Request) -> Response:
    def handle(admin: Admin, f: Form) -> Response:
        admin.services.clients.preset(f.get("kind", ""), f.get("url", ""), actor=admin.actor)
        return done("/admin/clients", "client_saved")

    def failed(admin: Admin, f: Form, exc: KeyhallError) -> Response:
        return _list(admin, exc.message)

    return await action(request, handle, failed)


async def show_client(request: Request) -> Response:
    client_id = str(request.path_params["client_id"])
    return await page(request, lambda admin: _client(admin, admin.services.clients.get(client_id)))


def _on_client(kind: str) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        client_id = str(request.path_params["client_id"])

        def handle(admin: Admin, f: Form) -> Response:
            registry = admin.services.clients
            if kind == "delete":
                registry.delete(client_id, actor=admin.actor)
                return done("/admin/clients", "client_deleted")
            if kind == "secret":
                new = registry.rotate_secret(client_id, actor=admin.actor)
                return _client(admin, new.client, new=new)
            changes = {k: " ".join(words(f.get(k, ""))) for k in LIST_FIELDS}
            changes |= {k: f.get(k, "").strip() for k in TEXT_FIELDS if k in f}
            changes["consent"] = "true" if checked(f, "consent") else "false"
            registry.update(client_id, changes, actor=admin.actor)
            return done(f"/admin/clients/{quote(client_id)}", "client_saved")

        def failed(admin: Admin, f: Form, exc: KeyhallError) -> Response:
            try:
                return _client(admin, admin.services.clients.get(client_id), error=exc.message)
            except KeyhallError:
                return _list(admin, exc.message)

        return await action(request, handle, failed)

    return endpoint


ROUTES = [
    Route("/admin/clients", list_clients, methods=["GET"]),
    Route("/admin/clients", create_client, methods=["POST"]),
    Route("/admin/client-presets", create_preset, methods=["POST"]),
    Route("/admin/clients/{client_id}", show_client, methods=["GET"]),
    Route("/admin/clients/{client_id}", _on_client("update"), methods=["POST"]),
    Route("/admin/clients/{client_id}/secret", _on_client("secret"), methods=["POST"]),
    Route("/admin/clients/{client_id}/delete", _on_client("delete"), methods=["POST"]),
]
