"""The LDAP listener: asyncio moves bytes between sockets and `Session`s, and decides nothing else.

Per connection: the allowlist at accept, an idle timeout, PDU size and BER/filter depth limits
(a violation gets a Notice of Disconnection, RFC 4511 §4.4.1, and closes only that
connection), StartTLS (RFC 4511 §4.14) and LDAPS. Requests of one connection are handled in
order, one at a time; reading pauses while a bind's password check runs in the worker pool, so
a client can't pile up work (at most one outstanding request, the rest wait in TCP buffers).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import ssl
from concurrent.futures import ThreadPoolExecutor

from keyhall.config import Config, split_addr
from keyhall.ldap.backend import LdapBackend
from keyhall.ldap.messages import decode_message, encode_message, notice_of_disconnection
from keyhall.ldap.result_codes import LdapError, ResultCode
from keyhall.ldap.session import PendingBind, Session
from keyhall.ldap.tls import server_context
from keyhall.logs import get_logger
from keyhall.runtime import Instance

log = get_logger("keyhall.ldap")

MAX_PDU_BYTES = 256 * 1024
MAX_DEPTH = 32
IDLE_TIMEOUT = 300.0
READ_CHUNK = 64 * 1024
WATCH_INTERVAL = 0.25
PASSWORD_WORKERS = 4


M_MMAP_THRESHOLD = -3  # glibc mallopt parameter


def return_large_blocks_to_the_os() -> None:
    """Keep argon2's 19 MiB blocks from staying resident once per worker thread.

    glibc raises its mmap threshold after the first large block is freed, so later ones come
    from the thread's arena and stay in RSS after `free` (~19 MiB per password worker). A
    fixed 1 MiB threshold keeps them mmapped, returned to the OS as soon as a check ends.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name).mallopt(M_MMAP_THRESHOLD, 1 << 20)


class LdapServer:
    def __init__(self, inst: Instance, *, idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.config: Config = inst.config
        self.backend = LdapBackend(inst)
        self.idle_timeout = idle_timeout
        self._servers: list[asyncio.Server] = []
        self._tls: ssl.SSLContext | None = None
        self._pool = ThreadPoolExecutor(PASSWORD_WORKERS, thread_name_prefix="ldap-bind")
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        return_large_blocks_to_the_os()
        await asyncio.to_thread(self.backend.reload)
        self.backend.loaded_version = self.backend.view.version
        self.backend.tree()
        self._tls = await asyncio.to_thread(server_context, self.config)
        if self.config.ldap_addr:
            host, port = split_addr(self.config.ldap_addr)
            self._servers.append(
                await asyncio.start_server(self._plain, host, port, limit=READ_CHUNK)
            )
        if self.config.ldaps_addr:
            host, port = split_addr(self.config.ldaps_addr)
            self._servers.append(
                await asyncio.start_server(
                    self._secure, host, port, ssl=self._tls, limit=READ_CHUNK
                )
            )
        log.info("ldap listening", ldap=self.config.ldap_addr, ldaps=self.config.ldaps_addr)

    async def watch(self, stop: asyncio.Event) -> None:
        """Follow the directory version: re-read policy and settings, rebuild the tree."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), WATCH_INTERVAL)
            version = self.backend.view.version
            if version == self.backend.loaded_version:
                continue
            try:
                await asyncio.to_thread(self.backend.reload)
            except Exception as exc:
                log.warning("ldap reload failed", error=str(exc))
                continue
            self.backend.loaded_version = version
            self.backend.tree()

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _plain(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._serve(reader, writer, tls=False)

    async def _secure(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._serve(reader, writer, tls=True)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, tls: bool
    ) -> None:
        peer = writer.get_extra_info("peername")
        ip = str(peer[0]) if peer else ""
        if not self.backend.policy.allows(ip):
            log.info("ldap connection refused", ip=ip)
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._converse(
                reader, writer, Session(self.backend, ip, tls, self._tls is not None)
            )
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except Exception:
            log.exception("ldap connection failed", ip=ip)
        finally:
            self._connections.discard(task)
            writer.close()

    async def _converse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, session: Session
    ) -> None:
        loop = asyncio.get_running_loop()
        buffer = bytearray()
        while True:
            try:
                chunk = await asyncio.wait_for(reader.read(READ_CHUNK), self.idle_timeout)
            except TimeoutError:
                return
            if not chunk:
                return
            buffer += chunk
            while buffer:
                try:
                    message, used = decode_message(
                        buffer, max_size=MAX_PDU_BYTES, max_depth=MAX_DEPTH
                    )
                except LdapError as err:
                    # RFC 4511 §4.1.1: on a PDU we can't parse, notify and close the session.
                    notice = notice_of_disconnection(ResultCode.PROTOCOL_ERROR, err.message)
                    writer.write(encode_message(notice))
                    await writer.drain()
                    return
                if message is None:
                    break
                del buffer[:used]
                action = session.receive(message)
                if isinstance(action, PendingBind):
                    if action.delay:
                        await asyncio.sleep(action.delay)
                    result = await loop.run_in_executor(self._pool, action.check)
                    action = session.finish_bind(action, result)
                if action.data:
                    writer.write(action.data)
                if action.close:
                    await writer.drain()
                    return
                if action.start_tls:
                    await writer.drain()
                    if buffer:  # RFC 4511 §4.14.1: nothing may follow StartTLS before TLS
                        return
                    assert self._tls is not None
                    await writer.start_tls(self._tls)
                    session.tls = True
            await writer.drain()
