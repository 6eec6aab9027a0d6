"""OpenID Connect RP-Initiated Logout 1.0 §2-§3: the end-session endpoint.

Accepts `id_token_hint`, `client_id` alone (Nextcloud sends no hint), or neither (then the user
confirms). `post_logout_redirect_uri` must be registered for the client the request names, and
`state` is echoed. A request without cookies is tolerated: a hint names the session to end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keyhall.oidc.clients import Client
from keyhall.oidc.id_token import read_hint
from keyhall.oidc.provider import Provider
from keyhall.storage.oidc_store import SessionRow


class LogoutError(Exception):
    """A logout request we must not act on; shown to the user, never redirected."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class LogoutRequest:
    client: Client | None
    sid: str | None
    """The session to end, if any."""
    username: str | None
    redirect_to: str | None
    """post_logout_redirect_uri with `state`, if one was asked for and is registered."""
    state: str | None
    needs_confirmation: bool


def _audiences(claims: Mapping[str, Any]) -> list[str]:
    aud = claims.get("aud")
    return [aud] if isinstance(aud, str) else [a for a in aud or [] if isinstance(a, str)]


def validate(
    provider: Provider, params: Mapping[str, str], session: SessionRow | None
) -> LogoutRequest:
    hint_claims: dict[str, Any] | None = None
    if hint := params.get("id_token_hint"):
        hint_claims = read_hint(provider.keys, hint, provider.issuer)
        if hint_claims is None:
            raise LogoutError("The id_token_hint is not an ID token issued here.")
    client_id = params.get("client_id")
    if hint_claims is not None:
        audiences = _audiences(hint_claims)
        if client_id and client_id not in audiences:
            raise LogoutError("The client_id does not match the id_token_hint.")
        client_id = client_id or (audiences[0] if audiences else None)
    client = provider.client(client_id) if client_id else None
    if client_id and client is None:
        raise LogoutError("Unknown client.")
    redirect_to = params.get("post_logout_redirect_uri")
    if redirect_to is not None:
        if client is None:
            raise LogoutError("A post_logout_redirect_uri needs an id_token_hint or client_id.")
        if redirect_to not in client.post_logout_redirect_uris:
            raise LogoutError("The post_logout_redirect_uri is not registered for this client.")

    sid, username = _target(provider, session, hint_claims)
    return LogoutRequest(
        client=client,
        sid=sid,
        username=username,
        redirect_to=redirect_to,
        state=params.get("state"),
        # §6: without a hint or a client, a third party could log the user out; ask first.
        needs_confirmation=sid is not None and hint_claims is None and client is None,
    )


def _target(
    provider: Provider, session: SessionRow | None, hint: Mapping[str, Any] | None
) -> tuple[str | None, str | None]:
    if session is not None:
        user = provider.directory.view.users.get(session.user_id)
        username = user.username if user else None
        # A hint for someone else must not end this browser's session.
        if hint is None or hint.get("sub") == username:
            return session.sid, username
        return None, None
    if hint is not None and isinstance(hint.get("sid"), str):
        found = provider.store.session(sid=hint["sid"])
        if found is not None:
            return found.sid, str(hint.get("sub"))
    return None, None
