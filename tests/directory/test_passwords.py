from __future__ import annotations

from keyhall.directory.passwords import Argon2Params, Passwords, constant_time_equal

CHEAP = Argon2Params(memory_kib=1024, time_cost=1, parallelism=1)


def test_hashes_are_argon2id_with_the_configured_parameters() -> None:
    stored = Passwords(CHEAP).hash("correct horse")
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")


def test_verify_accepts_the_password_and_refuses_others() -> None:
    passwords = Passwords(CHEAP)
    stored = passwords.hash("correct horse")
    assert passwords.verify(stored, "correct horse").ok
    assert not passwords.verify(stored, "correct horsE").ok
    assert not passwords.verify(stored, "").ok
    assert not passwords.verify(None, "anything").ok


def test_changed_parameters_ask_for_a_rehash() -> None:
    stored = Passwords(CHEAP).hash("pw-123456")
    stronger = Passwords(Argon2Params(memory_kib=2048, time_cost=1, parallelism=1))
    result = stronger.verify(stored, "pw-123456")
    assert result.ok
    assert result.needs_rehash
    assert not Passwords(CHEAP).verify(stored, "pw-123456").needs_rehash


def test_unknown_hash_schemes_never_verify() -> None:
    passwords = Passwords(CHEAP)
    assert not passwords.verify("{MD5}X03MO1qnZdYdgyfeuILPmQ==", "password").ok
    assert not passwords.verify("plaintext", "plaintext").ok


def test_constant_time_equal() -> None:
    assert constant_time_equal("abc", b"abc")
    assert not constant_time_equal("abc", "abd")
