"""W3C Web Authentication Level 3: passkeys and security keys, as a second factor or alone.

Ceremonies (§7.1 registration, §7.2 authentication) are verified by py_webauthn; this module
keeps the relying party's side: single-use challenges in the database (any node may verify),
the credential's public key and signature counter, and which user a credential belongs to.
The RP ID is the host of the public URL, so passkeys work on that host and its origin only.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from keyhall.directory.models import User
from keyhall.errors import InvalidInput
from keyhall.storage.account_store import AccountStore, PasskeyRow

CHALLENGE_LIFETIME = timedelta(minutes=5)
NAME_MAX = 64
REGISTER = "register"
LOGIN = "login"


class PasskeyError(InvalidInput):
    """A ceremony failed; the message is generic on purpose (§13: don't help an attacker)."""

    def __init__(self) -> None:
        super().__init__("the passkey could not be verified", field="credential")


@dataclass(frozen=True, slots=True)
class RelyingParty:
    id: str
    name: str
    origin: str

    @classmethod
    def from_public_url(cls, public_url: str, name: str) -> RelyingParty:
        parts = urlsplit(public_url)
        return cls(parts.hostname or "localhost", name, f"{parts.scheme}://{parts.netloc}")


@dataclass(frozen=True, slots=True)
class Verified:
    passkey: PasskeyRow
    user_verified: bool

    @property
    def amr(self) -> str:
        """RFC 8176: `hwk` for a key bound to one device, `swk` for a synced passkey."""
        return "hwk" if self.passkey.device_type == "single_device" else "swk"


def user_handle(user: User) -> bytes:
    """§5.4.3: an opaque handle, never the username or email: the user's UUID bytes."""
    return uuid.UUID(user.id).bytes


class Passkeys:
    def __init__(
        self, store: AccountStore, rp: Callable[[], RelyingParty], clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.rp = rp
        self.clock = clock

    # -- §7.1 registration ---------------------------------------------------------------
    def registration_options(self, user: User) -> dict[str, Any]:
        rp = self.rp()
        options = generate_registration_options(
            rp_id=rp.id,
            rp_name=rp.name,
            user_name=user.username,
            user_id=user_handle(user),
            user_display_name=user.display_name or user.username,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.id))
                for p in self.store.passkeys(user.id)
            ],
        )
        return self._with_challenge(REGISTER, user.id, options.challenge, options_to_json(options))

    def register(self, user: User, challenge_id: str, credential: str, name: str) -> PasskeyRow:
        name = name.strip() or "Passkey"
        if len(name) > NAME_MAX or not name.isprintable():
            raise InvalidInput(f"passkey name must be 1-{NAME_MAX} printable characters")
        challenge = self._take(challenge_id, REGISTER, user.id)
        rp = self.rp()
        try:
            verified = verify_registration_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
            )
            transports = json.loads(credential).get("response", {}).get("transports", [])
        except (WebAuthnException, ValueError, KeyError, AttributeError):
            raise PasskeyError() from None
        row = PasskeyRow(
            id=bytes_to_base64url(verified.credential_id),
            user_id=user.id,
            name=name,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=[str(t) for t in transports][:8],
            device_type=str(verified.credential_device_type.value),
            created_at=self.clock(),
            last_used_at=None,
        )
        if self.store.passkey(row.id) is not None:
            raise PasskeyError()
        self.store.add_passkey(row)
        return row

    # -- §7.2 authentication -------------------------------------------------------------
    def authentication_options(self, user: User | None) -> dict[str, Any]:
        """For `user`: a second factor among their keys; for None: passwordless, any passkey."""
        allowed = (
            [
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.id))
                for p in self.store.passkeys(user.id)
            ]
            if user is not None
            else []
        )
        options = generate_authentication_options(
            rp_id=self.rp().id,
            allow_credentials=allowed,
            user_verification=(
                UserVerificationRequirement.PREFERRED
                if user is not None
                else UserVerificationRequirement.REQUIRED
            ),
        )
        owner = user.id if user is not None else None
        return self._with_challenge(LOGIN, owner, options.challenge, options_to_json(options))

    def authenticate(self, challenge_id: str, credential: str, user: User | None) -> Verified:
        """Check an assertion; with `user` None (passwordless) user verification is required."""
        challenge = self._take(challenge_id, LOGIN, user.id if user is not None else None)
        try:
            raw_id = str(json.loads(credential)["id"])
        except (ValueError, KeyError, TypeError):
            raise PasskeyError() from None
        row = self.store.passkey(raw_id)
        if row is None or (user is not None and row.user_id != user.id):
            raise PasskeyError()
        rp = self.rp()
        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
                credential_public_key=row.public_key,
                credential_current_sign_count=row.sign_count,
                require_user_verification=user is None,
            )
        except (WebAuthnException, ValueError, KeyError, AttributeError):
            raise PasskeyError() from None
        # §6.1.1: a counter that did not move forward may mean a cloned authenticator.
        if not self.store.passkey_used(
            row.id, row.sign_count, verified.new_sign_count, self.clock()
        ):
            raise PasskeyError()
        return Verified(row, bool(verified.user_verified))

    # -- helpers -------------------------------------------------------------------------
    def _with_challenge(
        self, purpose: str, user_id: str | None, challenge: bytes, options_json: str
    ) -> dict[str, Any]:
        ident = secrets.token_urlsafe(24)
        self.store.put_challenge(
            ident,
            purpose,
            user_id,
            bytes_to_base64url(challenge),
            self.clock() + CHALLENGE_LIFETIME,
        )
        return {"challenge_id": ident, "publicKey": json.loads(options_json)}

    def _take(self, challenge_id: str, purpose: str, user_id: str | None) -> bytes:
        taken = self.store.take_challenge(challenge_id, purpose, self.clock())
        if taken is None or taken[0] != user_id:
            raise PasskeyError()
        return base64url_to_bytes(taken[1])
