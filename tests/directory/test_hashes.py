"""Imported hashes, checked against values written by the tools people migrate from."""

from __future__ import annotations

import ctypes
import ctypes.util
import subprocess

import bcrypt
import pytest
from argon2 import PasswordHasher

from keyhall.directory import hashes, shacrypt
from keyhall.directory.passwords import Argon2Params, Passwords

# From the slapd-pw-pbkdf2(5) manual page: each encodes the password "secret".
PBKDF2_MANUAL = (
    "{PBKDF2-SHA512}10000$/oQ4xZi382mk7kvCd3ZdkA$2wqjpuyV2l0U/a1QwoQPOtlQL.UcJGNACj1O24balru"
    "qQb/NgPW6OCvvrrJP8.SzA3/5iYvLnwWPzeX8IK/bEQ",
    "{PBKDF2-SHA256}10000$jq40ImWtmpTE.aYDYV1GfQ$mpiL4ui02ACmYOAnCjp/MI1gQk50xLbZ54RZneU0fCg",
    "{PBKDF2-SHA1}10000$QJTEclnXgh9Cz3ChCWpdAg$9.s98jwFJM.NXJK9ca/oJ5AyoAQ",
)
# From Drepper's SHA-crypt specification.
SHA512_SPEC = (
    ("Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTL"
     "iBFdcbYEdFCoEOfaS35inz1"),
    ("Hello world!", "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSn"
     "CM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."),
)  # fmt: skip


def _run(*args: str, input: str | None = None) -> str:
    result = subprocess.run(args, input=input, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def slappasswd(scheme: str, password: str) -> str:
    return _run(
        "/usr/sbin/slappasswd",
        "-o",
        "module-path=/usr/lib/ldap",
        "-o",
        "module-load=pw-sha2",
        "-h",
        scheme,
        "-s",
        password,
    )


@pytest.mark.parametrize("scheme", ["{SSHA}", "{SHA}", "{SSHA256}", "{SSHA512}", "{SHA512}"])
def test_slappasswd_digests_verify(scheme: str) -> None:
    stored = hashes.check_hash(slappasswd(scheme, "s3cret pass"))
    assert stored.startswith(scheme)
    assert hashes.verify(stored, "s3cret pass")
    assert not hashes.verify(stored, "s3cret pasS")


@pytest.mark.parametrize("variant", ["5", "6"])
@pytest.mark.parametrize("password", ["x", "correct horse", "ünïcødé " * 12])
def test_sha_crypt_matches_openssl(variant: str, password: str) -> None:
    made = _run("openssl", "passwd", f"-{variant}", "-stdin", input=password + "\n")
    assert shacrypt.crypt(password, made) == made
    assert hashes.verify("{CRYPT}" + made, password)
    assert not hashes.verify("{CRYPT}" + made, password + "!")


@pytest.mark.parametrize(
    "setting", ["$6$abc", "$5$abcdefghijklmnop", "$6$rounds=1000$x", "$5$rounds=1234$saltysalt"]
)
@pytest.mark.parametrize("password", ["", "p", "a much longer password " * 4])
def test_sha_crypt_matches_libcrypt(setting: str, password: str) -> None:
    libcrypt = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
    libcrypt.crypt.restype = ctypes.c_char_p
    made = libcrypt.crypt(password.encode(), setting.encode()).decode()
    assert made.startswith(setting[:3])
    assert shacrypt.crypt(password, made) == made


@pytest.mark.parametrize(("password", "expected"), SHA512_SPEC)
def test_sha_crypt_spec_vectors(password: str, expected: str) -> None:
    assert shacrypt.crypt(password, expected) == expected


def test_slappasswd_crypt_uses_the_system_crypt() -> None:
    # slappasswd {CRYPT} with a $6$ salt format goes through glibc/libxcrypt crypt(3).
    stored = _run("/usr/sbin/slappasswd", "-h", "{CRYPT}", "-c", "$6$%.16s", "-s", "pw-6")
    assert stored.startswith("{CRYPT}$6$")
    assert hashes.verify(hashes.check_hash(stored), "pw-6")


@pytest.mark.parametrize("ident", [b"2a", b"2b", b"2y"])
def test_bcrypt_with_and_without_crypt_prefix(ident: bytes) -> None:
    made = bcrypt.hashpw(b"bcrypt pw", bcrypt.gensalt(rounds=4, prefix=b"2b")).decode()
    made = made.replace("$2b$", f"${ident.decode()}$", 1)
    for stored in (made, "{CRYPT}" + made, "{crypt}" + made):
        canonical = hashes.check_hash(stored)
        assert hashes.verify(canonical, "bcrypt pw")
        assert not hashes.verify(canonical, "bcrypt pW")


def test_bcrypt_reads_only_72_bytes_like_its_writers() -> None:
    long = "x" * 80
    made = bcrypt.hashpw(long.encode()[:72], bcrypt.gensalt(rounds=4)).decode()
    assert hashes.verify(made, long)


@pytest.mark.parametrize("stored", PBKDF2_MANUAL)
def test_openldap_pbkdf2_manual_examples(stored: str) -> None:
    assert hashes.verify(hashes.check_hash(stored), "secret")
    assert not hashes.verify(stored, "Secret")


def test_passlib_pbkdf2_sha256_layout() -> None:
    # passlib's $pbkdf2-sha256$ is the same ROUNDS$SALT$KEY body under another prefix.
    body = PBKDF2_MANUAL[1].removeprefix("{PBKDF2-SHA256}")
    assert hashes.verify(hashes.check_hash("$pbkdf2-sha256$" + body), "secret")
    assert hashes.verify(hashes.check_hash("{pbkdf2}" + PBKDF2_MANUAL[2][13:]), "secret")


def test_argon2_in_openldap_and_bare_forms() -> None:
    made = PasswordHasher(time_cost=1, memory_cost=1024).hash("argon pw")
    assert hashes.verify(hashes.check_hash("{ARGON2}" + made), "argon pw")
    assert not hashes.verify("{ARGON2}" + made, "argon pW")
    assert hashes.check_hash(made) == made


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{MD4}abcd", "unknown password hash scheme {MD4}"),
        ("{SSHA}not base64!", "invalid {SSHA} hash: not base64"),
        ("{SHA}AAAA", "invalid {SHA} hash: wrong length"),
        ("{CRYPT}abJnggxhB/yWI", "unsupported {CRYPT} format"),
        ("{CRYPT}$1$salt$hash", "unsupported {CRYPT} format"),
        ("{PBKDF2-SHA256}x$y$z", "invalid PBKDF2 hash"),
        ("{PBKDF2-SHA256}99999999$AAAA$" + "A" * 43, "iterations must be"),
        ("$2b$31$" + "a" * 53, "invalid password hash"),
        ("$6$rounds=5000$salt$short", "invalid password hash"),
        ("{ARGON2}$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", "cost"),
        ("plain text", "not a recognised password hash"),
    ],
)
def test_unknown_or_malformed_hashes_are_refused_at_import(value: str, message: str) -> None:
    with pytest.raises(hashes.UnknownHashScheme, match=message.replace("$", r"\$")) as caught:
        hashes.check_hash(value)
    assert caught.value.field == "password_hash"


def test_cleartext_is_told_apart_from_hashes() -> None:
    assert not hashes.is_hashed("hunter2")
    assert not hashes.is_hashed("{CLEARTEXT}hunter2")
    assert hashes.is_hashed("{SSHA}abc")
    assert hashes.is_hashed("$2b$04$abc")


def test_passwords_dispatch_to_imported_schemes_and_ask_for_rehash() -> None:
    passwords = Passwords(Argon2Params(memory_kib=1024, time_cost=1))
    stored = hashes.check_hash(slappasswd("{SSHA}", "legacy"))
    assert passwords.verify(stored, "legacy").ok
    assert passwords.verify(stored, "legacy").needs_rehash
    assert not passwords.verify(stored, "nope").ok
    assert not passwords.verify("{UNKNOWN}xyz", "legacy").ok
