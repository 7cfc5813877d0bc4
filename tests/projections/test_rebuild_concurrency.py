"""Rebuilds while another process appends: every rebuild and every snapshot still agrees with the ledger.

The writer is a separate process (tests/ledger/concurrent_writer.py) with its
own connection, so the sheet row lock is exercised across real connections.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import override_settings

from ledger.models import Event
from proj.testing.servers import database_url, wait_until
from projections.fold import fold, non_empty
from projections.rebuild import CheckReport, check_sheet, rebuild_sheet
from projections.selectors import cells_at
from sheets.models import Role, Sheet
from sheets.services import create_sheet, grant
from tests.conftest import unique

BASE_DIR = Path(__file__).resolve().parents[2]
EDITS, ROWS, COLS = 300, 6, 4


def _start_writer(sheet_id: int, user_id: int, workdir: Path) -> subprocess.Popen[bytes]:
    edits = [
        {
            "sheet_id": sheet_id,
            "user_id": user_id,
            "client_event_id": str(uuid.uuid4()),
            "changes": [[(i + k) % ROWS, (i * 3 + k) % COLS, "" if i % 7 == 0 else f"v{i}.{k}", None] for k in range(3)],
        }
        for i in range(EDITS)
    ]
    plan = {"ready": str(workdir / "ready"), "start": str(workdir / "start"), "output": str(workdir / "out.jsonl"),
            "edits": edits}
    (workdir / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="proj.settings", DATABASE_URL=database_url(connection.settings_dict),
               REDIS_URL="", SECRET_KEY=settings.SECRET_KEY, LEDGERSHEET_VAR_DIR=str(settings.VAR_DIR))
    with open(workdir / "writer.log", "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "tests.ledger.concurrent_writer", str(workdir / "plan.json")],
                                cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_ready(writer: subprocess.Popen[bytes], workdir: Path, timeout: float = 60) -> None:
    def ready() -> bool:
        assert writer.poll() is None, (workdir / "writer.log").read_text()
        return (workdir / "ready").exists()

    wait_until(ready, timeout=timeout, what="the writer is connected and waiting", interval=0.01)


def _rebuild_while_appending(workdir: Path) -> tuple[Sheet, list[int], CheckReport]:
    """Rebuild a sheet over and over while a writer process appends to it; return it, the rebuilt heads and a check."""
    user = get_user_model().objects.create(username=unique("writer-"))
    sheet = create_sheet(name=unique("rebuilt-"), rows=ROWS, cols=COLS)
    grant(sheet=sheet, username=user.username, role=Role.EDITOR)
    workdir.mkdir()
    writer = _start_writer(sheet.pk, user.pk, workdir)
    heads = []
    try:
        _wait_ready(writer, workdir)
        (workdir / "start").touch()
        with override_settings(SHEETS_SNAPSHOT_EVERY=5):
            rounds = 0
            while writer.poll() is None:
                # Both kinds of rebuild, and time travel storing snapshots
                # of its own, all while seqs are being handed out.
                report = rebuild_sheet(stream_id=sheet.stream_id, snapshots=rounds % 2 == 1)
                heads.append(report.head)
                cells_at(stream_id=sheet.stream_id, seq=report.head)
                rounds += 1
            assert writer.wait(timeout=120) == 0, (workdir / "writer.log").read_text()
            return sheet, heads, check_sheet(stream_id=sheet.stream_id)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait(timeout=10)


def test_rebuilds_and_time_travel_during_appends_leave_a_projection_that_checks_clean(committed_db, tmp_path):
    # Whether a rebuild lands between two appends is up to the schedulers
    # (SQLite's writer lock may let the writer append all of its edits in
    # one stretch): a run in which none did proved nothing, so run again.
    for attempt in range(3):
        sheet, heads, final = _rebuild_while_appending(tmp_path / f"attempt-{attempt}")
        # Appends after each rebuild updated the cells inline; every snapshot,
        # whoever stored it, is the fold of the ledger up to its seq.
        assert (final.head, final.cells, final.snapshots) == (EDITS * 3, [], [])
        if any(0 < head < EDITS * 3 for head in heads):
            break
    sheet.refresh_from_db()
    assert sheet.head == EDITS * 3
    assert any(0 < head < sheet.head for head in heads), f"no rebuild ran while the writer appended: {heads}"
    assert cells_at(stream_id=sheet.stream_id, seq=sheet.head) == non_empty(
        fold(Event.objects.filter(stream__sheet=sheet).order_by("seq"))
    )
