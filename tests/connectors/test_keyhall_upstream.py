"""Another Keyhall as the external directory: sync over its LDAP front, TOTP passed through.

The upstream is a real `keyhall serve`; the downstream is a second one (scheduled sync, LDAP
bind through its front) and an in-process directory (the `totptoken` RDN form).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from tests.support.server import RunningServer, keyhall_env, run_cli

import ldap
from keyhall.connectors.connector import ExternalDirectory
from keyhall.connectors.ldap_source import LoginOutcome
from keyhall.directory.models import CLI_ACTOR, AuthFailure
from keyhall.directory.service import Directory

ServerFactory = Callable[..., RunningServer]
PASSWORD = "alice-upstream-pass"


def connector_settings(upstream: RunningServer, service: dict[str, str]) -> dict[str, str]:
    return {
        "provider": "keyhall",
        "url": f"ldap://127.0.0.1:{upstream.ldap_port}",
        "bind_dn": service["bind_dn"],
        "bind_password": service["secret"],
        "users_base_dn": "ou=users,dc=keyhall",
        "groups_base_dn": "ou=groups,dc=keyhall",
        "max_deactivate_percent": "100",
        "enabled": "true",
    }


def wait_for_sync(db: Path, timeout: float = 90) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists():
            with sqlite3.connect(db) as conn:
                conn.row_factory = sqlite3.Row
                try:
                    row = conn.execute("SELECT * FROM external_sync_runs").fetchone()
                except sqlite3.OperationalError:
                    row = None
            if row is not None:
                return dict(row)
        time.sleep(0.5)
    raise TimeoutError("no scheduled sync ran")


def test_keyhall_as_external_directory(
    keyhall_server: ServerFactory, local: Directory, tmp_path: Path
) -> None:
    upstream = keyhall_server()
    upstream.cli("user", "add", "root1", "--email", "root1@up.example")
    upstream.cli(
        "user", "add", "alice", "--email", "alice@up.example", "--name", "Alice Up",
        "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    uri = upstream.cli("user", "totp-enroll", "alice").stdout.strip()
    codes = Codes(pyotp.TOTP(parse_qs(urlsplit(uri).query)["secret"][0]))
    service = json.loads(upstream.cli("ldap", "show", "--json").stdout)

    # In-process downstream: the code travels in the bind DN's first RDN.
    ext = ExternalDirectory(local, bytes(32))
    ext.attach()
    ext.set(connector_settings(upstream, service), actor=CLI_ACTOR)
    assert ext.config().passes_2fa_through
    assert ext.test_login("alice", PASSWORD).outcome is LoginOutcome.BAD_PASSWORD
    assert ext.test_login("alice", PASSWORD, codes.next()).ok
    result = local.authenticate("alice", PASSWORD, totp=codes.next())
    assert result.ok
    assert result.user is not None
    assert (result.user.source, result.user.display_name) == ("external", "Alice Up")
    # Seed 000: the upstream enforces 2FA, so no local enrolment is asked for.
    assert ext.skips_local_2fa(result.user)
    assert local.authenticate("alice", PASSWORD).failure is AuthFailure.BAD_PASSWORD
    report = ext.sync(actor=CLI_ACTOR)
    assert report.status == "ok", report.errors
    assert local.user("root1").source == "external"

    # A second Keyhall server syncs on its own schedule and lets alice bind through its
    # LDAP front with the code in Cloudron's `+totptoken=` RDN, which it passes upstream.
    downstream_dir = tmp_path / "downstream"
    env = keyhall_env(downstream_dir)
    run_cli(env, "user", "add", "owner", "--email", "owner@down.example")
    run_cli(
        env, "external", "set",
        *(f"{k}={v}" for k, v in connector_settings(upstream, service).items()),
    )  # fmt: skip
    downstream = RunningServer(env)
    downstream.start()
    try:
        run = wait_for_sync(downstream_dir / "keyhall.db")
        assert (run["status"], run["trigger"], run["created"]) == ("ok", "schedule", 2)
        conn = ldap.initialize(f"ldap://127.0.0.1:{downstream.ldap_port}")
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, 10)
        conn.timeout = 30
        with pytest.raises(ldap.INVALID_CREDENTIALS):
            conn.simple_bind_s("uid=alice,ou=users,dc=keyhall", PASSWORD)
        conn.simple_bind_s(f"uid=alice+totptoken={codes.next()},ou=users,dc=keyhall", PASSWORD)
        assert conn.whoami_s() == "dn:uid=alice,ou=users,dc=keyhall"
        conn.unbind_s()
    finally:
        downstream.stop()


class Codes:
    """Codes for successive time-steps: Keyhall accepts each step once (RFC 6238 §5.2)."""

    def __init__(self, totp: pyotp.TOTP) -> None:
        self.totp = totp
        self.last = -1

    def next(self) -> str:
        while True:
            now = int(time.time() // 30)
            step = max(now, self.last + 1)
            # One step of drift is accepted; beyond that, wait for the clock.
            if step <= now + 1:
                self.last = step
                return str(self.totp.at(step * 30))
            time.sleep(1)
