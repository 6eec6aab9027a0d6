"""CPU time and memory of a server process and its children, read from Linux's /proc (proc(5))."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PROC = Path("/proc")


def _children(root: int) -> list[int]:
    """`root` and every live descendant (worker processes count toward the server's cost)."""
    parents: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (ppid) follows the parenthesised command name, which may hold spaces.
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, ()))
    return tree


def descendant(root: int, marker: str) -> int | None:
    """The first process under `root` whose command line contains `marker` (e.g. a module)."""
    for pid in _children(root)[1:]:
        try:
            cmdline = (_PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if marker.encode() in cmdline:
            return pid
    return None


def cpu_seconds(root: int) -> float:
    """User + system CPU of the process tree, including reaped children (cutime/cstime)."""
    total = 0
    for pid in _children(root):
        try:
            fields = (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the name: state is field 3, so utime..cstime (fields 14-17) sit at 11..14.
        total += sum(int(f) for f in fields[11:15])
    return total / _TICKS


@dataclass(frozen=True, slots=True)
class Memory:
    rss_mb: float
    """Resident set of the whole tree now."""
    peak_mb: float
    """High-water resident set (VmHWM), summed over the tree."""


def memory(root: int) -> Memory:
    rss = peak = 0
    for pid in _children(root):
        try:
            status = (_PROC / str(pid) / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1])
            elif line.startswith("VmHWM:"):
                peak += int(line.split()[1])
    return Memory(rss / 1024, peak / 1024)
