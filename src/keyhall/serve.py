"""`keyhall serve`: the HTTP app and the view refresher, and the LDAP listener's child process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

import uvloop

from keyhall.app import create_app
from keyhall.config import Config
from keyhall.connectors.scheduler import run_scheduler
from keyhall.ldap.process import LdapProcess
from keyhall.logs import configure_logging, get_logger
from keyhall.runtime import Instance, open_instance
from keyhall.web.balance import ConnectionTable, create_table
from keyhall.web.workers import HttpWorkers, bind_http, http_server, listen

log = get_logger("keyhall.serve")
REFRESH_INTERVAL = 0.25


def run(config: Config) -> None:
    configure_logging(config.log_level, config.log_format)
    if not uvloop.run(serve(config)):
        sys.exit(1)


async def serve(config: Config) -> bool:
    """Serve until SIGTERM/SIGINT (True) or until a service fails (False)."""
    inst = await asyncio.to_thread(open_instance, config)
    await asyncio.to_thread(inst.directory.refresh)
    view = inst.directory.view
    log.info(
        "directory loaded", users=len(view.users), groups=len(view.groups), version=view.version
    )
    _print_first_start_hint(inst)
    try:
        sock = bind_http(config.http_addr)
    except OSError as exc:
        log.error("service failed", service="http", error=f"{config.http_addr}: {exc.strerror}")
        inst.close()
        return False
    # The LDAP listener runs in a child process (keyhall.ldap.process); it starts while the
    # app is built here, and must listen before HTTP does (ready means both fronts are up).
    ldap = LdapProcess(config, inst.secret_key) if config.ldap_addr or config.ldaps_addr else None
    ldap_started = asyncio.create_task(ldap.start()) if ldap is not None else None

    app = create_app(inst)
    # This process is the first HTTP worker; the others (keyhall.web.workers) start once
    # create_app has made the signing keys of a first start, and accept on the same socket.
    extra = config.http_workers - 1
    table = create_table(config.http_workers) if extra > 0 else None
    workers = (
        HttpWorkers(config, inst.secret_key, sock, extra, table) if table is not None else None
    )
    workers_started = asyncio.create_task(workers.start()) if workers is not None else None
    # uvicorn embedded in this loop (keyhall.web.workers), next to the background tasks. `run`
    # owns SIGTERM/SIGINT so that every service stops together.
    server = http_server(app, sock, ConnectionTable(table, slot=0) if table is not None else None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    if ldap_started is not None:
        try:
            await ldap_started
        except RuntimeError as exc:
            log.error("service failed", service="ldap", error=str(exc))
            if workers is not None and workers_started is not None:
                workers_started.cancel()
                await asyncio.gather(workers_started, return_exceptions=True)
                await workers.stop()
            inst.close()
            return False
    if workers_started is not None:
        try:
            await workers_started
        except RuntimeError as exc:
            log.error("service failed", service="http-workers", error=str(exc))
            if ldap is not None:
                await ldap.stop()
            inst.close()
            return False
    listen(sock)  # every front is up: ready from here on
    if workers is not None:
        workers.serve()
    tasks = [
        asyncio.create_task(server.serve(), name="http"),
        asyncio.create_task(_refresh_view(inst, stop), name="refresh"),
        asyncio.create_task(app.state.provider.run_background(stop), name="oidc"),
        asyncio.create_task(run_scheduler(inst, stop), name="external-sync"),
    ]
    if ldap is not None:
        tasks.append(asyncio.create_task(ldap.watch(stop), name="ldap"))
    if workers is not None:
        tasks.append(asyncio.create_task(workers.watch(stop), name="http-workers"))
    log.info("listening", http=config.http_addr, public_url=config.public_url)
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    log.info("shutting down")
    server.stop()
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    if ldap is not None:
        await ldap.stop()
    if workers is not None:
        await workers.stop()
    sock.close()
    failed = [t for t in done if t is not stopper and t.exception() is not None]
    for task in failed:
        log.error("service failed", service=task.get_name(), error=str(task.exception()))
    inst.close()
    log.info("stopped")
    return not failed


async def _refresh_view(inst: Instance, stop: asyncio.Event) -> None:
    """Poll the directory version; fetch changes in a thread, apply them on the loop."""
    view = inst.directory.view
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REFRESH_INTERVAL)
        if stop.is_set():
            return
        try:
            changes = await asyncio.to_thread(inst.store.changes_since, view.version)
        except Exception as exc:
            log.warning("directory refresh failed", error=str(exc))
            continue
        if changes.version != view.version:
            view.apply(changes)


def _print_first_start_hint(inst: Instance) -> None:
    if any(u.role.value == "owner" for u in inst.directory.view.all_users()):
        return
    print(
        "\nKeyhall has no owner yet. Create the first account (it becomes the owner):\n"
        "  echo 'a long password' | .venv/bin/keyhall user add alice --email alice@example.com "
        "--password-stdin\n"
        f"then sign in at {inst.config.public_url}/\n",
        flush=True,
    )
