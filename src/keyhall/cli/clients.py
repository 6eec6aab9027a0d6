"""`keyhall client`: register and configure OpenID Connect clients."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import click

from keyhall.cli.common import emit, instance, json_option
from keyhall.errors import Conflict, InvalidInput, NotFound
from keyhall.oidc import clients as c
from keyhall.oidc.clients import Client
from keyhall.runtime import Instance
from keyhall.storage.oidc_store import OidcStore

# Seed 002: OpenCloud's clients, all public (code + PKCE), with their fixed ids and URIs.
OPENCLOUD_CLIENTS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("web", "OpenCloud Web",
     ("{url}/", "{url}/oidc-callback.html", "{url}/oidc-silent-redirect.html"), ()),
    ("OpenCloudDesktop", "OpenCloud Desktop", ("http://127.0.0.1", "http://localhost"), ()),
    ("OpenCloudAndroid", "OpenCloud Android", ("oc://android.opencloud.eu",), ("oc://android.opencloud.eu",)),
    ("OpenCloudIOS", "OpenCloud iOS", ("oc://ios.opencloud.eu",), ("oc://ios.opencloud.eu",)),
)  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC)


def client_json(inst: Instance, client: Client) -> dict[str, Any]:
    issuer = inst.config.issuer
    return {
        "client_id": client.id,
        "name": client.name,
        "type": "public" if client.public else "confidential",
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "settings": client.settings.as_json(),
        "endpoints": {
            "Provider name": inst.directory.settings()["name"],
            "Discovery URL": f"{inst.config.public_url}/.well-known/openid-configuration",
            "Issuer URL": issuer,
            "Auth URL": f"{issuer}/auth",
            "Token URL": f"{issuer}/token",
            "Keys URL": f"{issuer}/jwks",
            "Keys URL (RSA only)": f"{issuer}/jwks_rsaonly",
            "Profile URL": f"{issuer}/me",
            "Logout URL": f"{issuer}/session/end",
        },
    }


def _text(data: dict[str, Any], secret: str | None = None) -> str:
    lines = [
        f"Client ID:      {data['client_id']}",
        f"Name:           {data['name']}",
        f"Type:           {data['type']}",
    ]
    if secret:
        lines.append(f"Client secret:  {secret}   (shown once: store it now)")
    lines.append(f"Redirect URIs:  {' '.join(data['redirect_uris'])}")
    if data["post_logout_redirect_uris"]:
        lines.append(f"Post-logout:    {' '.join(data['post_logout_redirect_uris'])}")
    if data["backchannel_logout_uri"]:
        lines.append(f"Back-channel:   {data['backchannel_logout_uri']}")
    lines.append("Settings:")
    lines += [f"  {k} = {v}" for k, v in data["settings"].items()]
    lines.append("Endpoints:")
    lines += [f"  {k + ':':<22}{v}" for k, v in data["endpoints"].items()]
    return "\n".join(lines)


@click.group()
def client() -> None:
    """Manage OpenID Connect clients (relying parties)."""


@client.command("add")
@click.argument("name")
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True)
@click.option("--id", "client_id", help="A predefined client id (default: generated).")
@click.option("--public", is_flag=True, help="A public client: no secret, PKCE required.")
@click.option("--post-logout-redirect-uri", "post_logout", multiple=True)
@click.option("--backchannel-logout-uri")
@json_option
def client_add(
    name: str,
    redirect_uris: tuple[str, ...],
    client_id: str | None,
    public: bool,
    post_logout: tuple[str, ...],
    backchannel_logout_uri: str | None,
    as_json: bool,
) -> None:
    """Register a client. A confidential client's secret is printed once and stored hashed."""
    secret = None if public else c.new_client_secret()
    new = Client(
        id=c.check_client_id(client_id) if client_id else c.new_client_id(),
        name=name.strip() or "client",
        secret_hash=None if secret is None else c.hash_secret(secret),
        redirect_uris=tuple(c.check_redirect_uri(u) for u in redirect_uris),
        post_logout_redirect_uris=tuple(c.check_redirect_uri(u) for u in post_logout),
        backchannel_logout_uri=(
            c.check_http_uri(backchannel_logout_uri) if backchannel_logout_uri else None
        ),
    )
    with instance() as inst:
        if not OidcStore(inst.store).put_client(new, _now(), create=True):
            raise Conflict(f"a client with id {new.id!r} already exists")
        data = client_json(inst, new)
        if secret is not None:
            data["client_secret"] = secret
        emit(as_json, data, _text(data, secret))


@client.command("set")
@click.argument("client_id")
@click.argument("assignments", nargs=-1, required=True)
@json_option
def client_set(client_id: str, assignments: tuple[str, ...], as_json: bool) -> None:
    """Change settings: KEY=VALUE ... (signing_alg, access_token_format, extra_claims, ...)."""
    pairs: dict[str, str] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"expected KEY=VALUE, got {item!r}")
        pairs[key.strip()] = value
    with instance() as inst:
        store = OidcStore(inst.store)
        found = store.client(client_id)
        if found is None:
            raise NotFound(f"no client with id {client_id!r}")
        changed = c.apply_settings(found, pairs)
        store.put_client(changed, _now(), create=False)
        data = client_json(inst, changed)
        emit(as_json, data, _text(data))


@client.command("preset")
@click.argument("kind", type=click.Choice(["opencloud"]))
@click.option("--url", required=True, help="OpenCloud's base URL, e.g. https://cloud.example.com")
@json_option
def client_preset(kind: str, url: str, as_json: bool) -> None:
    """Create OpenCloud's four public clients (web, desktop, Android, iOS)."""
    base = c.check_http_uri(url.rstrip("/"))
    created = []
    with instance() as inst:
        store = OidcStore(inst.store)
        for client_id, name, redirects, post_logout in OPENCLOUD_CLIENTS:
            new = Client(
                id=client_id,
                name=name,
                secret_hash=None,
                redirect_uris=tuple(u.format(url=base) for u in redirects),
                post_logout_redirect_uris=tuple(u.format(url=base) for u in post_logout),
            )
            # OpenCloud validates JWT access tokens and assigns roles from a `roles` claim it
            # reads from the access token or userinfo whatever the scopes (seed 002).
            new = replace(
                new,
                settings=replace(new.settings, access_token_format="jwt", extra_claims=("roles",)),  # noqa: S106
            )
            if not store.put_client(new, _now(), create=True):
                raise Conflict(f"a client with id {client_id!r} already exists")
            created.append(client_json(inst, new))
        emit(as_json, created, "\n\n".join(_text(d) for d in created))


@client.command("list")
@json_option
def client_list(as_json: bool) -> None:
    """List clients."""
    with instance() as inst:
        found = OidcStore(inst.store).clients()
        rows = [client_json(inst, x) for x in found]
        lines = [
            f"{x.id:<34} {'public' if x.public else 'confidential':<13} {x.name}" for x in found
        ]
        emit(as_json, rows, "\n".join(lines) or "no clients")


@client.command("show")
@click.argument("client_id")
@json_option
def client_show(client_id: str, as_json: bool) -> None:
    """Show a client and the endpoints to paste into the app."""
    with instance() as inst:
        found = OidcStore(inst.store).client(client_id)
        if found is None:
            raise NotFound(f"no client with id {client_id!r}")
        data = client_json(inst, found)
        emit(as_json, data, _text(data))


@client.command("delete")
@click.argument("client_id")
@json_option
def client_delete(client_id: str, as_json: bool) -> None:
    """Delete a client with its codes, tokens and consents."""
    with instance() as inst:
        if not OidcStore(inst.store).delete_client(client_id):
            raise NotFound(f"no client with id {client_id!r}")
        emit(as_json, {"client_id": client_id, "deleted": True}, f"deleted client {client_id}")
