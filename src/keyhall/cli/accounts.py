"""`keyhall user invite` and `keyhall user reset-2fa`: account help an administrator gives."""

from __future__ import annotations

import click

from keyhall.accounts.service import Accounts
from keyhall.cli.common import emit, instance, json_option
from keyhall.cli.users import user
from keyhall.directory.models import CLI_ACTOR
from keyhall.runtime import Instance


def _accounts(inst: Instance) -> Accounts:
    from keyhall.oidc.keys import KeyRing
    from keyhall.oidc.sessions import Sessions
    from keyhall.storage.oidc_store import OidcStore

    store = OidcStore(inst.store)
    return Accounts(
        inst, lambda: Sessions(store, KeyRing(store, inst.secret_key), inst.config.issuer)
    )


@user.command("invite")
@click.argument("username")
@json_option
def invite(username: str, as_json: bool) -> None:
    """Mail USERNAME a link (valid seven days) to choose their password."""
    with instance() as inst:
        address = _accounts(inst).invite(username, actor=CLI_ACTOR)
        emit(as_json, {"username": username, "sent_to": address}, f"invitation sent to {address}")


@user.command("reset-2fa")
@click.argument("username")
@json_option
def reset_2fa(username: str, as_json: bool) -> None:
    """Remove every second factor of USERNAME (authenticator, passkeys, recovery codes)."""
    with instance() as inst:
        accounts = _accounts(inst)
        accounts.factors.reset(inst.directory.user(username), actor=CLI_ACTOR)
        emit(as_json, {"username": username, "reset": True}, f"{username} has no second factor now")
