"""`keyhall token`: admin API tokens for the JSON API (`Authorization: Bearer …`)."""

from __future__ import annotations

import click

from keyhall.cli.common import emit, instance, json_option
from keyhall.directory.models import CLI_ACTOR
from keyhall.directory.tokens import SCOPES, Tokens


@click.group()
def token() -> None:
    """Admin API tokens."""


@token.command("create")
@click.argument("name")
@click.option(
    "--scope", type=click.Choice(SCOPES), default="admin", help="read: may only read (GET)."
)
@json_option
def token_create(name: str, scope: str, as_json: bool) -> None:
    """Create a token named NAME and print it (it is shown only this once)."""
    with instance() as inst:
        issued = Tokens(inst.directory).create(name, actor=CLI_ACTOR, scope=scope)
        emit(as_json, {"name": issued.name, "scope": issued.scope, "token": issued.token},
             issued.token)  # fmt: skip


@token.command("list")
@json_option
def token_list(as_json: bool) -> None:
    """List tokens (names and use, never the secrets)."""
    with instance() as inst:
        rows = Tokens(inst.directory).list()
    data = [
        {
            "name": r.name,
            "scope": r.scope,
            "created_by": r.created_by,
            "created_at": r.created_at.isoformat(),
            "last_used_at": r.last_used_at.isoformat() if r.last_used_at else None,
        }
        for r in rows
    ]
    lines = [
        f"{r.name:<24} {r.scope:<6} created {r.created_at:%Y-%m-%d %H:%M} "
        f"last used {r.last_used_at:%Y-%m-%d %H:%M}" if r.last_used_at else
        f"{r.name:<24} {r.scope:<6} created {r.created_at:%Y-%m-%d %H:%M} never used"
        for r in rows
    ]  # fmt: skip
    emit(as_json, data, "\n".join(lines) or "no tokens")


@token.command("revoke")
@click.argument("name")
@json_option
def token_revoke(name: str, as_json: bool) -> None:
    """Revoke (delete) the token named NAME: it stops working at once."""
    with instance() as inst:
        Tokens(inst.directory).revoke(name, actor=CLI_ACTOR)
    emit(as_json, {"name": name, "revoked": True}, f"revoked token {name}")
