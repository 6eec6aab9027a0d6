"""Brute-force protection at sign-in: a growing delay per account (and per address), an audit
event, and the owner is never locked out from a browser they signed in from before."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import sqlalchemy as sa
from tests.support.accounts import PASSWORD, add_user
from tests.support.server import RunningServer

ServerFactory = Callable[..., RunningServer]


class Visitor:
    """A browser without a browser: keeps cookies, fills the sign-in form."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url)

    def sign_in(self, username: str, password: str) -> httpx.Response:
        page = self.http.get("/login", follow_redirects=True)
        fields = dict(re.findall(r'name="(flow|csrf_token)" value="([^"]+)"', page.text))
        return self.http.post("/login", data={**fields, "username": username, "password": password})

    def close(self) -> None:
        self.http.close()


def audit(server: RunningServer, action: str) -> list[tuple[str, str]]:
    engine = sa.create_engine(f"sqlite:///{server.data_dir / 'keyhall.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT target, outcome FROM audit_events WHERE action = :a"), {"a": action}
            )
            return [(r[0], r[1]) for r in rows]
    finally:
        engine.dispose()


def test_guessing_slows_down_but_the_owner_still_gets_in(keyhall_server: ServerFactory) -> None:
    server = keyhall_server()
    add_user(server, "alice")  # the owner
    usual = Visitor(server)
    assert usual.sign_in("alice", PASSWORD).status_code == 303  # a browser alice uses
    attacker = Visitor(server)
    for _ in range(5):
        assert attacker.sign_in("alice", "guess").status_code == 401
    refused = attacker.sign_in("alice", PASSWORD)  # even the right password waits now
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "Too many failed sign-ins" in refused.text
    assert ("alice", "started") in audit(server, "auth.throttle")
    assert ("alice", "refused") in audit(server, "auth.throttled")
    # alice's own browser is not held back by the guesses at her account.
    usual.http.cookies.delete("keyhall_session")
    assert usual.sign_in("alice", PASSWORD).status_code == 303
    # Unknown accounts are throttled alike (nothing tells them apart).
    for _ in range(5):
        attacker.sign_in("nobody", "guess")
    assert attacker.sign_in("nobody", "guess").status_code == 429
    usual.close()
    attacker.close()
