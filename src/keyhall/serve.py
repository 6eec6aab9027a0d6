"""`keyhall serve`: the HTTP app and the view refresher, and the LDAP listener's child process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from granian.constants import HTTPModes, Interfaces
from granian.log import LogLevels
from granian.server.embed import Server as Granian

from keyhall.app import create_app
from keyhall.config import Config, split_addr
from keyhall.connectors.scheduler import run_scheduler
from keyhall.ldap.process import LdapProcess
from keyhall.logs import configure_logging, get_logger
from keyhall.runtime import Instance, open_instance

log = get_logger("keyhall.serve")
REFRESH_INTERVAL = 0.25


def run(config: Config) -> None:
    configure_logging(config.log_level, config.log_format)
    if not asyncio.run(serve(config)):
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
    # The LDAP listener runs in a child process (keyhall.ldap.process); it starts while the
    # app is built here, and must listen before HTTP does (ready means both fronts are up).
    ldap = LdapProcess(config, inst.secret_key) if config.ldap_addr or config.ldaps_addr else None
    ldap_started = asyncio.create_task(ldap.start()) if ldap is not None else None

    host, port = split_addr(config.http_addr)
    app = create_app(inst)
    # granian (DESIGN.md: the production server) embedded in this loop: its Rust threads parse
    # HTTP and hand each request to the app here, next to the LDAP listener and background
    # tasks. `run` owns SIGTERM/SIGINT so that every service stops together.
    server = Granian(
        app,
        address=host,
        port=port,
        interface=Interfaces.ASGINL,
        http=HTTPModes.http1,
        websockets=False,
        backlog=1024,
        log_level=LogLevels.error,
        log_dictconfig={"loggers": {"_granian": {"propagate": True}}},
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    if ldap_started is not None:
        try:
            await ldap_started
        except RuntimeError as exc:
            log.error("service failed", service="ldap", error=str(exc))
            inst.close()
            return False
    tasks = [
        asyncio.create_task(server.serve(), name="http"),
        asyncio.create_task(_refresh_view(inst, stop), name="refresh"),
        asyncio.create_task(app.state.provider.run_background(stop), name="oidc"),
        asyncio.create_task(run_scheduler(inst, stop), name="external-sync"),
    ]
    if ldap is not None:
        tasks.append(asyncio.create_task(ldap.watch(stop), name="ldap"))
    log.info("listening", http=config.http_addr, public_url=config.public_url)
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    log.info("shutting down")
    server.stop()  # type: ignore[no-untyped-call]
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    if ldap is not None:
        await ldap.stop()
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
