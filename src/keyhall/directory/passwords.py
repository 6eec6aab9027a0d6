"""Password hashing: argon2id (RFC 9106) with parameters from the settings.

Verification dispatches on the stored hash's scheme so imported hashes can be checked natively;
anything that is not argon2id with the current parameters is re-hashed after a successful login.
"""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@dataclass(frozen=True, slots=True)
class Argon2Params:
    memory_kib: int = 19 * 1024
    time_cost: int = 2
    parallelism: int = 1


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    needs_rehash: bool = False


Verifier = Callable[[str, str], bool]
# Extra schemes (imported LDAP hashes) register here: prefix -> verifier(stored, password).
LEGACY_VERIFIERS: dict[str, Verifier] = {}


class Passwords:
    def __init__(self, params: Argon2Params) -> None:
        self.params = params
        self._hasher = PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        # A real hash of a random password, verified when the user is unknown so that an
        # unknown login costs as much as a wrong password (no user enumeration by timing).
        self._dummy = self._hasher.hash("keyhall-timing-equaliser")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> Verification:
        if stored is None:
            self.burn(password)
            return Verification(ok=False)
        if stored.startswith("$argon2"):
            try:
                self._hasher.verify(stored, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return Verification(ok=False)
            return Verification(ok=True, needs_rehash=self._needs_rehash(stored))
        for prefix, verifier in LEGACY_VERIFIERS.items():
            if stored.startswith(prefix):
                return Verification(ok=verifier(stored, password), needs_rehash=True)
        self.burn(password)
        return Verification(ok=False)

    def burn(self, password: str) -> None:
        """Spend one verification's worth of time on nothing."""
        with contextlib.suppress(VerificationError):
            self._hasher.verify(self._dummy, password)

    def _needs_rehash(self, stored: str) -> bool:
        if not stored.startswith("$argon2id$"):
            return True
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    left = a.encode() if isinstance(a, str) else a
    right = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(left, right)
