"""keyhall.web.balance: workers take turns at new connections, by the table they share."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
from tests.conftest import ServerFactory

from keyhall.web import balance
from keyhall.web.balance import ConnectionTable, create_table


def test_a_worker_holding_more_waits_for_the_others_then_accepts_anyway() -> None:
    fd = create_table(2)
    try:
        first, second = ConnectionTable(fd, slot=0), ConnectionTable(fd, slot=1)
        first.set(2)
        second.set(1)

        async def scenario() -> list[str]:
            order: list[str] = []

            async def catch_up() -> None:
                await asyncio.sleep(balance.POLL * 3)
                order.append("second accepted")
                second.set(2)

            async def first_turn() -> None:
                await first.my_turn()
                order.append("first's turn")

            await asyncio.gather(first_turn(), catch_up())
            # The least loaded goes first; then the two are even and the first may accept.
            await second.my_turn()  # even: no wait
            order.append("second's turn")
            first.set(5)  # nobody catches up: the first waits MAX_DEFERRAL, then goes on
            await first.my_turn()
            order.append("first's turn anyway")
            return order

        assert asyncio.run(scenario()) == [
            "second accepted",
            "first's turn",
            "second's turn",
            "first's turn anyway",
        ]
    finally:
        os.close(fd)


def _established(port: int) -> dict[str, int]:
    """Socket inode -> 1 for the server side of each established IPv4 connection on `port`."""
    found = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "01" and int(local.split(":")[1], 16) == port:
            found[inode] = 1
    return found


def _held_by(pid: int, inodes: dict[str, int]) -> int:
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            held += 1
    return held


def test_two_workers_share_keep_alive_connections(keyhall_server: ServerFactory) -> None:
    server = keyhall_server(KEYHALL_HTTP_WORKERS="2")
    port = server.http_addr.rsplit(":", 1)[1]
    clients = []
    try:
        for _ in range(8):
            # One keep-alive connection each, opened one after another as a proxy's pool would.
            client = httpx.Client(base_url=server.url)
            assert client.get("/healthz").status_code == 200
            clients.append(client)
        inodes = _established(int(port))
        assert server.process is not None
        parent = server.process.pid
        children = [
            int(p) for p in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        ]
        held = {pid: _held_by(pid, inodes) for pid in [parent, *map(int, children)]}
        serving = sorted(n for n in held.values() if n)
        assert sum(serving) == 8, held
        assert serving == [4, 4], held
    finally:
        for client in clients:
            client.close()
