"""OpenID Connect Back-Channel Logout 1.0: logout tokens (§2.4) and their delivery (§2.5).

Tokens are queued in the database when a session ends and sent by every node's delivery loop,
retried with backoff, so ending a session never waits on a relying party.
"""

from __future__ import annotations

import asyncio
import secrets
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta

from keyhall.logs import get_logger
from keyhall.oidc.clients import Client
from keyhall.oidc.id_token import sign
from keyhall.oidc.keys import KeyRing
from keyhall.storage.oidc_store import OidcStore, OutboxRow

log = get_logger("keyhall.oidc.backchannel")
EVENT = "http://schemas.openid.net/event/backchannel-logout"
TOKEN_LIFETIME = 120
MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=30)
TIMEOUT = 5.0


def logout_token(
    keys: KeyRing, *, issuer: str, client: Client, sub: str, sid: str | None, now: datetime
) -> str:
    """§2.4: iss, aud, iat, exp, jti, events, sub and sid — and never a nonce."""
    iat = int(now.timestamp())
    claims = {
        "iss": issuer,
        "aud": client.id,
        "iat": iat,
        "exp": iat + TOKEN_LIFETIME,
        "jti": secrets.token_urlsafe(16),
        "events": {EVENT: {}},
        "sub": sub,
    }
    if sid is not None:
        claims["sid"] = sid
    return sign(keys, client.settings.signing_alg, claims, typ="logout+jwt")


def deliver(item: OutboxRow) -> bool:
    """§2.5: POST the token form-encoded; any 2xx is success. Runs in a worker thread."""
    body = urllib.parse.urlencode({"logout_token": item.logout_token}).encode()
    request = urllib.request.Request(  # noqa: S310 - the admin registered an http(s) URL
        item.uri,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log.info("back-channel logout not delivered", client=item.client_id, error=str(exc))
        return False


def deliver_due(store: OidcStore, now: datetime) -> int:
    """Send what is due; reschedule failures with exponential backoff. Returns how many sent."""
    sent = 0
    for item in store.claim_logouts(now, now + LEASE, limit=50):
        if deliver(item):
            sent += 1
            store.finish_logout(item.id, retry_at=None, attempts=item.attempts + 1)
            continue
        attempts = item.attempts + 1
        retry_at = None if attempts >= MAX_ATTEMPTS else now + timedelta(seconds=2**attempts)
        store.finish_logout(item.id, retry_at=retry_at, attempts=attempts)
    return sent


async def run(store: OidcStore, wake: asyncio.Event, stop: asyncio.Event) -> None:
    """Deliver queued logout tokens whenever woken, and at least once a second."""
    from keyhall.oidc.provider import utcnow

    while not stop.is_set():
        try:
            await asyncio.to_thread(deliver_due, store, utcnow())
        except Exception as exc:
            log.warning("back-channel delivery failed", error=str(exc))
        wake.clear()
        waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
        await asyncio.wait(waiters, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
