"""SHA-crypt (`$5$`, `$6$`): U. Drepper, "Unix crypt using SHA-256 and SHA-512" (2008).

Python 3.13 removed the `crypt` module, and glibc's crypt(3) is not always built with these
schemes, so the algorithm is implemented here from the published specification. It exists
only to verify hashes imported from other directories; Keyhall itself writes argon2id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ROUNDS_DEFAULT = 5000
ROUNDS_MIN = 1000
ROUNDS_MAX = 999_999_999
SALT_MAX = 16

# The byte triples of the final digest, in the order the spec encodes them (its step 22).
_ORDER: dict[str, tuple[tuple[int, int, int], ...]] = {
    "5": (
        (0, 10, 20), (21, 1, 11), (12, 22, 2), (3, 13, 23), (24, 4, 14),
        (15, 25, 5), (6, 16, 26), (27, 7, 17), (18, 28, 8), (9, 19, 29),
    ),
    "6": (
        (0, 21, 42), (22, 43, 1), (44, 2, 23), (3, 24, 45), (25, 46, 4),
        (47, 5, 26), (6, 27, 48), (28, 49, 7), (50, 8, 29), (9, 30, 51),
        (31, 52, 10), (53, 11, 32), (12, 33, 54), (34, 55, 13), (56, 14, 35),
        (15, 36, 57), (37, 58, 16), (59, 17, 38), (18, 39, 60), (40, 61, 19),
        (62, 20, 41),
    ),
}  # fmt: skip
_DIGEST: dict[str, Callable[..., hashlib._Hash]] = {"5": hashlib.sha256, "6": hashlib.sha512}


@dataclass(frozen=True, slots=True)
class ShaCrypt:
    """A parsed `$5$`/`$6$` string."""

    variant: str
    rounds: int
    explicit_rounds: bool
    salt: str
    checksum: str


def parse(value: str) -> ShaCrypt:
    """Split a SHA-crypt string into its parts; ValueError when it is not one."""
    parts = value.split("$")
    if len(parts) not in (4, 5) or parts[0] != "" or parts[1] not in _DIGEST:
        raise ValueError("not a $5$ or $6$ crypt string")
    variant, rest = parts[1], parts[2:]
    rounds, explicit = ROUNDS_DEFAULT, False
    if len(rest) == 3:
        spec, rest = rest[0], rest[1:]
        if not spec.startswith("rounds=") or not spec[7:].isdigit():
            raise ValueError("bad rounds= field")
        # Spec: values outside [1000, 999999999] are clamped, not refused.
        rounds, explicit = min(max(int(spec[7:]), ROUNDS_MIN), ROUNDS_MAX), True
    salt, checksum = rest
    expected = 43 if variant == "5" else 86
    if len(checksum) != expected or any(c not in ITOA64 for c in checksum):
        raise ValueError("bad checksum field")
    return ShaCrypt(variant, rounds, explicit, salt[:SALT_MAX], checksum)


def checksum(password: bytes, salt: bytes, rounds: int, variant: str) -> str:
    """The spec's steps 1-22: the encoded digest of `password` under `salt` and `rounds`."""
    new = _DIGEST[variant]
    size = new().digest_size
    length = len(password)
    digest_b = new(password + salt + password).digest()
    ctx_a = new(password + salt)
    n = length
    while n > size:
        ctx_a.update(digest_b)
        n -= size
    ctx_a.update(digest_b[:n])
    n = length
    while n > 0:
        ctx_a.update(digest_b if n & 1 else password)
        n >>= 1
    digest_a = ctx_a.digest()
    dp = new(password * length).digest()
    p_bytes = (dp * (length // size + 1))[:length]
    ds = new(salt * (16 + digest_a[0])).digest()
    s_bytes = (ds * (len(salt) // size + 1))[: len(salt)]
    c = digest_a
    for i in range(rounds):
        ctx = new(p_bytes if i & 1 else c)
        if i % 3:
            ctx.update(s_bytes)
        if i % 7:
            ctx.update(p_bytes)
        ctx.update(c if i & 1 else p_bytes)
        c = ctx.digest()
    return _encode(c, variant)


def crypt(password: str, value: str) -> str:
    """Recompute `value` (a `$5$`/`$6$` string) for `password`: equal strings mean a match."""
    parsed = parse(value)
    encoded = checksum(password.encode(), parsed.salt.encode(), parsed.rounds, parsed.variant)
    rounds = f"rounds={parsed.rounds}$" if parsed.explicit_rounds else ""
    return f"${parsed.variant}${rounds}{parsed.salt}${encoded}"


def _encode(digest: bytes, variant: str) -> str:
    out: list[str] = []
    for a, b, c in _ORDER[variant]:
        out.append(_b64_from_24bit(digest[a], digest[b], digest[c], 4))
    if variant == "5":
        out.append(_b64_from_24bit(0, digest[31], digest[30], 3))
    else:
        out.append(_b64_from_24bit(0, 0, digest[63], 2))
    return "".join(out)


def _b64_from_24bit(b2: int, b1: int, b0: int, n: int) -> str:
    word = (b2 << 16) | (b1 << 8) | b0
    chars = []
    for _ in range(n):
        chars.append(ITOA64[word & 0x3F])
        word >>= 6
    return "".join(chars)
