"""Writer processes for the races of test_concurrency*.py: each a tests/ledger/concurrent_writer.py of its own.

start_writers starts one per plan, release_together lets them go at once
when all are connected and waiting, and only_on runs a race on one backend
of the suite's two runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from proj.testing.servers import database_url, wait_until
from sheets.models import Role, Sheet
from sheets.services import grant
from tests.conftest import unique

BASE_DIR = Path(__file__).resolve().parents[2]
WRITERS = 4
VALUES = ["", "1", "-2.5", "=SUM(A1:A3)", "é€😀", "x" * 300]


# One writer's operations, in the order it sends them.
Plan = list[dict[str, Any]]


def start_writers(plans: list[Plan], workdir: Path) -> list[tuple[subprocess.Popen[bytes], Path]]:
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="proj.settings",
        DATABASE_URL=database_url(connection.settings_dict),
        REDIS_URL="",  # broadcasting is not under test here
        SECRET_KEY=settings.SECRET_KEY,
        LEDGERSHEET_VAR_DIR=str(settings.VAR_DIR),
    )
    writers = []
    for index, edits in enumerate(plans):
        plan = {
            "ready": str(workdir / f"ready-{index}"),
            "start": str(workdir / "start"),
            "output": str(workdir / f"output-{index}.jsonl"),
            "edits": edits,
        }
        plan_path = workdir / f"plan-{index}.json"
        plan_path.write_text(json.dumps(plan), encoding="utf-8")
        log = workdir / f"writer-{index}.log"
        with open(log, "wb") as stream:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.ledger.concurrent_writer", str(plan_path)],
                cwd=BASE_DIR,
                env=env,
                stdout=stream,
                stderr=subprocess.STDOUT,
            )
        writers.append((process, log))
    return writers


def release_together(writers: list[tuple[subprocess.Popen[bytes], Path]], workdir: Path, timeout: float = 90) -> None:
    """Wait until every writer is connected and waiting, then let them all go at once."""
    def all_ready() -> bool:
        for process, log in writers:
            assert process.poll() is None, f"a writer exited before the start:\n{log.read_text()}"
        return all((workdir / f"ready-{index}").exists() for index in range(len(writers)))

    wait_until(all_ready, timeout=timeout, what="every writer is connected and waiting", interval=0.01)
    (workdir / "start").touch()


def run_writers(plans: list[Plan], workdir: Path, *, seed: int) -> None:
    """Start a writer process per plan, release them together and wait for every one to finish well."""
    writers = start_writers(plans, workdir)
    try:
        release_together(writers, workdir)
        for process, log in writers:
            assert process.wait(timeout=180) == 0, f"seed {seed}: a writer failed:\n{log.read_text()}"
    finally:
        for process, _ in writers:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


# The backends each race runs on, as a test parameter: once per backend of the suite's two runs.
BACKENDS = [pytest.param("postgresql", marks=pytest.mark.postgres, id="postgresql"), pytest.param("sqlite", id="sqlite")]


def make_editors(prefix: str, sheets: Sequence[Sheet]) -> list[Any]:
    """WRITERS new users, each an editor of every one of the sheets."""
    User = get_user_model()
    users = [User.objects.create(username=unique(prefix)) for _ in range(WRITERS)]
    for sheet in sheets:
        for user in users:
            grant(sheet=sheet, username=user.username, role=Role.EDITOR)
    return users


def only_on(vendor: str) -> None:
    """Skip unless the test database is ``vendor``: each race runs once per backend of the suite's two runs."""
    if connection.vendor != vendor:
        pytest.skip("needs DATABASE_URL to name PostgreSQL" if vendor == "postgresql"
                    else "needs the default SQLite database (DATABASE_URL empty)")
