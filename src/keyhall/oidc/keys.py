"""RFC 7517/7518: the provider's signing keys — RSA-2048 (RS256), P-256 (ES256), Ed25519 (EdDSA).

Each algorithm has one `current` key that signs, one `next` key already published in the JWKS
(so relying parties have it cached before it signs anything), and `retired` keys kept published
until the tokens they signed have expired. Private keys are stored encrypted with AES-GCM under
a key derived (HKDF) from the instance secret, so the database alone does not reveal them.
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey

from keyhall.directory.sealing import derive_key
from keyhall.storage.oidc_store import KeyRow, OidcStore

# RFC 9864 deprecates "EdDSA" in favour of "Ed25519", but relying parties only know "EdDSA".
warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)

SigningKeyObject = RSAKey | ECKey | OKPKey
ALGORITHMS = ("RS256", "ES256", "EdDSA")
RETIRED_GRACE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    alg: str
    state: str
    key: SigningKeyObject
    public_jwk: dict[str, Any]
    created_at: datetime
    retire_at: datetime | None


def _generate(alg: str) -> SigningKeyObject:
    params: Any = {"use": "sig", "alg": alg}
    if alg == "RS256":
        return RSAKey.generate_key(2048, params, private=True, auto_kid=True)
    if alg == "ES256":
        return ECKey.generate_key("P-256", params, private=True, auto_kid=True)
    if alg == "EdDSA":
        return OKPKey.generate_key("Ed25519", params, private=True, auto_kid=True)
    raise ValueError(f"unsupported signing algorithm {alg}")


def _import(alg: str, pem: bytes, public_jwk: dict[str, Any]) -> SigningKeyObject:
    params: Any = {k: public_jwk[k] for k in ("kid", "use", "alg")}
    cls: type[RSAKey] | type[ECKey] | type[OKPKey] = (
        RSAKey if alg == "RS256" else ECKey if alg == "ES256" else OKPKey
    )
    return cls.import_key(pem, params)


class KeyCipher:
    """AES-256-GCM under HKDF(instance secret); the kid is bound as associated data."""

    def __init__(self, secret_key: bytes) -> None:
        self._aead = AESGCM(derive_key(secret_key, "oidc signing keys"))

    def seal(self, kid: str, plaintext: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext, kid.encode())

    def open(self, kid: str, sealed: bytes) -> bytes:
        return self._aead.decrypt(sealed[:12], sealed[12:], kid.encode())


class KeyRing:
    """The keys this process signs and verifies with, reloaded from the database on demand."""

    def __init__(self, store: OidcStore, secret_key: bytes) -> None:
        self.store = store
        self.cipher = KeyCipher(secret_key)
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = []
        self._loaded_kids: frozenset[tuple[str, str]] = frozenset()

    # -- reading -------------------------------------------------------------------------
    def reload(self) -> None:
        rows = self.store.key_rows()
        kids = frozenset((r.kid, r.state) for r in rows)
        if kids == self._loaded_kids:
            return
        cached = {k.kid: k.key for k in self._keys}
        keys = [
            SigningKey(
                r.kid,
                r.alg,
                r.state,
                cached.get(r.kid)
                or _import(r.alg, self.cipher.open(r.kid, r.private_enc), r.public_jwk),
                r.public_jwk,
                r.created_at,
                r.retire_at,
            )
            for r in rows
        ]
        with self._lock:
            self._keys = keys
            self._loaded_kids = kids

    @property
    def keys(self) -> list[SigningKey]:
        return self._keys

    def signing_key(self, alg: str) -> SigningKey:
        for key in self._keys:
            if key.alg == alg and key.state == "current":
                return key
        raise LookupError(f"no current {alg} signing key")

    def jwks(self, *, rsa_only: bool = False) -> dict[str, Any]:
        return {
            "keys": [
                k.public_jwk for k in self._keys if not rsa_only or k.public_jwk["kty"] == "RSA"
            ]
        }

    def verification_keys(self) -> KeySet:
        return KeySet.import_key_set(self.jwks())  # type: ignore[arg-type]

    # -- writing -------------------------------------------------------------------------
    def _new_row(self, alg: str, state: str, now: datetime) -> KeyRow:
        key = _generate(alg)
        kid = str(key.kid)
        public = {**key.as_dict(private=False), "kid": kid, "use": "sig", "alg": alg}
        sealed = self.cipher.seal(kid, key.as_pem(private=True))
        return KeyRow(kid, alg, state, public, sealed, now, None)

    def ensure(self, now: datetime) -> bool:
        """First start: a current and a next key for each algorithm. True if it created any."""
        for _ in range(3):
            rows = self.store.key_rows()
            have = {(r.alg, r.state) for r in rows}
            new = [
                self._new_row(alg, state, now)
                for alg in ALGORITHMS
                for state in ("current", "next")
                if (alg, state) not in have
            ]
            if not new:
                self.reload()
                return False
            if self.store.replace_keys(new=new, states={}, expected_kids={r.kid for r in rows}):
                self.reload()
                return True
        raise RuntimeError("signing keys kept changing while being created")

    def rotate(self, now: datetime, longest_token_lifetime: timedelta) -> list[KeyRow]:
        """Next becomes current, current retires, a new next is published; stale retired go."""
        rows = self.store.key_rows()
        retire_at = now + longest_token_lifetime + RETIRED_GRACE
        states: dict[str, tuple[str, datetime | None]] = {}
        new: list[KeyRow] = []
        for alg in ALGORITHMS:
            for r in rows:
                if r.alg != alg:
                    continue
                if r.state == "current":
                    states[r.kid] = ("retired", retire_at)
                elif r.state == "next":
                    states[r.kid] = ("current", None)
                elif r.retire_at is not None and r.retire_at < now:
                    states[r.kid] = ("gone", None)
            new.append(self._new_row(alg, "next", now))
        if not self.store.replace_keys(new=new, states=states, expected_kids={r.kid for r in rows}):
            raise RuntimeError("the signing keys changed during rotation; try again")
        return new

    def prune(self, now: datetime) -> None:
        rows = self.store.key_rows()
        gone: dict[str, tuple[str, datetime | None]] = {
            r.kid: ("gone", None)
            for r in rows
            if r.state == "retired" and r.retire_at is not None and r.retire_at < now
        }
        if gone:
            self.store.replace_keys(new=[], states=gone, expected_kids={r.kid for r in rows})
