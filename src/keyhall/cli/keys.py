"""`keyhall keys`: the provider's signing keys."""

from __future__ import annotations

from typing import Any

import click

from keyhall.cli.common import emit, instance, json_option
from keyhall.oidc.keys import KeyRing
from keyhall.oidc.provider import Provider, utcnow
from keyhall.storage.oidc_store import KeyRow, OidcStore


def _json(row: KeyRow) -> dict[str, Any]:
    return {
        "kid": row.kid,
        "alg": row.alg,
        "kty": row.public_jwk.get("kty"),
        "state": row.state,
        "created_at": row.created_at.isoformat(),
        "retire_at": row.retire_at.isoformat() if row.retire_at else None,
    }


@click.group()
def keys() -> None:
    """List and rotate the OpenID Connect signing keys."""


@keys.command("list")
@json_option
def keys_list(as_json: bool) -> None:
    """List keys: `current` signs, `next` is published ahead, `retired` awaits expiry."""
    with instance() as inst:
        store = OidcStore(inst.store)
        KeyRing(store, inst.secret_key).ensure(utcnow())
        rows = [_json(r) for r in store.key_rows()]
        lines = [f"{r['kid']:<45} {r['alg']:<6} {r['state']:<8} {r['created_at']}" for r in rows]
        emit(as_json, rows, "\n".join(lines))


@keys.command("rotate")
@json_option
def keys_rotate(as_json: bool) -> None:
    """Sign with the published next keys; publish new next keys; retire the current ones."""
    with instance() as inst:
        provider = Provider(inst)
        provider.keys.ensure(utcnow())
        provider.keys.rotate(utcnow(), provider.longest_token_lifetime())
        rows = [_json(r) for r in provider.store.key_rows()]
        lines = [f"{r['kid']:<45} {r['alg']:<6} {r['state']:<8} {r['created_at']}" for r in rows]
        emit(as_json, rows, "rotated; nodes pick up the new keys within 10 s\n" + "\n".join(lines))
