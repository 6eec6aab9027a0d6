"""Helpers for LDAP integration tests: python-ldap connections and direct directory writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.server import RunningServer

import ldap
from keyhall.config import Config
from keyhall.runtime import Instance, open_instance

BASE = "dc=keyhall"
USERS = f"ou=users,{BASE}"
GROUPS = f"ou=groups,{BASE}"
SERVICE_DN = f"cn=admin,ou=system,{BASE}"


def connect(port: int, scheme: str = "ldap") -> Any:
    conn = ldap.initialize(f"{scheme}://127.0.0.1:{port}")
    conn.protocol_version = 3
    conn.set_option(ldap.OPT_REFERRALS, 0)
    conn.set_option(ldap.OPT_NETWORK_TIMEOUT, 10)
    conn.set_option(ldap.OPT_TIMEOUT, 30)
    # The self-signed certificate generated at first start.
    conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_NEVER)
    conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
    return conn


def service_secret(server: RunningServer) -> str:
    return str(json.loads(server.cli("ldap", "show", "--json").stdout)["secret"])


def service(server: RunningServer) -> Any:
    conn = connect(server.ldap_port)
    conn.simple_bind_s(SERVICE_DN, service_secret(server))
    return conn


@contextmanager
def same_instance(server: RunningServer) -> Iterator[Instance]:
    """The server's own database and secret, opened in the test process for fast set-up."""
    config = Config(
        data_dir=server.data_dir, database_url=server.env.get("KEYHALL_DATABASE_URL", "")
    )
    inst = open_instance(config)
    try:
        yield inst
    finally:
        inst.close()


def values(entry: dict[str, list[bytes]], name: str) -> list[str]:
    return [v.decode() for v in entry.get(name, [])]


def bulk_users(inst: Instance, count: int, prefix: str = "bulk") -> None:
    """Insert `count` password-less users in one transaction (the use case costs a commit each)."""
    import uuid
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    with inst.store.write() as w:
        for n in range(count):
            name = f"{prefix}{n:04d}"
            w.insert_user(
                {
                    "id": str(uuid.uuid4()),
                    "username": name,
                    "email": f"{name}@example.com",
                    "email_key": f"{name}@example.com",
                    "display_name": name,
                    "given_name": name,
                    "family_name": "",
                    "role": "user",
                    "active": True,
                    "source": "local",
                    "external_id": None,
                    "external_missing": False,
                    "password_hash": None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
