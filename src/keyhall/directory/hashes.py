"""Imported password hashes: RFC 3112 `{SCHEME}` values as OpenLDAP and its peers write them.

Each accepted scheme is verified natively and registered in `passwords.LEGACY_VERIFIERS`, so
`Directory.authenticate` checks it like any other hash and re-hashes with argon2id after the
first successful login. `check_hash` validates a value at import time and returns its stored
(canonical) form; anything it does not know is refused there, not at login.

Accepted: `{SHA}` `{SSHA}` `{SHA256}` `{SSHA256}` `{SHA384}` `{SSHA384}` `{SHA512}`
`{SSHA512}` (OpenLDAP core and pw-sha2), `{CRYPT}` with bcrypt or SHA-crypt inside,
`{PBKDF2}` `{PBKDF2-SHA1}` `{PBKDF2-SHA256}` `{PBKDF2-SHA512}` (OpenLDAP pw-pbkdf2 and passlib's
`ldap_pbkdf2_*`, which share one layout), `{ARGON2}` (OpenLDAP pw-argon2), and bare `$2a$`
`$2b$` `$2y$` (bcrypt), `$5$` `$6$` (SHA-crypt), `$pbkdf2-sha256$` (passlib), `$argon2…`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable

import bcrypt
from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError

from keyhall.directory import shacrypt
from keyhall.directory.passwords import LEGACY_VERIFIERS, constant_time_equal
from keyhall.errors import InvalidInput

# Ceilings on the work an imported hash may ask of a login: beyond them a hash is refused at
# import rather than letting one login burn seconds of CPU or gigabytes of memory.
MAX_ITERATIONS = 2_000_000
MAX_BCRYPT_COST = 16
MAX_ARGON2_MEMORY_KIB = 1024 * 1024

_SCHEME = re.compile(r"\{([A-Za-z0-9._-]+)\}")
_DIGESTS: dict[str, Callable[..., hashlib._Hash]] = {
    "SHA": hashlib.sha1,
    "SHA256": hashlib.sha256,
    "SHA384": hashlib.sha384,
    "SHA512": hashlib.sha512,
}
_PBKDF2: dict[str, str] = {
    "PBKDF2": "sha1",
    "PBKDF2-SHA1": "sha1",
    "PBKDF2-SHA256": "sha256",
    "PBKDF2-SHA512": "sha512",
}
_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
_SHACRYPT_PREFIXES = ("$5$", "$6$")
_PASSLIB_PBKDF2 = "$pbkdf2-sha256$"
_argon2 = PasswordHasher()


class UnknownHashScheme(InvalidInput):
    def __init__(self, message: str) -> None:
        super().__init__(message, field="password_hash")


def scheme_of(value: str) -> str | None:
    """The `{SCHEME}` name a value starts with, upper-cased; None when it has none."""
    match = _SCHEME.match(value)
    return match.group(1).upper() if match else None


def is_hashed(value: str) -> bool:
    """Whether an LDAP `userPassword` value is a hash rather than a cleartext password."""
    return scheme_of(value) not in (None, "CLEARTEXT") or value.startswith(
        (*_BCRYPT_PREFIXES, *_SHACRYPT_PREFIXES, _PASSLIB_PBKDF2, "$argon2")
    )


def check_hash(value: str) -> str:
    """Validate an imported hash and return the form Keyhall stores; UnknownHashScheme if not."""
    value = value.strip()
    scheme = scheme_of(value)
    if scheme is None:
        _check_bare(value)
        return value
    body = value[len(scheme) + 2 :]
    if scheme in _DIGESTS or (scheme[:1] == "S" and scheme[1:] in _DIGESTS):
        _digest_and_salt(scheme, body)
    elif scheme == "CRYPT":
        if not body.startswith((*_BCRYPT_PREFIXES, *_SHACRYPT_PREFIXES)):
            raise UnknownHashScheme(
                "unsupported {CRYPT} format: only bcrypt ($2a$, $2b$, $2y$) and SHA-crypt "
                "($5$, $6$) can be verified"
            )
        _check_bare(body)
    elif scheme in _PBKDF2:
        _pbkdf2_parts(body)
    elif scheme == "ARGON2":
        _check_argon2(body)
    else:
        raise UnknownHashScheme(f"unknown password hash scheme {{{scheme}}}")
    return "{" + scheme + "}" + body


def verify(stored: str, password: str) -> bool:
    """Check `password` against a hash `check_hash` accepted. Constant-time comparisons."""
    try:
        return _verify(stored, password)
    except (ValueError, binascii.Error, UnknownHashScheme):
        return False


def _verify(stored: str, password: str) -> bool:
    scheme = scheme_of(stored)
    if scheme is None:
        return _verify_bare(stored, password)
    body = stored[len(scheme) + 2 :]
    if scheme == "CRYPT":
        return _verify_bare(body, password)
    if scheme in _PBKDF2:
        iterations, salt, key = _pbkdf2_parts(body)
        password_bytes = password.encode()
        derived = hashlib.pbkdf2_hmac(_PBKDF2[scheme], password_bytes, salt, iterations, len(key))
        return constant_time_equal(derived, key)
    if scheme == "ARGON2":
        return _verify_argon2(body, password)
    new, digest, salt = _digest_and_salt(scheme, body)
    return constant_time_equal(new(password.encode() + salt).digest(), digest)


def _verify_bare(value: str, password: str) -> bool:
    if value.startswith(_BCRYPT_PREFIXES):
        # bcrypt only ever read 72 bytes; the system that hashed it truncated the same way.
        return bcrypt.checkpw(password.encode()[:72], value.encode())
    if value.startswith(_SHACRYPT_PREFIXES):
        return constant_time_equal(shacrypt.crypt(password, value), value)
    if value.startswith(_PASSLIB_PBKDF2):
        return _verify("{PBKDF2-SHA256}" + value[len(_PASSLIB_PBKDF2) :], password)
    if value.startswith("$argon2"):
        return _verify_argon2(value, password)
    return False


def _verify_argon2(value: str, password: str) -> bool:
    try:
        return _argon2.verify(value, password)
    except (VerificationError, InvalidHashError):
        return False


def _check_bare(value: str) -> None:
    try:
        if value.startswith(_BCRYPT_PREFIXES):
            cost = int(value[4:6])
            if len(value) != 60 or value[6] != "$" or not 4 <= cost <= MAX_BCRYPT_COST:
                raise ValueError("malformed bcrypt hash")
        elif value.startswith(_SHACRYPT_PREFIXES):
            if shacrypt.parse(value).rounds > MAX_ITERATIONS:
                raise ValueError(f"SHA-crypt rounds above {MAX_ITERATIONS}")
        elif value.startswith(_PASSLIB_PBKDF2):
            _pbkdf2_parts(value[len(_PASSLIB_PBKDF2) :])
        elif value.startswith("$argon2"):
            _check_argon2(value)
        else:
            raise UnknownHashScheme("not a recognised password hash (no {SCHEME} prefix)")
    except UnknownHashScheme:
        raise
    except ValueError as exc:
        raise UnknownHashScheme(f"invalid password hash: {exc}") from None


def _check_argon2(value: str) -> None:
    try:
        params = extract_parameters(value)
    except InvalidHashError:
        raise UnknownHashScheme("invalid password hash: malformed argon2 hash") from None
    if params.memory_cost > MAX_ARGON2_MEMORY_KIB or params.time_cost > 100:
        raise UnknownHashScheme("invalid password hash: argon2 cost too high to verify")
    if params.type not in (Type.ID, Type.I, Type.D):
        raise UnknownHashScheme("invalid password hash: unknown argon2 variant")


def _digest_and_salt(scheme: str, body: str) -> tuple[Callable[..., hashlib._Hash], bytes, bytes]:
    salted = scheme not in _DIGESTS
    new = _DIGESTS[scheme[1:] if salted else scheme]
    try:
        raw = base64.b64decode(body, validate=True)
    except binascii.Error:
        raise UnknownHashScheme(f"invalid {{{scheme}}} hash: not base64") from None
    size = new().digest_size
    if len(raw) < size or (not salted and len(raw) != size) or (salted and len(raw) == size):
        raise UnknownHashScheme(f"invalid {{{scheme}}} hash: wrong length")
    return new, raw[:size], raw[size:]


def _pbkdf2_parts(body: str) -> tuple[int, bytes, bytes]:
    """`ITERATIONS$SALT$KEY` with the "adapted base64" ('.' for '+', no padding) both use."""
    parts = body.split("$")
    if len(parts) != 3 or not parts[0].isdigit():
        raise UnknownHashScheme("invalid PBKDF2 hash: expected ITERATIONS$SALT$KEY")
    iterations = int(parts[0])
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise UnknownHashScheme(f"invalid PBKDF2 hash: iterations must be 1-{MAX_ITERATIONS}")
    try:
        salt, key = (_ab64_decode(p) for p in parts[1:])
    except (binascii.Error, ValueError):
        raise UnknownHashScheme("invalid PBKDF2 hash: salt or key is not base64") from None
    if len(key) < 16:
        raise UnknownHashScheme("invalid PBKDF2 hash: key too short")
    return iterations, salt, key


def _ab64_decode(text: str) -> bytes:
    text = text.replace(".", "+")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _register() -> None:
    prefixes = [
        *(f"{{{name}}}" for name in _DIGESTS),
        *(f"{{S{name}}}" for name in _DIGESTS),
        *(f"{{{name}}}" for name in _PBKDF2),
        "{CRYPT}",
        "{ARGON2}",
        *_BCRYPT_PREFIXES,
        *_SHACRYPT_PREFIXES,
        _PASSLIB_PBKDF2,
    ]
    for prefix in prefixes:
        LEGACY_VERIFIERS[prefix] = verify


_register()
