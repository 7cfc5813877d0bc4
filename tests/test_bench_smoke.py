"""The benchmarks run end to end in --quick mode and end with their JSON figures (no timing checked)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent

# Every bench of issue 5, with the figures it names.
EXPECTED_KEYS = {
    "fanout": {"p50_ms", "p99_ms", "baseline_p50_ms", "baseline_p99_ms", "ratio_p99"},
    "append": {"edits_per_s", "raw_commits_per_s", "ratio"},
    "roundtrip": {"round_trip_ms", "relay_round_trip_ms", "ratio", "server_append_ms", "in_process_append_ms"},
    "paste": {"ack_ms", "delivered_ms"},
    "catchup": {"events_per_s", "raw_events_per_s", "ratio", "snapshot_ms"},
    "connections": {"kib_per_connection", "fanout_all_ms"},
    "rebuild": {"rebuild_s", "raw_s", "ratio"},
    "structure": {"create_s", "create_events", "insert_ms", "delete_ms", "ws_insert_ms", "ws_delete_ms",
                  "mix_events_ratio", "mix_edits_ratio", "edit_fresh_ms", "edit_restructured_ms", "edit_ratio"},
    "transfer": {"cells", "import_s", "raw_import_s", "export_csv_s", "export_xlsx_s", "raw_export_s", "export_csv_mib"},
    "grid": {"load_small_s", "load_big_s", "ratio", "scroll_s", "heap_mib", "typing_ms"},
}
# Figures that are tables: the bench's key, and the entries each of its rows must have.
EXPECTED_TABLES = {
    "append": ("cpu_ms_per_edit", {"ours 1w/1s", "relay 1w/1s", "ours 16w/16s", "relay 16w/16s"}),
    "roundtrip": ("floor_ms", {"one_round_trip_each_ms", "pipelined_ms", "insert_commit_ms"}),
}


@pytest.mark.live
@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", sorted(EXPECTED_KEYS))
def test_a_quick_bench_completes_and_prints_its_figures_as_the_last_line(name: str) -> None:
    env = dict(os.environ)
    # The bench drops and flushes what it uses: never the test run's own
    # database or Redis DB.
    env.setdefault("BENCH_DATABASE", "ledgersheet_bench_smoke")
    env.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    result = subprocess.run(
        [sys.executable, "-m", "bench", name, "--quick"], cwd=BASE_DIR, env=env, capture_output=True, text=True,
        timeout=200,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-5000:]}"
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["bench"] == name and figures["quick"] is True
    assert EXPECTED_KEYS[name] <= figures.keys(), f"missing {EXPECTED_KEYS[name] - figures.keys()}"
    assert all(isinstance(figures[key], (int, float)) for key in EXPECTED_KEYS[name])
    if name in EXPECTED_TABLES:
        key, entries = EXPECTED_TABLES[name]
        assert entries <= figures[key].keys(), f"{key} lacks {entries - figures[key].keys()}"
        values = [figures[key][entry] for entry in entries]
        if name == "append":  # each row is where one run's CPU went: its server used some
            values = [row["server"] for row in values]
        assert all(isinstance(value, (int, float)) and value > 0 for value in values), figures[key]
