"""The LDAP listener in a process of its own, which `keyhall serve` starts and stops.

DESIGN.md lets the HTTP workers and the LDAP listener be separate processes. Separate, the
listener gets a core of its own instead of sharing one event loop and one GIL with the web app,
and its memory is only what LDAP needs: it is started fresh (`python -m keyhall.ldap.process`,
never forked from the parent after the web stack is imported), imports no web framework, OIDC or
template code, and holds its own directory view, polling the database as every node does.

The parent talks to the child over its standard streams:

- stdin: one JSON line with the configuration and the instance secret (a pipe, so secrets stay
  out of the environment and the command line), then nothing; the child stops when it reads
  end-of-file, so it never outlives a parent that died without stopping it;
- stdout: the line ``ready`` once the listener accepts connections, then nothing (the child's
  stdout is pointed at stderr after that, where both processes log).

SIGTERM or SIGINT stops the child cleanly (exit status 0). If the child dies on its own, the
parent logs it and stops with a non-zero status, leaving the restart to the supervisor
(systemd, a container runtime), which also restarts the web side that shares its lifetime.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from keyhall.config import Config
from keyhall.handoff import encode_handoff, read_handoff, stop_child, stop_when_parent_gone
from keyhall.logs import get_logger

if TYPE_CHECKING:
    from keyhall.directory.service import Directory
    from keyhall.ldap.server import LdapServer
    from keyhall.storage.store import Store

log = get_logger("keyhall.ldap")

REFRESH_INTERVAL = 0.25
"""Seconds between directory version polls (as the web side's refresher)."""
READY = b"ready\n"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 10.0


# -- parent side -------------------------------------------------------------------------------
class LdapProcess:
    """The child process, seen from `keyhall serve`."""

    def __init__(self, config: Config, secret_key: bytes) -> None:
        self._handoff = encode_handoff(config, secret_key)
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    async def start(self) -> None:
        """Spawn the child and wait until it listens; raise if it exits first."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "keyhall.ldap.process",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self._proc = proc
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(self._handoff)
        await proc.stdin.drain()
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)
        except TimeoutError:
            line = b""
        if line != READY:
            code = await self.stop()
            raise RuntimeError(f"the LDAP listener did not start (exit status {code})")
        log.info("ldap process started", pid=proc.pid)

    async def watch(self, stop: asyncio.Event) -> None:
        """Return when `stop` is set; raise if the child exits before that."""
        assert self._proc is not None
        exited = asyncio.create_task(self._proc.wait())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([exited, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if stop.is_set():
            exited.cancel()
            return
        code = self._proc.returncode
        if code == 0:
            # It was told to stop (a terminal's Ctrl-C reaches the whole process group).
            log.info("ldap process stopped", pid=self._proc.pid)
            return
        log.error("ldap process exited", pid=self._proc.pid, status=code)
        raise RuntimeError(f"the LDAP listener exited with status {code}")

    async def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it hasn't exited within STOP_TIMEOUT; the exit status."""
        proc = self._proc
        if proc is None:
            return None
        return await stop_child(proc, "ldap process", STOP_TIMEOUT)


# -- child side --------------------------------------------------------------------------------
@dataclass
class LdapInstance:
    """What the listener needs of an instance (`keyhall.runtime.Instance` has the same fields).

    Not `open_instance`: the parent already migrated the database, and the child has no use for
    the OIDC and account listeners it registers, nor for the modules they import.
    """

    config: Config
    store: Store
    directory: Directory
    secret_key: bytes

    def close(self) -> None:
        self.store.close()


def open_ldap_instance(config: Config, secret_key: bytes) -> LdapInstance:
    from keyhall.connectors.connector import ExternalDirectory
    from keyhall.directory.service import Directory
    from keyhall.storage.store import Store

    store = Store(config.db_url)
    directory = Directory(store)
    # Directory users' passwords are checked upstream, whichever front asks.
    ExternalDirectory(directory, secret_key).attach()
    return LdapInstance(config, store, directory, secret_key)


async def run_child(inst: LdapInstance) -> None:
    from keyhall.ldap.server import LdapServer, return_freed_memory

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = LdapServer(inst)
    try:
        await server.start()
        # Loading left the rows and result sets of the whole directory freed but resident.
        return_freed_memory()
        view = inst.directory.view
        log.info("ldap directory loaded", users=len(view.users), version=view.version)
        os.write(1, READY)
        os.dup2(2, 1)  # anything printed from here on goes where the logs go
        await stop_when_parent_gone(stop)
        await _follow_directory(inst, server, stop)
    finally:
        await server.close()
        inst.close()
    log.info("ldap stopped")


async def _follow_directory(inst: LdapInstance, server: LdapServer, stop: asyncio.Event) -> None:
    """Poll the directory version; fetch changes and re-read LDAP settings in a thread."""
    view = inst.directory.view
    backend = server.backend
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REFRESH_INTERVAL)
        if stop.is_set():
            return
        try:
            changes = await asyncio.to_thread(inst.store.changes_since, view.version)
            if changes.version == view.version:
                continue
            view.apply(changes)
            await asyncio.to_thread(backend.reload)
        except Exception as exc:
            log.warning("ldap directory refresh failed", error=str(exc))
            continue
        backend.loaded_version = view.version
        backend.tree()


def main() -> int:
    handoff = read_handoff("keyhall.ldap.process")
    if handoff is None:
        return 2
    config = handoff.config
    # Loaded before the event loop starts, on this thread: there is nothing to serve yet, and
    # a worker thread would leave the load's garbage in a malloc arena of its own.
    inst = open_ldap_instance(config, handoff.secret_key)
    inst.directory.refresh()
    # (uvloop measured no better here: the loopback send() dominates, not the loop.)
    try:
        asyncio.run(run_child(inst))
    except OSError as exc:  # e.g. the address is taken: one line, not a traceback
        log.error("ldap listener failed", error=str(exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
