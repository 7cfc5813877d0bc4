"""bench.cpu adds up the CPU time of the machine's processes by group, over a window."""

import os
import time

import pytest

from bench.cpu import cpu_seconds, measure


def _spin(cpu_seconds_wanted: float) -> None:
    """Keep this process's CPU busy until it has used ``cpu_seconds_wanted`` of it."""
    until = time.process_time() + cpu_seconds_wanted
    while time.process_time() < until:
        pass


def test_the_window_counts_the_cpu_this_process_used_in_it_as_the_bench() -> None:
    with measure([]) as window:
        _spin(0.3)
    # /proc counts in ticks of 10 ms
    assert 0.27 <= window.used["bench"] <= 0.45
    assert window.seconds >= 0.3
    assert window.cores()["bench"] == window.used["bench"] / window.seconds
    assert window.ms_per(100)["bench"] == pytest.approx(window.used["bench"] * 10)


def test_processes_are_grouped_by_the_name_given_for_their_pid() -> None:
    totals = cpu_seconds({os.getpid(): "ours"})
    assert "bench" not in totals
    assert totals["ours"] > 0
