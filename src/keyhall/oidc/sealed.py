"""Values only this instance can read back: encrypted and authenticated (AES-256-GCM).

Authorization codes and opaque access tokens are sealed rather than stored: issuing one writes
nothing, any node sharing the instance secret opens it, and a changed or foreign value opens to
nothing. Each use gets its own key, derived from the instance secret with HKDF (RFC 5869), so a
value sealed for one use never opens as another.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE = 12


class Sealer:
    def __init__(self, secret_key: bytes, purpose: bytes) -> None:
        key = HKDF(hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret_key)
        self._aead = AESGCM(key)
        self._purpose = purpose

    def seal(self, fields: list[Any]) -> str:
        """The fields, JSON-encoded and sealed, as unpadded base64url (RFC 4648 §5)."""
        payload = json.dumps(fields, separators=(",", ":")).encode()
        nonce = os.urandom(_NONCE)
        sealed = nonce + self._aead.encrypt(nonce, payload, self._purpose)
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")

    def open(self, value: str, count: int) -> list[Any] | None:
        """The `count` fields sealed in `value`, or None if this sealer did not seal it."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            payload = self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], self._purpose)
        except (ValueError, binascii.Error, InvalidTag):
            return None
        fields = json.loads(payload)
        return fields if isinstance(fields, list) and len(fields) == count else None
