"""Seed 001 / issue 8: removing a user revokes their access everywhere at once.

Registered on `Directory.revocation_listeners` wherever an instance is opened (server or CLI),
so whichever process disables, deletes or re-passwords a user ends that user's SSO sessions,
revokes their tokens (introspection says `active: false` at once) and queues back-channel
logout, which every running node then delivers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from keyhall.directory.models import User

if TYPE_CHECKING:
    from keyhall.runtime import Instance


def register(inst: Instance) -> None:
    def on_revoked(user: User, reason: str) -> None:
        from keyhall.oidc.keys import KeyRing
        from keyhall.oidc.provider import utcnow
        from keyhall.oidc.sessions import Sessions
        from keyhall.storage.oidc_store import OidcStore

        store = OidcStore(inst.store)
        sessions = Sessions(store, KeyRing(store, inst.secret_key), inst.config.issuer)
        # A new password ends sessions; disabling or deleting also ends offline access.
        sessions.end_all(user, utcnow(), revoke_offline=reason != "password")

    inst.directory.revocation_listeners.append(on_revoked)
