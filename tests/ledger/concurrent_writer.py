"""One writer process of tests/ledger/test_concurrency.py and test_concurrency_structure.py.

Run as ``python -m tests.ledger.concurrent_writer PLAN.json`` with
DATABASE_URL pointing at the test database. It sets Django up, opens its
connection, reports ready, waits for the start file so that every writer
begins at once, then sends each planned operation through ``append_one``
(the one write path; ``append_edit`` is that for an edit) and writes one JSON
line per operation to the plan's output file (its outcome, when it was sent
and when it was answered).

A plan is ``{"ready": path, "start": path, "output": path, "edits": [...]}``
and each of its operations, sent in order, is one of

- an edit: ``{"sheet_id", "user_id", "client_event_id", "changes": [...]}``
  where a change is ``[row, col, value, base_seq]`` (a cell by position) or
  ``{"row_id", "col_id", "value", "base_seq"?}`` (a cell by id);
- a structure operation: ``{"sheet_id", "user_id", "client_event_id",
  "structure": TYPE, "ids": [...], "after": id or null}`` with TYPE one of
  ledger.hashing's ROWS_INSERTED, ROWS_DELETED, COLUMNS_INSERTED,
  COLUMNS_DELETED (``after`` only for the inserts);
- ``{"batch": [operation, ...]}``: several of those (of one sheet) in one
  ``append_edits`` call, one transaction, as the group commit sends them.

An outcome line (one per operation, a batch's sharing its times) is
``{"client_event_id", "sent", "answered"}`` plus
``"seqs"`` and ``"duplicate"`` when it was appended (or answered as a
retry), ``"conflict": true`` for a conflict, or ``"error": code`` and the
error's own fields (``row_ids``, ``col_ids``, ``ids``) for any other refusal.
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
    """Wait until ``path`` exists (the parent touches it to start every writer), failing after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {timeout}s")
        # The poll's interval, short so that the writers leave within a millisecond of the
        # touch; a file has nothing to await, and the deadline above bounds the wait.
        time.sleep(0.001)


def run(plan: dict[str, Any]) -> None:
    """Connect, report ready, wait for the start, then append every planned edit and record the outcomes."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
    django.setup()

    from django.contrib.auth import get_user_model
    from django.db import connection

    from sheets.exceptions import Conflict, EditRejected
    from sheets.writes.edits import Change, EditRequest, Request, append_edits, append_one
    from sheets.writes.structure import StructureRequest

    def change_of(planned: list[Any] | dict[str, Any]) -> Change:
        if isinstance(planned, dict):
            return Change(row_id=planned["row_id"], col_id=planned["col_id"], value=planned["value"],
                          base_seq=planned.get("base_seq"))
        row, col, value, base = planned
        return Change(row=row, col=col, value=value, base_seq=base)

    def request_of(planned: dict[str, Any]) -> Request:
        user, client_event_id = users[planned["user_id"]], uuid.UUID(planned["client_event_id"])
        if "structure" in planned:
            return StructureRequest(user=user, client_event_id=client_event_id, type=planned["structure"],
                                    ids=tuple(planned["ids"]), after=planned.get("after"))
        return EditRequest(user=user, client_event_id=client_event_id,
                           changes=[change_of(change) for change in planned["changes"]])

    operations = [one for planned in plan["edits"] for one in planned.get("batch", [planned])]
    users = {user.pk: user for user in get_user_model().objects.filter(pk__in={e["user_id"] for e in operations})}
    connection.ensure_connection()
    Path(plan["ready"]).touch()
    _wait_for(Path(plan["start"]), START_TIMEOUT)

    with open(plan["output"], "w", encoding="utf-8") as output:
        for planned in plan["edits"]:
            group = planned["batch"] if "batch" in planned else [planned]
            requests = [request_of(one) for one in group]
            # Wall-clock times, comparable across processes: they show that
            # the writers contended, and order one writer's answer before
            # another's sending.
            sent = time.time()
            if len(requests) == 1:
                try:
                    results: list[Any] = [append_one(sheet_id=planned["sheet_id"], request=requests[0])]
                except EditRejected as exc:
                    results = [exc]
            else:
                # One transaction of several operations, each judged after the ones before it, as group commit does.
                results = list(append_edits(sheet_id=group[0]["sheet_id"], requests=requests))
            answered = time.time()
            for one, result in zip(group, results, strict=True):
                outcome: dict[str, Any] = {"client_event_id": one["client_event_id"], "sent": sent}
                if isinstance(result, Conflict):
                    outcome["conflict"] = True
                elif isinstance(result, EditRejected):
                    outcome.update(result.details, error=result.code)
                else:
                    outcome.update(seqs=result.seqs, duplicate=result.duplicate)
                outcome["answered"] = answered
                output.write(json.dumps(outcome) + "\n")


if __name__ == "__main__":
    run(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")))
