"""CPU time by process over a bench's window, read from /proc: where the cores of a CPU-bound figure go.

A throughput that stops growing is bound by something; on a machine whose
cores are all busy it is their CPU time, and the question is whose. This
adds up user + system time of the processes in play: each server the
bench started (by name), PostgreSQL's backends, Redis, the bench itself,
and the rest of the machine. Linux only, like the machines the benches
run on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from proj.testing.servers import DaphneServer

_TICKS = os.sysconf("SC_CLK_TCK")


def _group(pid: int, command: str, servers: dict[int, str]) -> str:
    if pid in servers:
        return servers[pid]
    if pid == os.getpid():
        return "bench"
    if command.startswith("postgres"):
        return "postgres"
    if command.startswith("redis"):
        return "redis"
    return "other"


def cpu_seconds(servers: dict[int, str]) -> dict[str, float]:
    """User + system seconds so far of every process, summed by group (servers by the name given)."""
    totals: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it exited meanwhile
            continue
        # The command is in parentheses and may hold spaces; the fields follow it.
        command = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        utime, stime = int(fields[11]), int(fields[12])
        group = _group(int(entry.name), command, servers)
        totals[group] = totals.get(group, 0.0) + (utime + stime) / _TICKS
    return totals


@dataclass
class CpuWindow:
    """The CPU seconds each group used between entering and leaving ``measure()``, and the wall time."""

    used: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def cores(self) -> dict[str, float]:
        """How many cores each group kept busy on average."""
        return {group: used / self.seconds for group, used in self.used.items()}

    def ms_per(self, operations: float) -> dict[str, float]:
        """Each group's CPU milliseconds per operation, for ``operations`` done in the window."""
        return {group: used * 1000 / operations for group, used in self.used.items()}


@contextmanager
def measure(servers: list[DaphneServer]) -> Iterator[CpuWindow]:
    """Measure the CPU of ``servers`` (by their names) and of the rest of the machine over the block."""
    named = {server.pid: server.name for server in servers if server.pid is not None}
    window = CpuWindow()
    before, started = cpu_seconds(named), time.perf_counter()
    yield window
    after, window.seconds = cpu_seconds(named), time.perf_counter() - started
    # A process that started during the window counts in full; one that exited, not at all.
    window.used = {group: spent - before.get(group, 0.0) for group, spent in after.items()
                   if spent > before.get(group, 0.0)}
