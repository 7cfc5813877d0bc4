"""Time the auditor's steps on a big sheet (seed it with bench/audit_seed.py first).

    DATABASE_URL=... python bench/audit_timings.py NAME

Runs in-process through Django's test client (views, queries and
rendering; no network), except verify/rebuild, which run the commands.
Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import io
import os
import resource
import sys
import time
from collections.abc import Callable
from datetime import timedelta

import django

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from ledger.hashing import format_timestamp  # noqa: E402
from ledger.models import Event  # noqa: E402
from projections.models import ProjectionSnapshot  # noqa: E402
from projections.selectors import diff_cells  # noqa: E402
from projections.services import cells_at_filling_cache  # noqa: E402
from sheets.models import Sheet  # noqa: E402

ROWS: list[tuple[str, float, str]] = []


def timed(label: str, action: Callable[[], str]) -> None:
    started = time.perf_counter()
    note = action()
    elapsed = time.perf_counter() - started
    ROWS.append((label, elapsed, note))
    print(f"{label}: {elapsed:.3f} s {note}", flush=True)


def main(name: str) -> None:
    sheet = Sheet.objects.get(name=name)
    auditor, _ = get_user_model().objects.get_or_create(username="bench-auditor", defaults={"is_superuser": True})
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(auditor)
    base = f"/sheets/{name}/history/"
    middle = Event.objects.get(stream__sheet=sheet, seq=sheet.head // 2)
    user = middle.broadcaster.username
    window = {
        "from": format_timestamp(middle.recorded_at),
        "to": format_timestamp(middle.recorded_at + timedelta(minutes=1)),
    }

    def get(params: dict[str, object]) -> str:
        response = client.get(base, params)
        assert response.status_code == 200, response.content[:300]
        shown = response.content.count(b'<td class="num">')
        return f"{shown} rows"

    timed("history page, newest 100", lambda: get({}))
    timed("history page, 100 below seq 500,000 (keyset)", lambda: get({"before": 500_000}))
    timed("history page, one user and a one-minute window", lambda: get({"user": user, **window}))
    timed("history page, one cell (B4)", lambda: get({"cell": "B4"}))

    def chart(params: dict[str, object]) -> str:
        response = client.get(base, {**params, "format": "chart"})
        assert response.status_code == 200
        return f"{response.content.count(b'<rect')} bars"

    timed("activity chart (own request), whole ledger", lambda: chart({}))
    timed("activity chart, one user and a one-minute window", lambda: chart({"user": user, **window}))

    def export(params: dict[str, object]) -> str:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        response = client.get(base, {**params, "format": "csv"})
        size = rows = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            rows += chunk.count(b"\r\n")
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        return f"{rows - 1:,} rows, {size / 2**20:,.0f} MiB, peak RSS grew {grown:,.0f} MiB"

    timed("CSV export, one user and a one-minute window", lambda: export({"user": user, **window}))
    timed("CSV export, the whole ledger", lambda: export({}))

    ProjectionSnapshot.objects.filter(stream__sheet=sheet).delete()
    far = sheet.head - 3_600

    def travel(seq: int) -> str:
        return f"{len(cells_at_filling_cache(stream_id=sheet.stream_id, seq=seq)):,} cells"

    def diff(from_seq: int, to_seq: int) -> str:
        return f"{len(diff_cells(stream_id=sheet.stream_id, from_seq=from_seq, to_seq=to_seq)):,} cells differ"

    timed(f"time travel to seq {far:,}, no snapshot yet", lambda: travel(far))
    timed(f"time travel to seq {far:,} again (from a snapshot)", lambda: travel(far))
    timed("time travel to seq 123,456 (after that first trip)", lambda: travel(123_456))
    timed("diff of 10,000 events", lambda: diff(far - 10_000, far))

    def command(*args: str) -> str:
        out = io.StringIO()
        call_command(*args, stdout=out)
        return out.getvalue().strip().splitlines()[-1]

    timed("verify_ledger", lambda: command("verify_ledger", name))
    timed("rebuild_projections --check", lambda: command("rebuild_projections", name, "--check"))
    timed("rebuild_projections", lambda: command("rebuild_projections", name))

    print()
    print(f"| step ({sheet.head:,} events) | time | |")
    print("|---|---:|---|")
    for label, elapsed, note in ROWS:
        print(f"| {label} | {elapsed:.2f} s | {note} |")


if __name__ == "__main__":
    main(sys.argv[1])
