"""`keyhall client`: register and configure OpenID Connect clients (audited, like the API)."""

from __future__ import annotations

from typing import Any

import click

from keyhall.cli.common import emit, instance, json_option
from keyhall.directory.models import CLI_ACTOR
from keyhall.errors import InvalidInput
from keyhall.oidc.clients import Client
from keyhall.oidc.registry import PRESETS, ClientRegistry, endpoints
from keyhall.runtime import Instance


def client_json(inst: Instance, client: Client) -> dict[str, Any]:
    return {
        "client_id": client.id,
        "name": client.name,
        "type": "public" if client.public else "confidential",
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "settings": client.settings.as_json(),
        "endpoints": endpoints(inst.config, inst.directory.settings()["name"]),
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
    with instance() as inst:
        new = ClientRegistry(inst.directory).create(
            name,
            list(redirect_uris),
            actor=CLI_ACTOR,
            client_id=client_id,
            public=public,
            post_logout_redirect_uris=post_logout,
            backchannel_logout_uri=backchannel_logout_uri,
        )
        data = client_json(inst, new.client)
        if new.secret is not None:
            data["client_secret"] = new.secret
        emit(as_json, data, _text(data, new.secret))


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
        changed = ClientRegistry(inst.directory).update(client_id, pairs, actor=CLI_ACTOR)
        data = client_json(inst, changed)
        emit(as_json, data, _text(data))


@client.command("preset")
@click.argument("kind", type=click.Choice(PRESETS))
@click.option("--url", required=True, help="OpenCloud's base URL, e.g. https://cloud.example.com")
@json_option
def client_preset(kind: str, url: str, as_json: bool) -> None:
    """Create OpenCloud's four public clients (web, desktop, Android, iOS)."""
    with instance() as inst:
        created = [
            client_json(inst, x)
            for x in ClientRegistry(inst.directory).preset(kind, url, actor=CLI_ACTOR)
        ]
        emit(as_json, created, "\n\n".join(_text(d) for d in created))


@client.command("list")
@json_option
def client_list(as_json: bool) -> None:
    """List clients."""
    with instance() as inst:
        found = ClientRegistry(inst.directory).all()
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
        data = client_json(inst, ClientRegistry(inst.directory).get(client_id))
        emit(as_json, data, _text(data))


@client.command("delete")
@click.argument("client_id")
@json_option
def client_delete(client_id: str, as_json: bool) -> None:
    """Delete a client with its codes, tokens and consents."""
    with instance() as inst:
        ClientRegistry(inst.directory).delete(client_id, actor=CLI_ACTOR)
        emit(as_json, {"client_id": client_id, "deleted": True}, f"deleted client {client_id}")
