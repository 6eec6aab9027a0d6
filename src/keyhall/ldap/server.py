"""The LDAP listener: asyncio moves bytes between sockets and `Session`s, and decides nothing else.

Per connection: the allowlist at accept, an idle timeout, PDU size and BER/filter depth limits
(a violation gets a Notice of Disconnection, RFC 4511 §4.4.1, and closes only that
connection), StartTLS (RFC 4511 §4.14) and LDAPS. Requests of one connection are handled in
order, one at a time; reading pauses while a bind's password check runs in the worker pool, so
a client can't pile up work (at most one outstanding request, the rest wait in TCP buffers).
Connections are `asyncio.Protocol`s answered from the transport's callbacks (see `Connection`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import ssl
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from keyhall.config import Config, split_addr
from keyhall.ldap.backend import LdapBackend, LdapHost
from keyhall.ldap.messages import decode_message, encode_message, notice_of_disconnection
from keyhall.ldap.result_codes import LdapError, ResultCode
from keyhall.ldap.session import PendingBind, Session
from keyhall.ldap.tls import server_context
from keyhall.logs import get_logger

log = get_logger("keyhall.ldap")

MAX_PDU_BYTES = 256 * 1024
MAX_DEPTH = 32
IDLE_TIMEOUT = 300.0
# One argon2 check per core at a time: more threads only queue for the cores while each
# holds its own 19 MiB block (4 workers on 2 cores peaked at 266 MB).
PASSWORD_WORKERS = max(1, len(os.sched_getaffinity(0)))


M_MMAP_THRESHOLD = -3  # glibc mallopt parameter


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None


def return_large_blocks_to_the_os() -> None:
    """Keep argon2's 19 MiB blocks from staying resident once per worker thread.

    glibc raises its mmap threshold after the first large block is freed, so later ones come
    from the thread's arena and stay in RSS after `free` (~19 MiB per password worker). A
    fixed 1 MiB threshold keeps them mmapped, returned to the OS as soon as a check ends.
    """
    libc = _libc()
    with contextlib.suppress(AttributeError):
        if libc is not None:
            libc.mallopt(M_MMAP_THRESHOLD, 1 << 20)


def return_freed_memory() -> None:
    """glibc's malloc_trim: give the OS back the free pages of every arena (after a big load)."""
    libc = _libc()
    with contextlib.suppress(AttributeError):
        if libc is not None:
            libc.malloc_trim(0)


class LdapServer:
    def __init__(self, inst: LdapHost, *, idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.config: Config = inst.config
        self.backend = LdapBackend(inst)
        self.idle_timeout = idle_timeout
        self.pool = ThreadPoolExecutor(PASSWORD_WORKERS, thread_name_prefix="ldap-bind")
        self.tls: ssl.SSLContext | None = None
        self.connections: set[Connection] = set()
        self._servers: list[asyncio.Server] = []

    async def start(self) -> None:
        return_large_blocks_to_the_os()
        await asyncio.to_thread(self.backend.reload)
        self.backend.loaded_version = self.backend.view.version
        self.backend.tree()
        self.tls = await asyncio.to_thread(server_context, self.config)
        loop = asyncio.get_running_loop()
        if self.config.ldap_addr:
            host, port = split_addr(self.config.ldap_addr)
            self._servers.append(
                await loop.create_server(lambda: Connection(self, tls=False), host, port)
            )
        if self.config.ldaps_addr:
            host, port = split_addr(self.config.ldaps_addr)
            self._servers.append(
                await loop.create_server(
                    lambda: Connection(self, tls=True), host, port, ssl=self.tls
                )
            )
        log.info("ldap listening", ldap=self.config.ldap_addr, ldaps=self.config.ldaps_addr)

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for connection in list(self.connections):
            connection.abort()
        for server in self._servers:
            await server.wait_closed()
        self.pool.shutdown(wait=False, cancel_futures=True)


class Connection(asyncio.Protocol):
    """One client: bytes in, `Session` replies out, straight from the transport's callbacks.

    No stream reader and no task per connection: a request is decoded and answered inside
    `data_received`, and the replies to every request a read brought in leave in one write.
    Reading pauses while a password check or a TLS handshake is under way (a client can't
    pile up work) and while the client isn't reading its replies (`pause_writing`).
    """

    def __init__(self, server: LdapServer, *, tls: bool) -> None:
        self.server = server
        self.tls = tls
        self.transport: asyncio.Transport | None = None
        self.session: Session | None = None
        self.buffer = bytearray()
        self.waiting = False
        """A bind check or a TLS handshake is running: requests wait in the buffer."""
        self.write_paused = False
        self.closed = False
        self.ip = ""
        self._task: asyncio.Task[None] | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._last_read = 0.0

    # -- transport callbacks ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.ip = str(peer[0]) if peer else ""
        if not self.server.backend.policy.allows(self.ip):
            log.info("ldap connection refused", ip=self.ip)
            self.closed = True
            transport.abort()
            return
        self.session = Session(self.server.backend, self.ip, self.tls, self.server.tls is not None)
        self.server.connections.add(self)
        loop = asyncio.get_running_loop()
        self._last_read = loop.time()
        self._idle = loop.call_later(self.server.idle_timeout, self._check_idle)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._last_read = asyncio.get_running_loop().time()
        self._process()

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)
        if self._idle is not None:
            self._idle.cancel()
        if self._task is not None:
            self._task.cancel()

    def pause_writing(self) -> None:
        self.write_paused = True
        self._pause()

    def resume_writing(self) -> None:
        self.write_paused = False
        self._resume()
        self._process()  # what arrived before the pause is still in the buffer

    # -- requests --------------------------------------------------------------------------
    def _process(self) -> None:
        """Answer every complete request in the buffer, until one needs to wait."""
        try:
            self._answer()
        except Exception:
            log.exception("ldap connection failed", ip=self.ip)
            self.abort()

    def _answer(self) -> None:
        assert self.session is not None and self.transport is not None
        out: list[bytes] = []
        buffer = self.buffer
        while buffer and not (self.waiting or self.write_paused or self.closed):
            try:
                message, used = decode_message(buffer, max_size=MAX_PDU_BYTES, max_depth=MAX_DEPTH)
            except LdapError as err:
                # RFC 4511 §4.1.1: on a PDU we can't parse, notify and close the session.
                out.append(
                    encode_message(notice_of_disconnection(ResultCode.PROTOCOL_ERROR, err.message))
                )
                self._close(out)
                return
            if message is None:
                break
            del buffer[:used]
            action = self.session.receive(message)
            if isinstance(action, PendingBind):
                self._flush(out)
                self._wait(self._bind(action))
                return
            if action.data:
                out.append(action.data)
            if action.close:
                self._close(out)
                return
            if action.start_tls:
                self._flush(out)
                if buffer:  # RFC 4511 §4.14.1: nothing may follow StartTLS before TLS
                    self._close([])
                    return
                self._wait(self._start_tls())
                return
        self._flush(out)

    async def _bind(self, pending: PendingBind) -> None:
        assert self.session is not None
        if pending.delay:
            await asyncio.sleep(pending.delay)
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self.server.pool, pending.check)
        reply = self.session.finish_bind(pending, result)
        self._flush([reply.data])

    async def _start_tls(self) -> None:
        assert self.session is not None and self.transport is not None
        assert self.server.tls is not None
        loop = asyncio.get_running_loop()
        transport = await loop.start_tls(self.transport, self, self.server.tls, server_side=True)
        if transport is None:
            raise ConnectionError("TLS handshake failed")
        self.transport = transport
        self.session.tls = True

    # -- helpers ---------------------------------------------------------------------------
    def _wait(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` with reading paused, then carry on with what's buffered."""
        self.waiting = True
        self._pause()
        self._task = asyncio.create_task(work)
        self._task.add_done_callback(self._done_waiting)

    def _done_waiting(self, task: asyncio.Task[None]) -> None:
        self._task = None
        self.waiting = False
        if task.cancelled() or self.closed:
            return
        error = task.exception()
        if error is not None:
            if not isinstance(error, ConnectionError | ssl.SSLError):
                log.error("ldap connection failed", ip=self.ip, error=repr(error))
            self.abort()
            return
        self._resume()
        self._process()

    def _pause(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def _resume(self) -> None:
        if self.transport is None or self.closed or self.waiting or self.write_paused:
            return
        self.transport.resume_reading()

    def _flush(self, out: list[bytes]) -> None:
        if out and self.transport is not None and not self.closed:
            self.transport.write(out[0] if len(out) == 1 else b"".join(out))

    def _close(self, out: list[bytes]) -> None:
        """Send what's left, then close (the transport flushes its buffer first)."""
        self._flush(out)
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _check_idle(self) -> None:
        if self.closed:
            return
        loop = asyncio.get_running_loop()
        idle_for = loop.time() - self._last_read
        if self.waiting or idle_for < self.server.idle_timeout:
            left = self.server.idle_timeout - (0 if self.waiting else idle_for)
            self._idle = loop.call_later(left, self._check_idle)
            return
        self._close([])
