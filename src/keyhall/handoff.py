"""What `keyhall serve` hands to the processes it spawns (LDAP, HTTP workers) on their stdin.

One JSON line: the parent's configuration (so environment and keyhall.toml are read once) and
the instance secret (which never goes on a command line or into the environment).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from keyhall.config import Config
from keyhall.logs import configure_logging, get_logger


@dataclass(frozen=True, slots=True)
class Handoff:
    config: Config
    secret_key: bytes
    extra: dict[str, Any] = field(default_factory=dict)


def encode_handoff(config: Config, secret_key: bytes, **extra: Any) -> bytes:
    body = {"config": config.model_dump(mode="json"), "secret_key": secret_key.hex(), **extra}
    return json.dumps(body).encode() + b"\n"


def read_handoff(program: str) -> Handoff | None:
    """Read the parent's line and set up logging; None (with a hint) when run by hand."""
    data = json.loads(sys.stdin.buffer.readline() or b"null")
    if not isinstance(data, dict):
        print(f"{program} is started by `keyhall serve`", file=sys.stderr)
        return None
    config = Config.model_validate(data.pop("config"))
    secret_key = bytes.fromhex(data.pop("secret_key"))
    configure_logging(config.log_level, config.log_format)
    return Handoff(config, secret_key, data)


async def stop_child(proc: asyncio.subprocess.Process, what: str, grace: float) -> int | None:
    """SIGTERM a child still running, SIGKILL it if it hasn't exited within `grace` seconds,
    close its stdin; its exit status."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            get_logger("keyhall.serve").warning(f"{what} did not stop; killing it", pid=proc.pid)
            proc.kill()
            await proc.wait()
    if proc.stdin is not None:
        proc.stdin.close()
    return proc.returncode


class _ParentGone(asyncio.Protocol):
    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.stop.is_set():
            get_logger("keyhall.serve").warning("parent process gone; stopping")
            self.stop.set()


async def stop_when_parent_gone(stop: asyncio.Event) -> None:
    """In a child: set `stop` when stdin reaches end-of-file, the parent having closed it or
    died, so a child never outlives `keyhall serve`."""
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: _ParentGone(stop), sys.stdin)
