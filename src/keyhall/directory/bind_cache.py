"""Verified credentials remembered for a short while, so apps that bind on every request stay fast.

An entry is keyed by an HMAC of (user id, secret) under a per-process random key: the cache never
holds a secret or anything a stolen memory dump could check a guess against offline without
that key. An entry is good only while the directory view still holds the very `User` record it
was verified against. Any change to the user (password, 2FA, app passwords, state, profile)
bumps their row's version, the view replaces the record, and the entry is dead on every node
as soon as that node's view refreshes.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable

from keyhall.directory.models import User
from keyhall.directory.view import DirectoryView

DEFAULT_TTL = 60.0
MAX_ENTRIES = 50_000


class VerifiedCache:
    def __init__(
        self,
        view: DirectoryView,
        *,
        ttl: float = DEFAULT_TTL,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._view = view
        self._key = os.urandom(32)
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: dict[bytes, tuple[User, float]] = {}
        self._by_user: dict[str, set[bytes]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def _slot(self, user_id: str, secret: str) -> bytes:
        # hmac.digest: the same HMAC in one C call (checked on the event loop at every bind).
        return hmac.digest(self._key, f"{user_id}\0{secret}".encode(), "sha256")

    def get(self, user: User, secret: str) -> bool:
        slot = self._slot(user.id, secret)
        entry = self._entries.get(slot)
        if entry is None:
            return False
        verified, expires = entry
        if expires < self._clock() or self._view.users.get(user.id) is not verified:
            self._entries.pop(slot, None)
            return False
        return True

    def put(self, user: User, secret: str) -> None:
        if not self._view.loaded or self._view.users.get(user.id) is not user:
            return  # verified against a record the view no longer (or not yet) holds
        if len(self._entries) >= self._max:
            self._evict()
        slot = self._slot(user.id, secret)
        self._entries[slot] = (user, self._clock() + self._ttl)
        self._by_user.setdefault(user.id, set()).add(slot)

    def drop_user(self, user_id: str) -> None:
        for slot in self._by_user.pop(user_id, ()):
            self._entries.pop(slot, None)

    def clear(self) -> None:
        self._entries.clear()
        self._by_user.clear()

    def _evict(self) -> None:
        now = self._clock()
        for slot, (_, expires) in list(self._entries.items()):
            if expires < now:
                del self._entries[slot]
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._by_user = {
            uid: live
            for uid, slots in self._by_user.items()
            if (live := slots & self._entries.keys())
        }
