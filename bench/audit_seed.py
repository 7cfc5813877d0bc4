"""Seed a sheet with many events through the one write path, for the auditor's benchmarks.

    DATABASE_URL=... python bench/audit_seed.py NAME EVENTS

Each edit pastes a 40 x 25 block (1,000 changes) at a random place, by one
of three users in turn; run it again to grow the same sheet.
"""

from __future__ import annotations

import os
import random
import sys
import time
import uuid

import django

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from sheets.models import Role, Sheet  # noqa: E402
from sheets.services import create_sheet, grant  # noqa: E402
from sheets.writes.edits import Change, append_edit  # noqa: E402

ROWS, COLS, BLOCK_ROWS, BLOCK_COLS = 1000, 26, 40, 25


def main(name: str, events: int) -> None:
    User = get_user_model()
    users = []
    for username in ("auditor-ann", "auditor-ben", "auditor-cat"):
        user, _ = User.objects.get_or_create(username=username)
        users.append(user)
    sheet = Sheet.objects.filter(name=name).first() or create_sheet(name=name, rows=ROWS, cols=COLS)
    for user in users:
        grant(sheet=sheet, username=user.username, role=Role.EDITOR)
    rng = random.Random(sheet.head)
    started, done = time.monotonic(), 0
    while done < events:
        top, left = rng.randrange(ROWS - BLOCK_ROWS), rng.randrange(COLS - BLOCK_COLS + 1)
        changes = [
            Change(row=top + r, col=left + c, value=f"{rng.randrange(10**6)}")
            for r in range(BLOCK_ROWS) for c in range(BLOCK_COLS)
        ][: events - done]
        append_edit(sheet_id=sheet.pk, user=users[(done // 1000) % 3], client_event_id=uuid.uuid4(), changes=changes)
        done += len(changes)
        if done % 50_000 == 0:
            print(f"{done:,} events, {done / (time.monotonic() - started):,.0f}/s", flush=True)
    sheet.refresh_from_db()
    print(f"sheet {name}: head {sheet.head}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
