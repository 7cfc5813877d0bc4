"""One writer process of tests/ledger/test_concurrency.py.

Run as ``python -m tests.ledger.concurrent_writer PLAN.json`` with
DATABASE_URL pointing at the test database. It sets Django up, opens its
connection, reports ready, waits for the start file so that every writer
begins at once, then sends each planned edit through ``append_edit`` and
writes one JSON line per edit to the plan's output file (its outcome, when
it was sent and when it was answered).

A plan is ``{"ready": path, "start": path, "output": path, "edits": [
{"sheet_id", "user_id", "client_event_id", "changes": [[row, col, value,
base_seq], ...]}, ...]}``.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

START_TIMEOUT = 60.0


def _wait_for(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {timeout}s")
        time.sleep(0.001)


def run(plan: dict[str, Any]) -> None:
    """Connect, report ready, wait for the start, then append every planned edit and record the outcomes."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
    django.setup()

    from django.contrib.auth import get_user_model
    from django.db import connection

    from sheets.exceptions import Conflict
    from sheets.writes.edits import Change, append_edit

    users = {user.pk: user for user in get_user_model().objects.filter(pk__in={e["user_id"] for e in plan["edits"]})}
    connection.ensure_connection()
    Path(plan["ready"]).touch()
    _wait_for(Path(plan["start"]), START_TIMEOUT)

    with open(plan["output"], "w", encoding="utf-8") as output:
        for planned in plan["edits"]:
            changes = [Change(row=r, col=c, value=value, base_seq=base) for r, c, value, base in planned["changes"]]
            # Wall-clock times, comparable across processes: they show that
            # the writers contended.
            outcome: dict[str, Any] = {"client_event_id": planned["client_event_id"], "sent": time.time()}
            try:
                result = append_edit(
                    sheet_id=planned["sheet_id"],
                    user=users[planned["user_id"]],
                    client_event_id=uuid.UUID(planned["client_event_id"]),
                    changes=changes,
                )
            except Conflict:
                outcome["conflict"] = True
            else:
                outcome.update(seqs=result.seqs, duplicate=result.duplicate)
            outcome["answered"] = time.time()
            output.write(json.dumps(outcome) + "\n")


if __name__ == "__main__":
    run(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")))
