"""The LDAP load generator: asyncio connections that keep several requests in flight each.

One client drives every server the same way. Searches are pipelined (`depth` requests
outstanding per connection, RFC 4511 §4.1.1 message IDs match answers to requests); binds are
not, because RFC 4511 §4.2.1 forbids sending anything on a connection while a bind is pending.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bench import ldap_wire as wire


class LdapError(Exception):
    pass


class Connection(asyncio.Protocol):
    """One LDAP connection; `request` sends a pre-encoded operation and awaits its answer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._ids = itertools.count(1)
        # message id -> (future of the result code, DNs of the entries received so far)
        self._pending: dict[int, tuple[asyncio.Future[int], list[bytes]]] = {}
        self._lost: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buf += data
        try:
            responses, used = wire.read_responses(self._buf)
        except ValueError as exc:
            self._fail(LdapError(str(exc)))
            return
        del self._buf[:used]
        for r in responses:
            pending = self._pending.get(r.message_id)
            if pending is None:
                continue  # e.g. a Notice of Disconnection (message id 0)
            if r.op == wire.SEARCH_RESULT_ENTRY:
                pending[1].append(r.dn)
            elif r.op != wire.SEARCH_RESULT_REFERENCE:
                del self._pending[r.message_id]
                if not pending[0].done():
                    pending[0].set_result(r.result_code)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(LdapError(f"connection closed by the server ({exc})"))

    def _fail(self, exc: Exception) -> None:
        self._lost = exc
        for future, _ in self._pending.values():
            if not future.done():
                future.set_exception(exc)
        self._pending.clear()
        if self.transport is not None:
            self.transport.abort()

    async def request(self, op: bytes) -> tuple[int, list[bytes]]:
        """Send one operation; return its result code and the DNs of the entries it returned."""
        if self._lost is not None:
            raise self._lost
        assert self.transport is not None
        message_id = next(self._ids)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        dns: list[bytes] = []
        self._pending[message_id] = (future, dns)
        self.transport.write(wire.message(message_id, op))
        return await future, dns

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(wire.message(next(self._ids), wire.UNBIND_OP))
            self.transport.close()


async def connect(port: int, bind: tuple[str, str] | None = None) -> Connection:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(Connection, "127.0.0.1", port)
    if bind is not None:
        code, _ = await conn.request(wire.bind_op(*bind))
        if code != 0:
            conn.close()
            raise LdapError(f"bind as {bind[0]} failed with result code {code}")
    return conn


@dataclass
class Outcome:
    """What one scenario measured on one server."""

    name: str
    count: int
    seconds: float = 0.0
    latencies_ns: list[int] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    rss_mb: float = 0.0
    """The server's resident memory right after the scenario."""

    @property
    def ops_per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float:
        if not self.latencies_ns:
            return float("nan")
        ordered = sorted(self.latencies_ns)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6


Check = Callable[[int, list[bytes]], str | None]
"""(result code, entry DNs) -> None if the answer is right, else what is wrong."""
Operation = Callable[[int], Awaitable[str | None]]
"""Operation number -> None on success, else what went wrong."""


async def drive(outcome: Outcome, workers: Sequence[Operation], deadline: float) -> None:
    """Run `outcome.count` operations over `workers` (each one sequential) and time each."""
    numbers = iter(range(outcome.count))
    latencies = outcome.latencies_ns
    clock = time.perf_counter_ns

    async def worker(op: Operation) -> None:
        for n in numbers:
            start = clock()
            problem = await op(n)
            latencies.append(clock() - start)
            if problem is not None:
                outcome.errors += 1
                outcome.first_error = outcome.first_error or problem

    started = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(*(worker(w) for w in workers)), timeout=deadline - time.monotonic()
    )
    outcome.seconds = time.perf_counter() - started


def pipelined(
    conns: Sequence[Connection], depth: int, ops: Sequence[bytes], check: Check
) -> list[Operation]:
    """`depth` sequential workers per connection, operation n sending `ops[n % len(ops)]`."""

    def worker(conn: Connection) -> Operation:
        async def one(n: int) -> str | None:
            code, dns = await conn.request(ops[n % len(ops)])
            return check(code, dns)

        return one

    return [worker(c) for c in conns for _ in range(depth)]
