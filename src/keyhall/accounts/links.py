"""One-time links sent by mail: password reset (one hour) and invitation (seven days).

OWASP's forgot-password guidance: the link carries 256 random bits, is stored only as a keyed
digest, works once, expires, and asking for one never tells whether the account exists.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from keyhall.directory.models import User
from keyhall.directory.sealing import derive_key
from keyhall.storage.account_store import AccountStore

RESET = "reset"
INVITE = "invite"
LIFETIMES = {RESET: timedelta(hours=1), INVITE: timedelta(days=7)}
PATHS = {RESET: "/password/reset", INVITE: "/invite"}


class Links:
    def __init__(
        self, store: AccountStore, secret_key: bytes, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.clock = clock
        self._key = derive_key(secret_key, "account-link")

    def digest(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()

    def issue(self, user: User, kind: str) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        self.store.put_link(self.digest(token), kind, user.id, now, now + LIFETIMES[kind])
        return token

    def user_id(self, token: str, kind: str) -> str | None:
        if not token or len(token) > 128:
            return None
        return self.store.link_user(self.digest(token), kind, self.clock())

    def use(self, token: str, kind: str) -> bool:
        return self.store.use_link(self.digest(token), kind, self.clock())


def url(public_url: str, kind: str, token: str) -> str:
    return f"{public_url}{PATHS[kind]}?token={token}"
