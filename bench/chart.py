"""Draw the chart of docs/benchmarks.md from the JSON last lines of full fanout and append runs.

    python -m bench.chart FANOUT_OUTPUT APPEND_OUTPUT -o docs/benchmarks.png

Each input is a file holding a bench run's output; only its last line is read.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def last_json(path: Path) -> dict[str, Any]:
    figures: dict[str, Any] = json.loads(path.read_text().strip().splitlines()[-1])
    return figures


def draw(fanout: dict[str, Any], append: dict[str, Any], out: Path) -> None:
    """Plot fanout latency against subscribers and acked edits/s against writers."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    counts = sorted(fanout["by_subscribers"], key=int)
    xs = [int(n) for n in counts]
    for key, label, style, color in (("p50_ms", "ours p50", "o-", "C0"), ("p99_ms", "ours p99", "o--", "C0"),
                                     ("baseline_p50_ms", "baseline p50", "s-", "C1"),
                                     ("baseline_p99_ms", "baseline p99", "s--", "C1")):
        left.plot(xs, [fanout["by_subscribers"][n][key] for n in counts], style, label=label, color=color)
    left.set(xlabel="subscribers", ylabel="send to receipt (ms)", yscale="log",
             title=f"fanout, one writer at {fanout['rate_per_s']:.0f} edits/s")
    left.legend()
    left.grid(True, alpha=0.3)

    by_config = append["edits_per_s_by_config"]
    raw = append["raw_commits_per_s_by_connections"]
    writers = [1, 4, 16]
    right.plot(writers, [by_config[f"{w}w/1s"] for w in writers], "o-", label="ours, one sheet")
    right.plot([4, 16], [by_config["4w/4s"], by_config["16w/16s"]], "o--", label="ours, one sheet per writer")
    right.plot(writers, [raw[str(w)] for w in writers], "s-", label="raw INSERT+COMMIT (psycopg)")
    base = append.get("baseline_relay_per_s", {})
    if base:
        right.plot([1, 16], [base["1w/1s"], base["16w/16s"]], "^:", label="baseline relay round trips")
    right.set(xlabel="concurrent writers", ylabel="per second", yscale="log", xscale="log",
              title="append: acked single-cell edits")
    right.set_xticks(writers, [str(w) for w in writers])
    right.legend()
    right.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fanout", type=Path)
    parser.add_argument("append", type=Path)
    parser.add_argument("-o", "--out", type=Path, default=Path("docs/benchmarks.png"))
    args = parser.parse_args()
    draw(last_json(args.fanout), last_json(args.append), args.out)
    print(args.out)


if __name__ == "__main__":
    main()
