"""The LDAP listener as `keyhall serve`'s child process: started, kept current, stopped with it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from tests.conftest import ServerFactory
from tests.support.ldap_clients import USERS, connect, service, values
from tests.support.server import RunningServer

import ldap

LDAP_PROCESS = b"keyhall.ldap.process"
PASSWORD = "correct horse battery staple"


def ldap_child(server: RunningServer) -> int:
    """The pid of the serve process's LDAP child, found in /proc like any process."""
    assert server.process is not None
    parent = server.process.pid
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == parent and LDAP_PROCESS in cmdline:
            found.append(int(entry.name))
    assert len(found) == 1, f"expected one LDAP child of {parent}, found {found}"
    return found[0]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until_gone(pid: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while alive(pid):
        assert time.monotonic() < deadline, f"process {pid} still running"
        time.sleep(0.05)


def test_child_serves_cli_changes_and_stops_with_the_parent(keyhall_server: ServerFactory) -> None:
    server = keyhall_server()
    child = ldap_child(server)
    # Started fresh, not forked from the web process: the HTTP parser's extension isn't loaded.
    maps = Path(f"/proc/{child}/maps").read_text()
    assert "httptools" not in maps
    assert "httptools" in Path(f"/proc/{server.process.pid}/maps").read_text()  # type: ignore[union-attr]

    conn = service(server)
    server.cli(
        "user", "add", "bob", "--email", "bob@example.com", "--password-stdin", input=PASSWORD
    )
    # The child polls the directory version on its own: the new user must show within 1 s.
    deadline = time.monotonic() + 1.0
    while True:
        found = conn.search_s(USERS, ldap.SCOPE_SUBTREE, "(uid=bob)", ["mail"])
        if found:
            break
        assert time.monotonic() < deadline, "the LDAP child did not see the CLI's user in 1 s"
        time.sleep(0.05)
    assert found[0][0] == f"uid=bob,{USERS}"
    assert values(found[0][1], "mail") == ["bob@example.com"]
    user = connect(server.ldap_port)
    user.simple_bind_s(f"uid=bob,{USERS}", PASSWORD)
    assert user.whoami_s() == f"dn:uid=bob,{USERS}"
    with pytest.raises(ldap.INVALID_CREDENTIALS):
        connect(server.ldap_port).simple_bind_s(f"uid=nobody,{USERS}", PASSWORD)
    conn.unbind_s()
    user.unbind_s()

    assert server.stop() == 0  # SIGTERM to the parent
    assert not alive(child)
    logs = server.logs()
    assert "ldap stopped" in logs
    assert logs.rstrip().endswith("stopped")


def test_a_crashed_child_stops_the_parent_with_an_error(keyhall_server: ServerFactory) -> None:
    server = keyhall_server()
    child = ldap_child(server)
    os.kill(child, signal.SIGKILL)
    assert server.process is not None
    assert server.process.wait(timeout=30) != 0
    assert "ldap process exited" in server.logs()
    assert f"status=-{int(signal.SIGKILL)}" in server.logs()


def test_the_child_does_not_outlive_a_killed_parent(keyhall_server: ServerFactory) -> None:
    server = keyhall_server()
    child = ldap_child(server)
    assert server.process is not None
    server.process.kill()  # no chance to stop its children: the child sees its stdin close
    server.process.wait(timeout=30)
    wait_until_gone(child)
    assert "parent process gone" in server.logs()
