"""Recovery codes: ten one-time codes that stand in for a lost second factor.

Like app passwords they are random (50 bits each, and every guess is throttled and audited),
so they are stored as a keyed HMAC-SHA256, not argon2: a stolen database alone can't check one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from keyhall.directory.sealing import derive_key

COUNT = 10
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no look-alikes (l, 1, o, 0)
_HALF = 5


def generate(count: int = COUNT) -> list[str]:
    """Codes shaped `xxxxx-xxxxx`, easy to copy onto paper."""
    return [
        "-".join("".join(secrets.choice(_ALPHABET) for _ in range(_HALF)) for _ in range(2))
        for _ in range(count)
    ]


def normalize(code: str) -> str:
    """What a person types: any case, spaces or dashes anywhere."""
    bare = "".join(ch for ch in code.lower() if ch.isalnum())
    return f"{bare[:_HALF]}-{bare[_HALF:]}" if len(bare) == 2 * _HALF else bare


def looks_like(code: str) -> bool:
    shaped = normalize(code)
    return len(shaped) == 2 * _HALF + 1 and all(c in _ALPHABET for c in shaped.replace("-", ""))


class RecoveryCodeHasher:
    def __init__(self, secret_key: bytes) -> None:
        self._key = derive_key(secret_key, "recovery-code")

    def digest(self, code: str) -> str:
        return hmac.new(self._key, normalize(code).encode(), hashlib.sha256).hexdigest()
