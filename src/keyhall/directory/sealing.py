"""Secrets at rest: AES-256-GCM (NIST SP 800-38D) under keys derived from the instance secret.

Each purpose ("totp", "ldap-service") gets its own key through HKDF-SHA256 (RFC 5869), so a
value sealed for one purpose can't be opened as another. Sealed values are URL-safe base64 of
nonce || ciphertext || tag, with the purpose as associated data.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12


class SealError(Exception):
    """A sealed value was tampered with or sealed under another instance secret."""


def derive_key(secret_key: bytes, purpose: str, length: int = 32) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=None, info=f"keyhall {purpose}".encode()
    ).derive(secret_key)


class Sealer:
    def __init__(self, secret_key: bytes, purpose: str) -> None:
        self._aead = AESGCM(derive_key(secret_key, f"seal {purpose}"))
        self._aad = purpose.encode()

    def seal(self, plaintext: bytes) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, plaintext, self._aad)
        return base64.urlsafe_b64encode(sealed).decode()

    def open(self, sealed: str) -> bytes:
        try:
            raw = base64.urlsafe_b64decode(sealed.encode())
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], self._aad)
        except (InvalidTag, ValueError) as exc:
            raise SealError("sealed value cannot be opened with this instance secret") from exc
