"""Run one benchmark: ``python -m bench <name> [--quick]``.

Each run creates its own PostgreSQL database and Redis DB, starts its own
daphne processes, prints a table, and prints one JSON object of figures as
its last line.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time

BENCHES = {
    "fanout": "bench.fanout",
    "append": "bench.append",
    "roundtrip": "bench.roundtrip",
    "paste": "bench.paste",
    "catchup": "bench.catchup",
    "connections": "bench.connections",
    "rebuild": "bench.rebuild",
    "structure": "bench.structure",
    "transfer": "bench.transfer",
    "grid": "bench.grid",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(BENCHES))
    parser.add_argument("--quick", action="store_true", help="a smaller run that finishes in under 60 seconds")
    args = parser.parse_args(argv)
    from bench.env import bench_env, describe

    started = time.monotonic()
    with bench_env() as env:
        # Imported once Django is set up: the modules import models.
        module = importlib.import_module(BENCHES[args.name])
        figures = module.run(env, quick=args.quick)
    print(f"\n{args.name}{' --quick' if args.quick else ''}: {time.monotonic() - started:.1f} s in all", flush=True)
    print(json.dumps({"bench": args.name, "quick": args.quick, **describe(), **figures}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
