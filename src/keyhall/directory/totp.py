"""RFC 6238: time-based one-time passwords (30-second steps, 6 digits, HMAC-SHA1).

Pure functions over a base32 secret; storage of the secret and of the last accepted step
(replay protection, RFC 6238 §5.2) live in `credentials.py`.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

DIGITS = 6
STEP_SECONDS = 30
# RFC 6238 §5.2 recommends accepting at most one step of clock drift either way.
DRIFT_STEPS = 1


def new_secret() -> str:
    """160 random bits, base32: the length RFC 4226 §4 recommends for HMAC-SHA1."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// URI authenticator apps read from a QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def looks_like_code(text: str) -> bool:
    return len(text) == DIGITS and text.isascii() and text.isdigit()


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time-step `code` is valid for around `now`, or None."""
    if not looks_like_code(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = totp.timecode(now)
    found = None
    # Check every candidate step so the time taken doesn't reveal which one matched.
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and found is None:
            found = step
    return found


def code_at(secret: str, now: datetime) -> str:
    """The code an authenticator shows at `now` (for tests and provisioning scripts)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(now)
