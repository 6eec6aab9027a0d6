"""Spreading HTTP connections evenly over `keyhall serve`'s worker processes.

Every worker accepts on the one listening socket, and the kernel wakes them all for each new
connection: whichever gets there first takes it. With many short connections that evens out;
with a few long keep-alive ones (a reverse proxy's pool, a busy relying party) one worker can
end up with most of them and one core's worth of work while another core idles. So each
worker publishes how many connections it holds in a small table every worker maps, and one
that holds more than the least loaded leaves the next connection to the others, for a few
milliseconds at most: a stuck or busy neighbour never stops it from accepting for long.

The table is a memfd made by the parent and handed to each child as a descriptor; a slot is
one worker's count, written only by that worker. Reads of the others' slots may be a moment
old, which only makes a worker accept one connection more or less than its share.
"""

from __future__ import annotations

import asyncio
import mmap
import os
import time

SLOT = 4
MAX_DEFERRAL = 0.05
"""Seconds a loaded worker leaves new connections to the others before accepting anyway."""
POLL = 0.002


def create_table(workers: int) -> int:
    """A table for `workers` counts; the descriptor is what children get (pass_fds)."""
    fd = os.memfd_create("keyhall-http-connections", 0)
    os.ftruncate(fd, SLOT * workers)
    return fd


class ConnectionTable:
    """This worker's view of the table: its own slot to write, everyone's to read."""

    def __init__(self, fd: int, slot: int) -> None:
        size = os.fstat(fd).st_size
        self._map = mmap.mmap(fd, size)
        self._counts = memoryview(self._map).cast("i")
        self.slot = slot
        self._counts[slot] = 0

    @property
    def mine(self) -> int:
        return int(self._counts[self.slot])

    def set(self, count: int) -> None:
        self._counts[self.slot] = count

    def least(self) -> int:
        return int(min(self._counts))

    async def my_turn(self) -> None:
        """Return when this worker holds no more connections than the least loaded one, or
        after MAX_DEFERRAL."""
        deadline = time.monotonic() + MAX_DEFERRAL
        # Other processes' counts: nothing to wait on but the table itself.
        while self.mine > self.least() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(POLL)
