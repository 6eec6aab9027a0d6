"""OpenID Connect Session Management: SSO sessions and how they end.

A session is what the browser's cookie points to (the cookie value is stored only as a digest);
its `sid` is the public id put in ID tokens, access tokens and logout tokens. Ending a session —
by logout, by an admin, or because its user was disabled, deleted or changed password —
revokes its tokens and queues back-channel logout to every client that took part.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from keyhall.directory.models import User
from keyhall.oidc.backchannel import logout_token
from keyhall.oidc.grant import digest
from keyhall.oidc.keys import KeyRing
from keyhall.storage.oidc_store import OidcStore, SessionRow

COOKIE_NAME = "keyhall_session"


class Sessions:
    def __init__(self, store: OidcStore, keys: KeyRing, issuer: str) -> None:
        self.store = store
        self.keys = keys
        self.issuer = issuer

    def create(
        self, user: User, amr: list[str], now: datetime, lifetime: timedelta
    ) -> tuple[SessionRow, str]:
        """Start a session; return it and the cookie value (shown only here)."""
        cookie = secrets.token_urlsafe(32)
        row = SessionRow(secrets.token_urlsafe(24), user.id, now, amr, now + lifetime)
        self.store.insert_session(row.sid, digest(cookie), row, now)
        return row, cookie

    def from_cookie(self, cookie: str | None, now: datetime) -> SessionRow | None:
        if not cookie:
            return None
        row = self.store.session(cookie_hash=digest(cookie))
        if row is None or row.expires_at <= now:
            return None
        return row

    def end(self, sid: str, username: str, now: datetime) -> list[str]:
        """End a session; queue logout tokens; return the client ids told."""
        _, client_ids = self.store.end_session(sid, now)
        self._notify([(c, sid) for c in client_ids], username, now)
        return client_ids

    def end_all(self, user: User, now: datetime, *, revoke_offline: bool) -> None:
        """End every session of a user; on disable or delete, their offline tokens too.

        A client that holds only an offline (refresh) token is no longer part of any session,
        yet it must hear that the user is gone (seed 001): it gets a logout token with `sub`
        and the `sid` its tokens were issued under.
        """
        told: set[tuple[str, str]] = set()
        for sid in self.store.session_sids_of_user(user.id):
            told.update((c, sid) for c in self.end(sid, user.username, now))
        if revoke_offline:
            holders = self.store.token_holders(user.id, now)
            self.store.revoke_tokens(now, user_id=user.id)
            self._notify([h for h in holders if h not in told], user.username, now)

    def replace(
        self, old_sid: str, new_sid: str, now: datetime, username_of: Callable[[str], str]
    ) -> str:
        """A new sign-in in a browser that had a session (`prompt=login`, `max_age`, another
        account): the same user keeps the old `sid`, so relying parties holding it stay in
        single sign-off, with the new cookie and `auth_time`; another user's session ends.
        Returns the sid the browser's session now has."""
        old = self.store.session(sid=old_sid)
        new = self.store.session(sid=new_sid)
        if old is None or new is None or old_sid == new_sid:
            return new_sid
        if old.user_id == new.user_id and self.store.absorb_session(old_sid, new_sid):
            return old_sid
        self.end(old_sid, username_of(old.user_id), now)
        return new_sid

    def _notify(self, targets: list[tuple[str, str]], username: str, now: datetime) -> None:
        items = []
        for client_id, sid in targets:
            client = self.store.client(client_id)
            if client is None or not client.backchannel_logout_uri:
                continue
            if not self.keys.keys:
                self.keys.reload()
            token = logout_token(
                self.keys, issuer=self.issuer, client=client, sub=username, sid=sid, now=now
            )
            items.append((client.id, client.backchannel_logout_uri, token))
        self.store.enqueue_logouts(items, now)
