"""`keyhall external ...` as a process, against slapd; settings sealed at rest and audited."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.connectors.conftest import BASE
from tests.support.server import keyhall_env, run_cli
from tests.support.slapd_ext import SlapdExt


def test_cli_end_to_end(tmp_path: Path, upstream: SlapdExt) -> None:
    env = keyhall_env(tmp_path / "data")
    run_cli(env, "user", "add", "owner", "--email", "owner@example.net")
    run_cli(
        env,
        "external",
        "set",
        f"url={upstream.ldaps_url}",
        f"ca_cert_file={upstream.tls.cert}",
        f"bind_dn={upstream.bind_dn}",
        "bind_password=-",
        f"users_base_dn=ou=users,{BASE}",
        f"groups_base_dn=ou=groups,{BASE}",
        "enabled=true",
        input=upstream.password + "\n",
    )
    shown = json.loads(run_cli(env, "external", "show", "--json").stdout)
    assert shown["settings"]["bind_password"] == "(set)"
    assert shown["settings"]["sync_interval"] == 4 * 3600
    assert shown["settings"]["username_attribute"] == "uid"  # from the generic preset
    assert shown["last_sync"] is None

    # The secret is sealed at rest, and no audit event holds it.
    with sqlite3.connect(tmp_path / "data" / "keyhall.db") as db:
        dump = "\n".join(db.iterdump())
    assert upstream.password not in dump
    audit = json.loads(
        "[" + ",".join(r for r in _audit_details(tmp_path / "data" / "keyhall.db")) + "]"
    )
    assert {"value": "(set)"} in audit

    ok = run_cli(env, "external", "test", "alice", "--password-stdin", input="alice-secret-1\n")
    assert ok.stdout.startswith("ok")
    assert f"uid=alice,ou=users,{BASE}" in ok.stdout
    bad = run_cli(env, "external", "test", "alice", "--password-stdin", input="nope\n", check=False)
    assert bad.returncode == 1 and bad.stdout.startswith("bad_password")

    dry = json.loads(run_cli(env, "external", "sync", "--dry-run", "--json").stdout)
    assert (dry["dry_run"], dry["created"]) == (True, 3)

    done = run_cli(env, "external", "sync").stdout
    assert done.startswith("ok: 3 created")
    alice = json.loads(run_cli(env, "user", "show", "alice", "--json").stdout)
    assert alice["source"] == "external" and alice["groups"] == ["staff"]

    bad_set = run_cli(env, "external", "set", "url=http://nope", check=False)
    assert bad_set.returncode == 1
    assert bad_set.stderr.strip() == "keyhall: error: url must start with ldap:// or ldaps://"

    gone = json.loads(run_cli(env, "external", "disable", "--json").stdout)
    assert gone == {"users": 3, "groups": 2}
    alice = json.loads(run_cli(env, "user", "show", "alice", "--json").stdout)
    assert alice["source"] == "local"


def _audit_details(db_path: Path) -> list[str]:
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT details FROM audit_events WHERE action = 'external.settings'"
        ).fetchall()
    return [r[0] for r in rows]
