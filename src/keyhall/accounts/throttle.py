"""Brute-force protection for web sign-in: a growing delay per account and per address.

OWASP's authentication guidance: slow guessing down without handing attackers a way to lock
people out. A few failures cost nothing; after that each attempt must wait twice as long as the
last, up to a ceiling, and failures are forgotten an hour after the latest. No state here is a
permanent lock, and a browser the account has signed in from before (the long-lived browser
cookie) is exempt from the per-account delay, so the owner is never locked out by a stranger
guessing at their username — only the per-address delay still applies to them.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from keyhall.directory.models import AuditEvent, User
from keyhall.directory.service import Directory
from keyhall.storage.account_store import AccountStore

# Per account: five free tries, then 15 s, 30 s, 1 min … 15 min. Per address: more free tries,
# since many people may share one address (offices, carrier NAT).
FREE_FAILURES = {"user": 5, "login": 5, "ip": 20}
BASE_DELAY = timedelta(seconds=15)
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=1)


def delay_after(failures: int, kind: str = "user") -> timedelta:
    """How long to wait after `failures` failures in a row for a key of `kind`."""
    free = FREE_FAILURES[kind]
    if failures < free:
        return timedelta(0)
    grown: timedelta = BASE_DELAY * 2 ** min(failures - free, 20)
    return min(MAX_DELAY, grown)


def browser_digest(browser: str) -> str:
    return hashlib.sha256(browser.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Keys:
    account: str | None
    address: str | None


class LoginGuard:
    def __init__(
        self, directory: Directory, store: AccountStore, clock: Callable[[], datetime]
    ) -> None:
        self.directory = directory
        self.store = store
        self.clock = clock

    def keys(self, user: User | None, login: str, ip: str | None, browser: str | None) -> Keys:
        account: str | None = (
            f"user:{user.id}" if user is not None else f"login:{login.strip().lower()[:256]}"
        )
        if (
            user is not None
            and browser
            and self.store.knows_browser(user.id, browser_digest(browser))
        ):
            account = None
        return Keys(account, f"ip:{ip}" if ip else None)

    def wait_seconds(self, keys: Keys) -> int:
        """Seconds until another attempt may be checked (0: go ahead)."""
        wanted = [k for k in (keys.account, keys.address) if k is not None]
        now = self.clock()
        longest = timedelta(0)
        for key, (failures, last) in self.store.failures(wanted).items():
            if now - last > FORGET_AFTER:
                continue
            longest = max(longest, last + delay_after(failures, key.split(":", 1)[0]) - now)
        return math.ceil(longest.total_seconds())

    def refused(self, keys: Keys, login: str, ip: str | None, wait: int) -> None:
        self._audit("auth.throttled", login, ip, "refused", wait=wait)

    def failed(self, keys: Keys, login: str, ip: str | None) -> None:
        now = self.clock()
        for key in (keys.account, keys.address):
            if key is None:
                continue
            count = self.store.record_failure(key, now, now - FORGET_AFTER)
            if count == FREE_FAILURES[key.split(":", 1)[0]]:
                # The moment guessing starts costing time is worth an event of its own.
                self._audit("auth.throttle", login, ip, "started", key=key.split(":", 1)[0])

    def succeeded(self, user: User, browser: str | None) -> None:
        self.store.clear_failures(f"user:{user.id}")
        if browser:
            self.store.remember_browser(user.id, browser_digest(browser), self.clock())

    def _audit(
        self, action: str, login: str, ip: str | None, outcome: str, **details: object
    ) -> None:
        self.directory.store.record_audit(
            AuditEvent(
                at=self.clock(),
                actor="anonymous",
                action=action,
                target=login[:128],
                outcome=outcome,
                ip=ip,
                details=dict(details),
            )
        )
