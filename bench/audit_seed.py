"""Seed a sheet with many events through the one write path, for the auditor's benchmarks.

    DATABASE_URL=... python bench/audit_seed.py NAME EVENTS

Each edit pastes a 40 x 25 block (1,000 changes) at a random place, by one
of three users in turn; run it again to grow the same sheet.
"""

from __future__ import annotations

import os
import sys

import django

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from bench.seed import COLS, ROWS, seed_events  # noqa: E402
from sheets.models import Role, Sheet  # noqa: E402
from sheets.services import create_sheet, grant  # noqa: E402


def main(name: str, events: int) -> None:
    User = get_user_model()
    users = []
    for username in ("auditor-ann", "auditor-ben", "auditor-cat"):
        user, _ = User.objects.get_or_create(username=username)
        users.append(user)
    sheet = Sheet.objects.filter(name=name).first() or create_sheet(name=name, rows=ROWS, cols=COLS)
    for user in users:
        grant(sheet=sheet, username=user.username, role=Role.EDITOR)
    rate = seed_events(sheet=sheet, users=users, events=events, seed=sheet.head, report_every=50_000)
    print(f"{events:,} events, {rate:,.0f}/s", flush=True)
    sheet.refresh_from_db()
    print(f"sheet {name}: head {sheet.head}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
