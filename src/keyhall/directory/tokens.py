"""Admin API tokens: random bearer tokens shown once, stored as SHA-256 digests, revocable.

A token carries 256 bits of randomness, so a fast digest is enough to store it (a slow
password hash protects low-entropy secrets; this one cannot be guessed). Lookups compare
digests, never tokens, and the digest is what the database index holds.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from keyhall.directory.models import Actor, AuditEvent
from keyhall.directory.service import Directory
from keyhall.errors import InvalidInput, NotFound
from keyhall.storage.token_store import TokenRow, TokenStore

PREFIX = "kh_"
SCOPES = ("admin", "read")
# Which scopes a token's scope grants: `admin` may do everything, `read` only look.
GRANTS: dict[str, frozenset[str]] = {
    "admin": frozenset({"admin", "read"}),
    "read": frozenset({"read"}),
}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SHAPE = re.compile(r"kh_[A-Za-z0-9_-]{43}")
TOUCH_EVERY = timedelta(minutes=1)
"""`last_used_at` is written at most this often per token, not on every request."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    name: str
    scope: str
    token: str
    """The secret itself: shown once, never stored."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Tokens:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.store = TokenStore(directory.store)

    def create(self, name: str, *, actor: Actor, scope: str = "admin") -> IssuedToken:
        if not _NAME.fullmatch(name):
            raise InvalidInput(
                f"invalid token name {name!r}: 1-64 of letters, digits, '.', '_', '-'",
                field="name",
            )
        if scope not in SCOPES:
            raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}", field="scope")
        token = PREFIX + secrets.token_urlsafe(32)
        now = self.directory.clock()
        row = TokenRow(name, scope, str(actor), now, None)
        self.store.insert(row, digest(token), self._event(actor, "token.create", name, scope))
        return IssuedToken(name, scope, token)

    def revoke(self, name: str, *, actor: Actor) -> None:
        if not self.store.delete(name, self._event(actor, "token.revoke", name)):
            raise NotFound(f"no token named {name!r}")

    def list(self) -> list[TokenRow]:
        return self.store.all()

    def check(self, presented: str, scope: str = "admin") -> TokenRow | None:
        """The token's row if `presented` is a live token granting `scope`; None otherwise."""
        if not _SHAPE.fullmatch(presented):
            return None
        row = self.store.by_digest(digest(presented))
        if row is None or not grants(row, scope):
            return None
        now = self.directory.clock()
        if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
            self.store.touch(row.name, now)
        return row

    def _event(self, actor: Actor, action: str, name: str, scope: str | None = None) -> AuditEvent:
        details = {"scope": scope} if scope else {}
        return AuditEvent(
            self.directory.clock(), str(actor), action, name, "success", actor.ip, details
        )


def grants(row: TokenRow, scope: str) -> bool:
    return scope in GRANTS.get(row.scope, ())
