"""The listener's defences, against a real `keyhall serve`: allowlist, bad PDUs, throttling."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.ldap_clients import SERVICE_DN, USERS, connect, service, service_secret
from tests.support.server import RunningServer, keyhall_env

import ldap
from keyhall.ldap.messages import decode_message
from keyhall.ldap.operations import ExtendedResponse
from keyhall.ldap.result_codes import ResultCode

NOTICE_OF_DISCONNECTION = "1.3.6.1.4.1.1466.20036"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir: Path = tmp_path_factory.mktemp("ldap-limits") / "data"
    running = RunningServer(keyhall_env(data_dir))
    running.start()
    yield running
    running.stop()


def raw_exchange(port: int, payload: bytes) -> bytes:
    """Send bytes on a fresh connection; return everything received until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"\x31\x03\x02\x01\x01", id="not-a-sequence"),
        pytest.param(b"\x30\x05\x02\x01\x01\x7f\x00", id="unknown-operation"),
        pytest.param(b"\x30\x84\x7f\xff\xff\xff\x02\x01\x01", id="oversized"),
        pytest.param(b"\x30" + bytes([0x80 | 5]) + b"\x00" * 5, id="bad-length"),
    ],
)
def test_bad_pdu_closes_only_that_connection(server: RunningServer, payload: bytes) -> None:
    other = service(server)
    received = raw_exchange(server.ldap_port, payload)
    message, used = decode_message(received, max_size=1 << 20, max_depth=8)
    assert message is not None and used == len(received)
    assert message.message_id == 0
    assert isinstance(message.op, ExtendedResponse)
    assert message.op.response_name == NOTICE_OF_DISCONNECTION
    assert message.op.result_code is ResultCode.PROTOCOL_ERROR
    # The other client, connected all along, is still served.
    assert other.whoami_s() == f"dn:{SERVICE_DN}"
    assert other.search_s(USERS, ldap.SCOPE_ONELEVEL, "(uid=*)") == []


def test_allowlist_is_checked_at_accept(server: RunningServer) -> None:
    secret = service_secret(server)
    server.cli("ldap", "deny", "127.0.0.0/8")
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                connect(server.ldap_port).simple_bind_s(SERVICE_DN, secret)
            except ldap.SERVER_DOWN:
                break
            assert time.monotonic() < deadline, "loopback still accepted after deny"
            time.sleep(0.1)
    finally:
        server.cli("ldap", "allow", "127.0.0.1")
    deadline = time.monotonic() + 5
    while True:
        try:
            connect(server.ldap_port).simple_bind_s(SERVICE_DN, secret)
            break
        except ldap.SERVER_DOWN:
            assert time.monotonic() < deadline, "loopback not accepted after allow"
            time.sleep(0.1)


def test_rotated_secret_replaces_the_old_one(server: RunningServer) -> None:
    old = service_secret(server)
    new = server.cli("ldap", "rotate-secret").stdout.strip()
    assert new != old
    deadline = time.monotonic() + 5
    while True:
        try:
            connect(server.ldap_port).simple_bind_s(SERVICE_DN, old)
        except ldap.INVALID_CREDENTIALS:
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    connect(server.ldap_port).simple_bind_s(SERVICE_DN, new)


def test_failed_binds_are_throttled_then_busy(server: RunningServer) -> None:
    """Last in this module: it leaves 127.0.0.1 throttled."""
    server.cli("settings", "set", "ldap_failed_binds_limit", "3")
    secret = service_secret(server)
    time.sleep(0.5)  # the listener re-reads settings when the directory version moves
    outcomes = []
    for _ in range(5):
        try:
            connect(server.ldap_port).simple_bind_s(SERVICE_DN, "wrong")
        except (ldap.INVALID_CREDENTIALS, ldap.BUSY) as err:
            outcomes.append(type(err).__name__)
    # Earlier tests may have failed a bind or two already; within the limit of 3, busy follows.
    assert "INVALID_CREDENTIALS" in outcomes[:3] and outcomes[3:] == ["BUSY", "BUSY"]
    with pytest.raises(ldap.BUSY):
        connect(server.ldap_port).simple_bind_s(SERVICE_DN, secret)
