"""The LDAP benchmark's harness: its client framing, and a small run against a real slapd."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from bench.ldap import main

from bench import ldap_wire as wire


def test_search_request_matches_ldapsearch_bytes() -> None:
    # Captured from `ldapsearch -x -H ldap://127.0.0.1:PORT -b dc=keyhall '(uid=a)' cn`
    # by a socket listener (message 2: ldapsearch binds anonymously first).
    captured = bytes.fromhex(
        "3030020102632b040a64633d6b657968616c6c0a01020a0100020100020100010100"
        "a308040375696404016130040402636e"
    )
    encoded = wire.message(
        2, wire.search_op("dc=keyhall", wire.SCOPE_SUB, wire.equal("uid", "a"), ("cn",))
    )
    assert encoded == captured


def test_bind_request_matches_ldapsearch_bytes() -> None:
    # Captured the same way: ldapsearch's anonymous bind (empty DN, empty simple password).
    assert wire.message(1, wire.bind_op("", "")) == bytes.fromhex("300c020101600702010304008000")


def test_responses_are_framed_across_reads() -> None:
    entry = wire.message(7, wire.tlv(wire.SEARCH_RESULT_ENTRY, wire.octets("uid=a,ou=users")))
    done = wire.message(7, wire.tlv(wire.SEARCH_RESULT_DONE, wire.integer(0, 0x0A)))
    stream = bytearray(entry + done)
    seen: list[wire.Response] = []
    buf = bytearray()
    for byte in stream:  # one byte at a time: the worst a socket can do
        buf.append(byte)
        responses, used = wire.read_responses(buf)
        del buf[:used]
        seen += responses
    assert [(r.message_id, r.op, r.result_code, r.dn) for r in seen] == [
        (7, wire.SEARCH_RESULT_ENTRY, -1, b"uid=a,ou=users"),
        (7, wire.SEARCH_RESULT_DONE, 0, b""),
    ]
    assert not buf


def test_long_form_lengths_round_trip() -> None:
    dn = "uid=" + "x" * 300
    responses, used = wire.read_responses(
        bytearray(wire.message(70000, wire.tlv(wire.SEARCH_RESULT_ENTRY, wire.octets(dn))))
    )
    assert used > 300
    assert responses[0].message_id == 70000
    assert responses[0].dn == dn.encode()


@pytest.mark.slapd
def test_small_run_against_slapd_checks_every_answer(tmp_path: Path) -> None:
    if shutil.which("/usr/sbin/slapd") is None:
        pytest.skip("OpenLDAP slapd is not installed (scripts/system-deps.sh installs it)")
    out = tmp_path / "ldap.json"
    argv = ["--servers", "slapd", "--users", "300", "--groups", "10", "--json", str(out)]
    argv += ["--searches", "400", "--binds", "100", "--logins", "40"]
    assert main(argv) == 0
    result = json.loads(out.read_text())["servers"]["slapd"]
    assert set(result["scenarios"]) == {"search", "search1", "groups", "bind", "login"}
    for name, scenario in result["scenarios"].items():
        assert scenario["errors"] == 0, name
        assert scenario["ops_per_s"] > 0, name
    assert result["rss_mb"] > 0
