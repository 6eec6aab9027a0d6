"""Opaque access tokens are sealed token rows; revocations recorded apart end them early."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from keyhall.oidc.access_token import CLOCK_SKEW, OPENED_KEPT, SealedTokens, revoked
from keyhall.oidc.grant import digest
from keyhall.storage.oidc_store import TokenRow

SECRET = bytes(range(32))
NOW = datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC)
ROW = TokenRow(
    "", "access", "grant-1", "client-1", "user-1", "sid-1", "openid profile",
    {"auth_time": 1764064800, "amr": ["pwd"], "nonce": None,
     "claims": {"id_token": [], "userinfo": ["email"]}},
    NOW, NOW.replace(microsecond=0) + timedelta(hours=1), revoked=False, rotated=False,
)  # fmt: skip


def test_a_sealed_token_opens_to_its_row_with_its_digest() -> None:
    tokens = SealedTokens(SECRET)
    token = tokens.seal(ROW)
    assert tokens.open(token) == replace(ROW, token_hash=digest(token))
    assert "grant-1" not in token and "." not in token  # not a JWT, not readable
    assert tokens.seal(ROW) != token


def test_codes_and_other_secrets_do_not_open_as_tokens() -> None:
    from keyhall.oidc.codes import CodeSeal
    from keyhall.storage.oidc_store import CodeRow

    code = CodeSeal(SECRET).seal(CodeRow("g", "c", "u", "s", "https://rp/cb", "openid", {}, NOW))
    assert SealedTokens(SECRET).open(code) is None  # another purpose, another key
    assert SealedTokens(bytes(32)).open(SealedTokens(SECRET).seal(ROW)) is None
    token = SealedTokens(SECRET).seal(ROW)
    assert SealedTokens(SECRET).open(token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) is None


def test_what_revokes_a_sealed_token() -> None:
    at = NOW + timedelta(minutes=5)
    assert not revoked(ROW, {})
    assert revoked(ROW, {"token:x": at})
    assert revoked(ROW, {"grant:grant-1": at})
    assert revoked(ROW, {"session:sid-1": at})
    offline = replace(ROW, scope="openid offline_access")
    assert not revoked(offline, {"session:sid-1": at})  # logout spares offline tokens
    assert revoked(offline, {"grant:grant-1": at})
    # A user's revocation ends tokens issued until then (give or take the nodes' clocks),
    # not those issued once the user may sign in again.
    assert revoked(ROW, {"user:user-1": NOW})
    assert revoked(ROW, {"user:user-1": NOW - CLOCK_SKEW})
    assert not revoked(ROW, {"user:user-1": NOW - CLOCK_SKEW - timedelta(microseconds=1)})


def test_opened_tokens_are_kept_but_only_those_that_opened() -> None:
    tokens = SealedTokens(SECRET)
    token = tokens.seal(ROW)
    first = tokens.open(token)
    assert first is not None and tokens.open(token) is first  # kept, not opened again
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert tokens.open(forged) is None and tokens.open(forged) is None
    many = [tokens.seal(ROW) for _ in range(OPENED_KEPT + 1)]
    assert all(tokens.open(t) is not None for t in many)  # a full store is swept, not refused
    assert tokens.open(token) == first
