"""The provider: the OIDC parts wired over one instance — store, keys, Authlib server, clock.

Every method here is synchronous and may touch the database or sign: the web layer calls them
through a thread pool, or on the event loop for the hot endpoints on SQLite
(`keyhall.web.oidc.hot`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, overload

from keyhall.directory.models import User
from keyhall.logs import get_logger
from keyhall.oidc import access_token, id_token
from keyhall.oidc.access_token import SealedTokens
from keyhall.oidc.claims import EXTRA_CLAIMS, user_claims
from keyhall.oidc.clients import Client
from keyhall.oidc.codes import CodeSeal
from keyhall.oidc.grant import Grant, StoredToken, digest, new_secret
from keyhall.oidc.keys import KeyRing
from keyhall.oidc.pkce import S256CodeChallenge
from keyhall.oidc.server import Server
from keyhall.oidc.token import AuthorizationCodeGrant, RefreshTokenGrant
from keyhall.runtime import Instance
from keyhall.storage.oidc_store import CodeRow, OidcStore, TokenRow, client_writes

CODE_LIFETIME = timedelta(seconds=60)
KEY_RELOAD_SECONDS = 10.0
log = get_logger("keyhall.oidc")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Provider:
    def __init__(self, inst: Instance, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.inst = inst
        self.directory = inst.directory
        self.issuer = inst.config.issuer
        self.store = OidcStore(inst.store)
        self.keys = KeyRing(self.store, inst.secret_key)
        self.codes = CodeSeal(inst.secret_key)
        self.sealed_tokens = SealedTokens(inst.secret_key)
        self.now = clock
        self._clients: tuple[tuple[int, int], dict[str, Client]] | None = None
        self.server = Server(self)
        self.wake = asyncio.Event()
        self.server.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
        self.server.register_grant(RefreshTokenGrant)
        from keyhall.oidc.introspection import IntrospectionEndpoint
        from keyhall.oidc.revocation import RevocationEndpoint

        self.server.register_endpoint(RevocationEndpoint)
        self.server.register_endpoint(IntrospectionEndpoint)

    def start(self) -> None:
        """Load (on first start: create) the signing keys."""
        self.keys.ensure(self.now())

    # -- lookups -------------------------------------------------------------------------
    def clients(self) -> dict[str, Client]:
        """Every client, read once per directory version: each request needs its client, and
        client changes bump that version (`OidcStore.put_client`), which every node polls;
        changes made in this process are seen at once."""
        version = (self.directory.view.version, client_writes())
        cached = self._clients
        if cached is None or cached[0] != version:
            cached = (version, {c.id: c for c in self.store.clients()})
            self._clients = cached
        return cached[1]

    def client(self, client_id: str | None) -> Client | None:
        if not client_id:
            return None
        found = self.clients().get(client_id)
        if found is None and (found := self.store.client(client_id)) is not None:
            self._clients = None  # registered since the last view refresh: reload them all
        return found

    def active_user(self, user_id: str) -> User | None:
        user = self.directory.view.users.get(user_id)
        if user is None and self.directory.refresh():
            user = self.directory.view.users.get(user_id)
        return user if user is not None and user.can_log_in else None

    def token(self, value: str) -> StoredToken | None:
        """A token this instance issued, as it stands now: an opaque access token opened, with
        what may have revoked it early; a stored one (refresh, JWT access) read."""
        now = self.now()
        row = self.sealed_tokens.open(value)
        if row is None:
            stored = self.store.token(digest(value))
            return None if stored is None else StoredToken(stored, now)
        if row.expires_at > now:
            found = self.store.revocations(row.token_hash, row.grant_id, row.sid, row.user_id)
            if access_token.revoked(row, found):
                row = replace(row, revoked=True)
        return StoredToken(row, now)

    def user_claims(
        self, user: User, client: Client, scope: str, requested: Any = ()
    ) -> dict[str, Any]:
        return user_claims(user, self.directory.view, client, scope, requested)

    def extra_claims(self, user: User, client: Client) -> dict[str, Any]:
        view = self.directory.view
        return {n: EXTRA_CLAIMS[n](user, view, client) for n in client.settings.extra_claims}

    def allowed(self, user: User, client: Client) -> bool:
        """A client limited to some groups admits only their members (built-in groups count)."""
        wanted = set(client.settings.allowed_groups)
        if not wanted:
            return True
        from keyhall.oidc.claims import group_names

        return bool(wanted & set(group_names(user, self.directory.view)))

    # -- issuance ------------------------------------------------------------------------
    @overload
    def issue_tokens(
        self, grant: Grant, client: Client, user: User, *, refresh: bool | None = None
    ) -> dict[str, Any]: ...

    @overload
    def issue_tokens(
        self, grant: Grant, client: Client, user: User, *, redeeming: tuple[str, CodeRow]
    ) -> dict[str, Any] | None: ...

    @overload
    def issue_tokens(
        self, grant: Grant, client: Client, user: User, *, refresh: bool, rotating: str
    ) -> dict[str, Any] | None: ...

    def issue_tokens(
        self,
        grant: Grant,
        client: Client,
        user: User,
        *,
        refresh: bool | None = None,
        redeeming: tuple[str, CodeRow] | None = None,
        rotating: str | None = None,
    ) -> dict[str, Any] | None:
        """RFC 6749 §5.1 and OIDC Core §3.1.3.3: access token, maybe refresh and ID tokens.

        With `redeeming` (a code's digest and grant) the code is stored as used in the same
        commit, with `rotating` (a refresh token's digest) that token is marked rotated; None
        means another request used it first."""
        now = self.now()
        s = client.settings
        scopes = grant.scopes
        access = self._row("", "access", grant, now, s.access_token_lifetime)
        rows = []
        if s.access_token_format == "jwt":  # noqa: S105 - a format name
            at = access_token.mint_jwt(
                self.keys,
                alg=s.signing_alg,
                issuer=self.issuer,
                grant=grant,
                username=user.username,
                now=now,
                lifetime=s.access_token_lifetime,
                extra_claims=self.extra_claims(user, client),
            )
            rows.append(replace(access, token_hash=digest(at)))
        else:
            at = self.sealed_tokens.seal(access)
        body: dict[str, Any] = {
            "access_token": at,
            "token_type": "Bearer",
            "expires_in": s.access_token_lifetime,
            "scope": grant.scope,
        }
        # Refresh tokens for offline access (no prompt=consent needed) and confidential clients.
        if refresh is None:
            refresh = "offline_access" in scopes or not client.public
        if refresh:
            rt = new_secret()
            rows.append(self._row(digest(rt), "refresh", grant, now, s.refresh_token_lifetime))
            body["refresh_token"] = rt
        # Stored before the ID token is signed: a write that has to be run again (the
        # database busy, a code redeemed meanwhile) then costs no signature. A confidential
        # client's refresh with an opaque access token stores nothing.
        if (rows or redeeming or rotating) and not self.store.insert_tokens(
            rows, redeeming=redeeming, rotating=rotating
        ):
            return None
        if "openid" in scopes:
            body["id_token"] = id_token.mint(
                self.keys,
                alg=s.signing_alg,
                issuer=self.issuer,
                client_id=client.id,
                now=now,
                lifetime=s.id_token_lifetime,
                auth_time=grant.auth_time,
                sid=grant.sid,
                amr=grant.amr,
                nonce=grant.nonce,
                access_token=at,
                user_claims=self.user_claims(user, client, grant.scope, grant.claims.id_token),
            )
        return body

    def _row(
        self, token_hash: str, kind: str, grant: Grant, now: datetime, lifetime: int
    ) -> TokenRow:
        return TokenRow(
            token_hash=token_hash,
            kind=kind,
            grant_id=grant.grant_id,
            client_id=grant.client_id,
            user_id=grant.user_id,
            sid=grant.sid,
            scope=grant.scope,
            details=grant.details(),
            issued_at=now,
            expires_at=now + timedelta(seconds=lifetime),
            revoked=False,
            rotated=False,
        )

    def longest_token_lifetime(self) -> timedelta:
        lifetimes = [
            max(c.settings.id_token_lifetime, c.settings.access_token_lifetime)
            for c in self.store.clients()
        ]
        return timedelta(seconds=max(lifetimes, default=3600))

    # -- background work (every node) ----------------------------------------------------
    async def run_background(self, stop: asyncio.Event) -> None:
        """Deliver back-channel logouts; pick up rotated keys; drop expired state."""
        from keyhall.oidc import backchannel

        delivery = asyncio.create_task(backchannel.run(self.store, self.wake, stop))
        ticks = 0
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), KEY_RELOAD_SECONDS)
            ticks += 1
            try:
                await asyncio.to_thread(self.keys.reload)
                if ticks % 6 == 0:
                    now = self.now()
                    await asyncio.to_thread(self.store.delete_expired, now)
                    before = now - self.longest_token_lifetime()
                    await asyncio.to_thread(self.store.prune_revocations, before)
                    await asyncio.to_thread(self.keys.prune, now)
            except Exception as exc:
                log.warning("oidc housekeeping failed", error=str(exc))
        await delivery
