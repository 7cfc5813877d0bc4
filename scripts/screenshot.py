"""Take docs/screenshot.png: the demo sheet in the grid, with a row just inserted and the row menu open.

    .venv/bin/python scripts/screenshot.py [OUT.png]

Runs a throwaway demo (SQLite and the in-memory channel layer in a temporary
folder, as `make run` does), fills a small budget through the write path,
starts daphne, and drives Chromium as alice while bob's edits arrive.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

BASE = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BUDGET = [
    ["Item", "Q1", "Q2", "Q3", "Q4", "Owner"],
    ["Rent", "3000", "3000", "3100", "3100", "alice"],
    ["Salaries", "42000", "42000", "45500", "45500", "bob"],
    ["Cloud", "1800", "2100", "2350", "2600", "bob"],
    ["Travel", "900", "400", "1200", "700", "carol"],
    ["Equipment", "2500", "0", "600", "0", "alice"],
    ["Total", "50200", "49000", "54250", "51900", ""],
]


def main(out: Path) -> None:
    sys.path.insert(0, str(BASE))
    work = Path(tempfile.mkdtemp(prefix="ledgersheet-shot-"))
    env = {"DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}", "REDIS_URL": "", "SECRET_KEY": "screenshot",
           "LEDGERSHEET_VAR_DIR": str(work), "DEBUG": "1"}
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
    manage = [sys.executable, str(BASE / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], check=True, env={**os.environ})
    subprocess.run([*manage, "setup_demo"], check=True, env={**os.environ}, stdout=subprocess.DEVNULL)

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from playwright.sync_api import sync_playwright

    from ledger.hashing import ROWS_INSERTED
    from proj.testing.servers import DaphneServer, login, process_env
    from sheets.selectors import get_sheet
    from sheets.writes.edits import Change, EditRequest, append_edits
    from sheets.writes.structure import StructureRequest

    users = {user.username: user for user in get_user_model().objects.filter(username__in=["alice", "bob"])}
    sheet = get_sheet(name="demo")
    changes = [Change(row=r, col=c, value=v) for r, line in enumerate(BUDGET) for c, v in enumerate(line)]
    append_edits(sheet_id=sheet.pk, requests=[
        EditRequest(user=users["alice"], client_event_id=uuid.uuid4(), changes=changes),
        StructureRequest(user=users["bob"], client_event_id=uuid.uuid4(), type=ROWS_INSERTED, ids=("training",),
                         after="r4"),
        EditRequest(user=users["bob"], client_event_id=uuid.uuid4(), changes=[
            Change(row_id="training", col_id=f"c{c}", value=v)
            for c, v in enumerate(["Training", "0", "1500", "1500", "0", "bob"])
        ]),
    ])

    server = DaphneServer(name="screenshot", log_path=work / "daphne.log", env=process_env(
        database_url=env["DATABASE_URL"], redis_url="", secret_key="screenshot", var_dir=work))
    server.start()
    try:
        sessionid = login(server.base_url, "alice", "ledgersheet-demo")
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1200, "height": 640}, device_scale_factor=1)
            context.add_cookies([{"name": "sessionid", "value": sessionid, "url": server.base_url}])
            page = context.new_page()
            page.goto(server.url("/sheets/demo/"))
            page.wait_for_function("window.ledgersheet && window.ledgersheet.status === 'live'")
            page.evaluate("window.ledgersheet.select(3, 0)")
            page.locator("#grid .ls-row-3 > .slick-cell.l1").click(button="right")
            page.wait_for_timeout(300)  # the menu's opening transition, for the picture only
            page.screenshot(path=str(out))
            browser.close()
    finally:
        server.stop()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else BASE / "docs" / "screenshot.png")
