"""HTTP worker processes under `keyhall serve`: one listening socket, several app processes.

DESIGN.md lets the HTTP workers be separate processes. One Python process runs the app on one
core at a time (the GIL), so `keyhall serve` binds the HTTP socket once and runs the app in
`KEYHALL_HTTP_WORKERS` processes that all accept on it: itself and `count - 1` children started
fresh (`python -m keyhall.web.workers`, inheriting the socket), each with its own instance
(database pool, directory view and refresher, OIDC key reload, back-channel delivery and
clean-up, which are written to run on every node of a cluster alike). Work that runs once per
node (the external directory schedule, the LDAP listener) stays with the parent.

The parent talks to each child over its standard streams, as with the LDAP listener:

- stdin: one JSON line with the configuration, the instance secret and the socket's descriptor
  number, later the line ``serve`` (everything is up: accept connections), then nothing; the
  child stops when it reads end-of-file, so it never outlives a parent that died;
- stdout: the line ``ready`` once its app is built, then nothing.

The socket listens only when every worker and the LDAP listener are ready, so a health check
that passes means every front is up. SIGTERM or SIGINT stops a child cleanly (exit status 0);
a child that dies on its own stops the whole server with a non-zero status, leaving the restart
to the supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import uvicorn
import uvloop
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from keyhall.config import Config, split_addr
from keyhall.handoff import encode_handoff, read_handoff, stop_child, stop_when_parent_gone
from keyhall.logs import get_logger
from keyhall.web.balance import POLL, ConnectionTable

if TYPE_CHECKING:
    from keyhall.web.hot_paths import HotPathApp

log = get_logger("keyhall.web")

BACKLOG = 1024
READY = b"ready\n"
SERVE = b"serve\n"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 10.0


def bind_http(addr: str) -> socket.socket:
    """The HTTP socket, bound (a port in use fails here, before anything starts) but not yet
    listening: connections are refused, not queued, until `listen` says every front is up."""
    host, port = split_addr(addr)
    family, kind, proto, _, sockaddr = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
    except OSError:
        sock.close()
        raise
    return sock


def listen(sock: socket.socket) -> None:
    sock.listen(BACKLOG)


class _Embedded(uvicorn.Server):
    """uvicorn's server, leaving SIGTERM/SIGINT to `keyhall serve`, which stops every service
    together (uvicorn's own handlers would re-raise the signal once it stopped)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _Coalescing:
    """A connection's transport whose writes in one turn of the event loop go out as one."""

    def __init__(self, transport: Any) -> None:  # uvloop's, no asyncio.Transport subclass
        self._transport = transport
        self._pending: list[bytes] = []
        self._loop = asyncio.get_running_loop()

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _OneSegment(HttpToolsProtocol):
    """uvicorn's httptools protocol, sending a response's head and body together.

    uvicorn writes the status line and headers, then the body: on a TCP_NODELAY socket, two
    segments, two system calls here and two wake-ups of the client for every small response."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(_Coalescing(transport))  # type: ignore[arg-type]


class HttpServer:
    """The app served on a socket bound elsewhere, by uvicorn embedded in the running loop.

    uvicorn with httptools and uvloop parses HTTP and runs the app on the one thread of this
    loop. It replaced granian, whose Rust threads hand each request to the Python thread and
    back: on the two-core machine of bench/oidc.py that hand-off cost more CPU than the
    OAuth endpoints' own work (a userinfo request 0.195 ms of server CPU under granian, 0.147
    under uvicorn; the whole numbers are in bench/README.md). Several worker processes
    (`HttpWorkers`) give the server every core, as granian's threads did."""

    def __init__(self, app: Any, sock: socket.socket, table: ConnectionTable | None = None) -> None:
        config = uvicorn.Config(
            app,
            http=_OneSegment,
            ws="none",
            loop="none",  # this process's loop: uvloop, set up by its entry point
            lifespan="off",
            proxy_headers=False,  # X-Forwarded-For is nobody's to trust by default
            server_header=False,
            access_log=False,
            log_config=None,  # logging is keyhall.logs's
            log_level="warning",
            backlog=BACKLOG,
            timeout_graceful_shutdown=int(STOP_TIMEOUT),
        )
        self._server = _Embedded(config)
        self._sock = sock
        self._table = table

    async def serve(self) -> None:
        if self._table is None:
            await self._server.serve(sockets=[self._sock])
            return
        # Spreading connections over the workers (keyhall.web.balance) needs a say in each
        # accept: this loop accepts, uvicorn serves what it is given (and no listener).
        accepting = asyncio.create_task(self._accept(self._table))
        try:
            await self._server.serve(sockets=[])
        finally:
            accepting.cancel()
            await asyncio.gather(accepting, return_exceptions=True)

    async def _accept(self, table: ConnectionTable) -> None:
        server = self._server
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(POLL)
        state = server.server_state
        connections = state.connections

        def protocol() -> asyncio.Protocol:
            return _Counted(
                table, config=server.config, server_state=state, app_state=server.lifespan.state
            )

        loop = asyncio.get_running_loop()
        self._sock.setblocking(False)
        while not server.should_exit:
            table.set(len(connections))
            await table.my_turn()
            try:
                conn, _ = await loop.sock_accept(self._sock)
            except OSError as exc:  # EMFILE and the like: log, breathe, go on
                log.warning("accept failed", error=str(exc))
                await asyncio.sleep(0.1)
                continue
            await loop.connect_accepted_socket(protocol, conn)

    def stop(self) -> None:
        self._server.should_exit = True


class _Counted(_OneSegment):
    """Keeps this worker's slot of the connection table up to date."""

    def __init__(self, table: ConnectionTable, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._table = table

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._table.set(len(self.connections))

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._table.set(len(self.connections))


def http_server(
    app: HotPathApp, sock: socket.socket, table: ConnectionTable | None = None
) -> HttpServer:
    """`serve()` until `stop()`; the caller owns SIGTERM/SIGINT. With a connection table,
    connections are spread over the workers sharing it."""
    return HttpServer(app, sock, table)


# -- parent side -------------------------------------------------------------------------------
class HttpWorkers:
    """The extra HTTP worker processes, seen from `keyhall serve`."""

    def __init__(
        self, config: Config, secret_key: bytes, sock: socket.socket, count: int, table: int
    ) -> None:
        """`table`: the descriptor of the connection table (keyhall.web.balance), whose slot 0
        is the parent's and slot N a child's."""
        self._config = config
        self._secret_key = secret_key
        self._sock = sock
        self._count = count
        self._table = table
        self._procs: list[asyncio.subprocess.Process] = []

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs]

    async def start(self) -> None:
        """Spawn the children and wait until each has built its app; raise if one exits."""
        fd = self._sock.fileno()
        for index in range(self._count):
            handoff = encode_handoff(
                self._config, self._secret_key, fd=fd, worker=index + 2, table=self._table
            )
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "keyhall.web.workers",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                pass_fds=(fd, self._table),
            )
            self._procs.append(proc)
            assert proc.stdin is not None
            proc.stdin.write(handoff)
        results = await asyncio.gather(*(self._ready(p) for p in self._procs))
        if not all(results):
            await self.stop()
            raise RuntimeError("an HTTP worker did not start")
        log.info("http workers started", pids=self.pids)

    @staticmethod
    async def _ready(proc: asyncio.subprocess.Process) -> bool:
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)
        except TimeoutError:
            line = b""
        return line == READY

    def serve(self) -> None:
        """Tell the children to accept connections (the socket listens now)."""
        for proc in self._procs:
            assert proc.stdin is not None
            proc.stdin.write(SERVE)

    async def watch(self, stop: asyncio.Event) -> None:
        """Return when `stop` is set or a child stopped cleanly; raise if one failed."""
        exits = [asyncio.create_task(p.wait()) for p in self._procs]
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([*exits, stopping], return_when=asyncio.FIRST_COMPLETED)
        for task in [*exits, stopping]:
            task.cancel()
        if stop.is_set():
            return
        for proc in self._procs:
            code = proc.returncode
            if code == 0:
                # It was told to stop (a terminal's Ctrl-C reaches the whole process group).
                log.info("http worker stopped", pid=proc.pid)
            elif code is not None:
                log.error("http worker exited", pid=proc.pid, status=code)
                raise RuntimeError(f"an HTTP worker exited with status {code}")

    async def stop(self) -> None:
        """SIGTERM each child, then SIGKILL those that haven't exited within STOP_TIMEOUT."""
        await asyncio.gather(*(stop_child(p, "http worker", STOP_TIMEOUT) for p in self._procs))


# -- child side --------------------------------------------------------------------------------
async def run_child(config: Config, secret_key: bytes, fd: int, table: ConnectionTable) -> bool:
    """Serve the app on the inherited socket until SIGTERM/SIGINT or the parent is gone."""
    from keyhall.app import create_app
    from keyhall.runtime import open_instance
    from keyhall.serve import _refresh_view

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    inst = await asyncio.to_thread(open_instance, config)
    try:
        await asyncio.to_thread(inst.directory.refresh)
        app = create_app(inst)
        os.write(1, READY)
        if await asyncio.to_thread(sys.stdin.buffer.readline) != SERVE:
            return True  # the parent gave up starting
        os.dup2(2, 1)  # anything printed from here on goes where the logs go
        await stop_when_parent_gone(stop)
        server = http_server(app, socket.socket(fileno=fd), table)
        tasks = [
            asyncio.create_task(server.serve(), name="http"),
            asyncio.create_task(_refresh_view(inst, stop), name="refresh"),
            asyncio.create_task(app.state.provider.run_background(stop), name="oidc"),
        ]
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        server.stop()
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        failed = [t for t in done if t is not stopper and t.exception() is not None]
        for task in failed:
            log.error("service failed", service=task.get_name(), error=str(task.exception()))
        return not failed
    finally:
        inst.close()


def main() -> int:
    handoff = read_handoff("keyhall.web.workers")
    if handoff is None:
        return 2
    extra = handoff.extra
    table = ConnectionTable(extra["table"], slot=extra["worker"] - 1)
    ok = uvloop.run(run_child(handoff.config, handoff.secret_key, extra["fd"], table))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
