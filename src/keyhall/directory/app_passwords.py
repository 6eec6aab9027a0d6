"""App passwords: per-app random secrets a user gives to apps that can't do 2FA.

They are stored as a keyed HMAC-SHA256 rather than argon2id. Argon2's cost exists to slow the
guessing of human-chosen passwords from a stolen hash; these are 125 random bits, out of reach of
any guessing, so a slow hash buys nothing and would make apps that bind on every request pay
~28 ms each time. The HMAC key is derived from the instance secret, so a stolen database alone
doesn't even allow checking a guess.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from keyhall.directory.sealing import derive_key

_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # 32 symbols, no look-alikes (l, 1, o, 0)
_GROUPS = 5
_GROUP_LEN = 5
SHAPE = re.compile(
    rf"[{_ALPHABET}]{{{_GROUP_LEN}}}(?:-[{_ALPHABET}]{{{_GROUP_LEN}}}){{{_GROUPS - 1}}}"
)
NAME_MAX = 64


@dataclass(frozen=True, slots=True)
class AppPassword:
    id: str
    user_id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None


def generate() -> str:
    """Five groups of five symbols from 32: 125 bits, easy to read aloud or retype."""
    return "-".join(
        "".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LEN)) for _ in range(_GROUPS)
    )


def looks_like(secret: str) -> bool:
    return SHAPE.fullmatch(secret) is not None


class AppPasswordHasher:
    def __init__(self, secret_key: bytes) -> None:
        self._key = derive_key(secret_key, "app-password")

    def digest(self, password: str) -> str:
        return hmac.new(self._key, password.encode(), hashlib.sha256).hexdigest()
