"""Per-IP throttling of failed binds: a growing delay, then `busy` (RFC 4511 §4.1.9, code 51).

Failures are remembered for a sliding window. The first few cost nothing (people mistype);
after that each bind from that address waits twice as long as the last, up to a ceiling, and
past a hard limit binds are refused outright with `busy` until old failures age out. A success
does not reset the count, so one known account can't be used to launder guesses at others.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

FREE_FAILURES = 5
BASE_DELAY = 0.25
MAX_DELAY = 4.0
BUSY_AFTER = 30
WINDOW = 300.0
MAX_TRACKED = 100_000


@dataclass(frozen=True, slots=True)
class Verdict:
    delay: float
    busy: bool


class BindThrottle:
    def __init__(
        self,
        *,
        free: int = FREE_FAILURES,
        busy_after: int = BUSY_AFTER,
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.busy_after = busy_after
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def verdict(self, ip: str) -> Verdict:
        count = self._count(ip)
        if count >= self.busy_after:
            return Verdict(0.0, True)
        if count < self.free:
            return Verdict(0.0, False)
        return Verdict(min(MAX_DELAY, BASE_DELAY * 2 ** (count - self.free)), False)

    def failed(self, ip: str) -> None:
        if len(self._failures) >= MAX_TRACKED and ip not in self._failures:
            self._prune()
        self._failures.setdefault(ip, deque()).append(self._clock())

    def _count(self, ip: str) -> int:
        times = self._failures.get(ip)
        if times is None:
            return 0
        horizon = self._clock() - self.window
        while times and times[0] < horizon:
            times.popleft()
        if not times:
            del self._failures[ip]
            return 0
        return len(times)

    def _prune(self) -> None:
        for ip in list(self._failures):
            self._count(ip)
        if len(self._failures) >= MAX_TRACKED:
            self._failures.clear()
