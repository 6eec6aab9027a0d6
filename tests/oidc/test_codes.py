"""Sealed authorization codes: they carry their grant, and only the issuing secret opens them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from keyhall.oidc.codes import CodeSeal
from keyhall.storage.oidc_store import CodeRow

SECRET = bytes(range(32))
CODE = CodeRow(
    "grant-1", "client-1", "user-1", "sid-1", "oc://android.opencloud.eu", "openid é",
    {"auth_time": 1764064800, "amr": ["pwd", "otp"], "nonce": "n", "code_challenge": "abc",
     "code_challenge_method": "S256"},
    expires_at=datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC),
)  # fmt: skip


def test_a_sealed_code_opens_to_its_grant() -> None:
    seal = CodeSeal(SECRET)
    code = seal.seal(CODE)
    assert seal.open(code) == CODE
    assert CodeSeal(SECRET).open(code) == CODE  # another node sharing the secret
    assert "grant-1" not in code and "user-1" not in code  # encrypted, not just signed
    assert code.isascii() and "=" not in code and "+" not in code and "/" not in code
    assert seal.seal(CODE) != code  # a fresh nonce each time


def test_expiry_kept_to_the_second() -> None:
    seal = CodeSeal(SECRET)
    later = replace(CODE, expires_at=CODE.expires_at + timedelta(microseconds=900_000))
    opened = seal.open(seal.seal(later))
    assert opened is not None and opened.expires_at == CODE.expires_at


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),  # tag changed
        lambda c: c[:20] + ("A" if c[20] != "A" else "B") + c[21:],  # ciphertext changed
        lambda c: c[:-4],  # truncated
        lambda c: c[:10],  # nonce only
        lambda c: "",
        lambda c: "not base64 ***",
        lambda c: c + "é",
    ],
)
def test_a_changed_or_foreign_code_opens_to_nothing(tamper: object) -> None:
    seal = CodeSeal(SECRET)
    code = seal.seal(CODE)
    assert callable(tamper)
    assert seal.open(tamper(code)) is None


def test_another_instance_secret_opens_nothing() -> None:
    code = CodeSeal(SECRET).seal(CODE)
    assert CodeSeal(bytes(32)).open(code) is None
