"""Seed 000's mandatory 2FA: "when enabled, all existing users without a 2FA setup are logged
out immediately" — and they must enrol at their next sign-in (see `factors.Need.ENROLMENT`).

Registered on `Directory.settings_listeners` wherever an instance is opened, so turning the
setting on from the CLI, the API or the dashboard has the same effect at once. Sessions end
through the directory's revocation listeners (the OIDC offboarding): web sessions end, refresh
and access tokens are revoked, and apps get back-channel logout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keyhall.accounts.factors import SecondFactors
from keyhall.directory.credentials import Credentials
from keyhall.directory.models import SYSTEM_ACTOR, AuditEvent, User
from keyhall.directory.service import Directory
from keyhall.storage.account_store import AccountStore

if TYPE_CHECKING:
    from keyhall.runtime import Instance

REASON = "mandatory_2fa"


def sign_out_users_without_second_factor(directory: Directory, factors: SecondFactors) -> list[str]:
    """End every session and token of users who have no second factor; return their names."""
    store = factors.store
    ids = store.signed_in_users_without_second_factor()
    if not ids:
        return []
    directory.refresh()
    users: list[User] = []
    for user_id in ids:
        user = directory.view.users.get(user_id)
        if user is not None and not factors.skips_local_2fa(user):
            users.append(user)
    for user in users:
        for listener in directory.revocation_listeners:
            listener(user, REASON)
    directory.store.record_audit(
        AuditEvent(
            at=directory.clock(),
            actor=str(SYSTEM_ACTOR),
            action="policy.mandatory_2fa",
            target="users",
            outcome="success",
            details={"signed_out": [u.username for u in users]},
        )
    )
    return [u.username for u in users]


def register(inst: Instance) -> None:
    directory = inst.directory

    def on_setting(key: str, old: Any, new: Any) -> None:
        if key != "mandatory_2fa" or not new or old:
            return
        store = AccountStore(inst.store)
        credentials = Credentials(directory, inst.secret_key)
        factors = SecondFactors(directory, credentials, store, inst.secret_key, directory.clock)
        sign_out_users_without_second_factor(directory, factors)

    directory.settings_listeners.append(on_setting)
