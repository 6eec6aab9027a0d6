"""RFC 6749 §4.1.2: authorization codes that carry their grant, sealed.

A code is the grant it stands for, encrypted and authenticated (AES-256-GCM) with a key derived
from the instance secret: issuing one writes nothing, and any node sharing the secret redeems
it. What makes a code single-use is its digest, stored when it is redeemed, in the commit that
stores the tokens it buys (`OidcStore.insert_tokens`); a second redemption finds the digest
there, and the replay revokes what the first one issued. Digests are kept until the code would
have expired.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from keyhall.storage.oidc_store import CodeRow

_NONCE = 12
_PURPOSE = b"keyhall authorization code v1"


class CodeSeal:
    def __init__(self, secret_key: bytes) -> None:
        key = HKDF(hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(secret_key)
        self._aead = AESGCM(key)

    def seal(self, code: CodeRow) -> str:
        payload = json.dumps(
            [
                code.grant_id,
                code.client_id,
                code.user_id,
                code.sid,
                code.redirect_uri,
                code.scope,
                code.details,
                int(code.expires_at.timestamp()),
            ],
            separators=(",", ":"),
        ).encode()
        nonce = os.urandom(_NONCE)
        sealed = nonce + self._aead.encrypt(nonce, payload, _PURPOSE)
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")

    def open(self, code: str) -> CodeRow | None:
        """The grant a code carries, or None if this instance did not issue it as it is."""
        try:
            raw = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))
            payload = self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], _PURPOSE)
        except (ValueError, binascii.Error, InvalidTag):
            return None
        grant_id, client_id, user_id, sid, redirect_uri, scope, details, expires = json.loads(
            payload
        )
        return CodeRow(
            grant_id,
            client_id,
            user_id,
            sid,
            redirect_uri,
            scope,
            details,
            False,
            datetime.fromtimestamp(expires, UTC),
        )
