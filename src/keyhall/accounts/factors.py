"""Second factors at sign-in: which a user has, which step the login takes, and the checks.

RFC 6238 codes come from the TOTP enrolment in `keyhall.directory.credentials` (sealed secret,
replay-protected steps); recovery codes are single-use; passkeys live in `passkeys.py`. The
`amr` values are RFC 8176's: `pwd`, `otp`, `hwk`/`swk`, and `mfa` when two kinds were used.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from keyhall.accounts import recovery_codes as rc
from keyhall.directory import totp
from keyhall.directory.credentials import Credentials
from keyhall.directory.models import LOCAL_SOURCE, Actor, AuditEvent, User
from keyhall.directory.sealing import Sealer
from keyhall.directory.service import Directory
from keyhall.errors import Forbidden
from keyhall.storage.account_store import AccountStore


class Need(enum.StrEnum):
    """What a sign-in still needs once the password was right."""

    NOTHING = "nothing"
    SECOND_FACTOR = "second_factor"
    ENROLMENT = "enrolment"


@dataclass(frozen=True, slots=True)
class FactorStatus:
    totp: bool
    passkeys: int
    recovery_codes_left: int

    @property
    def enrolled(self) -> bool:
        """Recovery codes alone are not a second factor: they only stand in for one."""
        return self.totp or self.passkeys > 0


def amr(*methods: str) -> list[str]:
    """RFC 8176 §2: add `mfa` when more than one kind of factor was used."""
    kinds = list(dict.fromkeys(methods))
    return [*kinds, "mfa"] if len(kinds) > 1 else kinds


class SecondFactors:
    def __init__(
        self,
        directory: Directory,
        credentials: Credentials,
        store: AccountStore,
        secret_key: bytes,
        clock: Callable[[], datetime],
    ) -> None:
        self.directory = directory
        self.credentials = credentials
        self.store = store
        self.clock = clock
        self._codes = rc.RecoveryCodeHasher(secret_key)
        # The same purpose as `Credentials` uses, so this opens the secrets it sealed.
        self._totp_sealer = Sealer(secret_key, "totp")

    def status(self, user: User) -> FactorStatus:
        return FactorStatus(
            totp=self.credentials.has_totp(user),
            passkeys=len(self.store.passkeys(user.id)),
            recovery_codes_left=self.store.recovery_codes_left(user.id),
        )

    def skips_local_2fa(self, user: User) -> bool:
        """Issue 8 / seed 000: a provider that enforces 2FA upstream means none is asked here."""
        external = self.directory.external
        if user.source == LOCAL_SOURCE or external is None:
            return False
        from keyhall.connectors.auth import ExternalAuthenticator

        return (
            isinstance(external, ExternalAuthenticator)
            and external.handles(user)
            and external.config().passes_2fa_through
        )

    def need(self, user: User) -> Need:
        if self.skips_local_2fa(user):
            return Need.NOTHING
        if self.store.has_second_factor(user.id):
            return Need.SECOND_FACTOR
        if self.directory.settings()["mandatory_2fa"]:
            return Need.ENROLMENT
        return Need.NOTHING

    # -- checks at sign-in ---------------------------------------------------------------
    def check_totp(self, user: User, code: str) -> bool:
        """RFC 6238 §5.2: each code is accepted once, on whichever node sees it first."""
        record = self.credentials.store.totp(user.id)
        code = code.strip().replace(" ", "")
        if record is None or not record.confirmed or not totp.looks_like_code(code):
            return False
        secret = self._totp_sealer.open(record.sealed_secret).decode()
        step = totp.matching_step(secret, code, self.clock())
        return (
            step is not None
            and step > record.last_step
            and self.credentials.store.use_step(user.id, step)
        )

    def use_recovery_code(self, user: User, code: str) -> bool:
        if not rc.looks_like(code):
            return False
        used = self.store.use_recovery_code(user.id, self._codes.digest(code), self.clock())
        if used:
            self._audit(user, Actor("user", user.username), "user.recovery_code_use")
        return used

    # -- management ----------------------------------------------------------------------
    def new_recovery_codes(self, user: User, *, actor: Actor) -> list[str]:
        """Replace every recovery code with ten new ones, returned once and stored hashed."""
        codes = rc.generate()
        self.store.replace_recovery_codes(
            user.id, [self._codes.digest(c) for c in codes], self.clock()
        )
        self._audit(user, actor, "user.recovery_codes_new")
        return codes

    def check_removal(self, user: User, *, removing_totp: bool = False, passkeys: int = 0) -> None:
        """With mandatory 2FA, a user may not remove their last second factor."""
        if not self.directory.settings()["mandatory_2fa"] or self.skips_local_2fa(user):
            return
        status = self.status(user)
        left_totp = status.totp and not removing_totp
        if not left_totp and status.passkeys - passkeys <= 0:
            raise Forbidden("two-factor sign-in is mandatory: add another factor first")

    def reset(self, user: User, *, actor: Actor) -> None:
        """Remove every second factor (an admin's help for a user who lost them all)."""
        self.credentials.remove_totp(user.username, actor=actor)
        self.store.delete_passkeys(user.id)
        self.store.delete_recovery_codes(user.id)
        self._audit(user, actor, "user.second_factors_reset")

    def record(self, user: User, action: str, ok: bool, ip: str | None, method: str) -> None:
        """Audit a second-factor check at sign-in, whichever way it went."""
        self.directory.store.record_audit(
            AuditEvent(
                at=self.clock(),
                actor=f"user:{user.username}",
                action=action,
                target=user.username,
                outcome="success" if ok else "second_factor",
                ip=ip,
                details={"via": "web", "method": method},
            )
        )

    def _audit(self, user: User, actor: Actor, action: str, **details: object) -> None:
        self.directory.store.record_audit(
            AuditEvent(
                at=self.clock(),
                actor=str(actor),
                action=action,
                target=user.username,
                outcome="success",
                ip=actor.ip,
                details=dict(details),
            )
        )


def methods_text(amr_values: Sequence[str]) -> str:
    """How a session signed in, for people: 'password + one-time code'."""
    words = {"pwd": "password", "otp": "one-time code", "hwk": "security key", "swk": "passkey"}
    return " + ".join(words[m] for m in amr_values if m in words) or "—"
