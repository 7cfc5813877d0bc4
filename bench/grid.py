"""grid: the grid page in Chromium (Playwright) against one daphne: time to live, Ctrl+End, heap, typing.

Sheets of 1,000, 100,000 and 1,000,000 rows x 26 columns (``--quick``: 1,000 and 20,000, one load each), one cell
in ten filled all over (row r, column c when (c + 3r) % 10 == 0), seeded once through append_edits (edits of
1,000 changes, ten per call), then ANALYZE; each is loaded 5 times in a new 1200 x 720 page of one logged-in
context (a first load warms the HTTP cache):

- load: navigation start → status live and row 0's first value drawn (the page's clock, checked at each DOM
  mutation and frame); split into the HTML, the cells API request, the socket, live and drawn, with Chrome's
  Performance.getMetrics. heap: V8's used heap after CDP HeapProfiler.collectGarbage (Runtime.getHeapUsage).
- scroll: select(0, 0), Ctrl+End; End's keydown → the last row held and its last value drawn.
- typing: two users in two contexts on the 1,000-row sheet (full run: and the 1,000,000-row one, mid-sheet); A
  types into a cell and presses Enter; A's Enter keydown → B's getCell() has it and B's grid draws it, on the
  pages' clocks (timeOrigin + now), median of 20; split at A's send, B's receipt and A's ack, beside the server's
  append histogram and the same edit from a Python protocol client.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bench.common import make_sheet, make_users, median, now_ms, open_ws, print_table, rounded
from bench.env import BenchEnv

COLS = 26
CHANGES_PER_EDIT, EDITS_PER_CALL = 1000, 10
CHROMIUM = os.environ.get("LEDGERSHEET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1200, "height": 720}
WAIT_MS = 60_000
WINDOW_ROWS = 2000  # static/sheets/windowed-model.js
TARGETS = {"ratio": 1.5, "load_1m_s": 1.5, "heap_mib": 100.0, "scroll_s": 0.5, "typing_ms": 18.0}


@dataclass(frozen=True)
class Plan:
    sizes: Sequence[int]
    loads: int
    typing_sizes: Sequence[int]
    keystrokes: int


FULL = Plan(sizes=(1_000, 100_000, 1_000_000), loads=5, typing_sizes=(1_000, 1_000_000), keystrokes=20)
QUICK = Plan(sizes=(1_000, 20_000), loads=1, typing_sizes=(1_000,), keystrokes=5)

# Installed in every page before its scripts: a keydown clock and until(check) → the page's time once check() holds.
PAGE_HELPERS = """
(() => {
  window.__bench = {
    keyAt: null,
    until(check, timeoutMs) {
      return new Promise((resolve, reject) => {
        let done = false;
        const observer = new MutationObserver(() => attempt());
        const timer = setTimeout(() => finish(null), timeoutMs);
        function finish(at) {
          done = true;
          observer.disconnect();
          clearTimeout(timer);
          if (at === null) reject(new Error(`condition not met in ${timeoutMs} ms`));
          else resolve(at);
        }
        function attempt() {
          if (done) return true;
          let ok = false;
          try { ok = check(); } catch (error) { ok = false; }
          if (ok) finish(performance.now());
          return ok;
        }
        const frame = () => { if (!attempt()) requestAnimationFrame(frame); };
        observer.observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
        frame();
      });
    },
    drawn(row, col, text) {
      const node = document.querySelector(`#grid .ls-row-${row} > .slick-cell.l${col + 1}`);
      return node !== null && !node.classList.contains("ls-loading") && node.textContent === text;
    },
    live: () => Boolean(window.ledgersheet) && ledgersheet.status === "live",
  };
  document.addEventListener("keydown", () => { __bench.keyAt = performance.now(); }, true);
  // When a frame of each type last went out or came in ("out:edit", "in:ack"), and the socket's creation and open.
  const marks = window.__benchMarks = {};
  const mark = (name) => { marks[name] = performance.now(); };
  const type = (data) => { try { return JSON.parse(data).type; } catch (error) { return "?"; } };
  window.WebSocket = class extends window.WebSocket {
    constructor(...args) {
      super(...args);
      mark("ws");
      this.addEventListener("open", () => mark("open"));
      this.addEventListener("message", (event) => mark(`in:${type(event.data)}`));
    }
    send(data) {
      mark(`out:${type(data)}`);
      return super.send(data);
    }
  };
})();
"""

# Started by an init script of the page that is timed: the first moments it is live, drawn, and both.
LOAD_WATCH = """
(() => {
  const [row, col, text] = %s;
  const marks = Object.assign(window.__benchMarks, { live: null, drawn: null });
  window.__benchLoaded = __bench.until(() => {
    const now = performance.now();
    if (marks.live === null && __bench.live()) marks.live = now;
    if (marks.drawn === null && __bench.drawn(row, col, text)) marks.drawn = now;
    return marks.live !== null && marks.drawn !== null;
  }, %d);
})();
"""

LOAD_SPLIT = """
() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const cells = performance.getEntriesByType("resource").filter((e) => e.name.includes("/cells/"));
  const first = cells[0];
  const mark = (name) => performance.getEntriesByName(`ledgersheet:${name}`)[0]?.startTime ?? NaN;
  return {
    html_ms: nav.responseEnd, dom_ms: nav.domContentLoadedEventEnd,
    cells_start_ms: first ? first.startTime : NaN, cells_end_ms: first ? first.responseEnd : NaN,
    cells_kib: cells.reduce((sum, e) => sum + e.encodedBodySize, 0) / 1024,
    script_run_ms: mark("script"), cells_read_ms: mark("cells"), grid_built_ms: mark("grid"),
    socket_ms: __benchMarks.ws, open_ms: __benchMarks.open, live_ms: __benchMarks.live, drawn_ms: __benchMarks.drawn,
    memory_mib: performance.memory.usedJSHeapSize / 2 ** 20,
  };
}
"""


def filled_cols(row: int) -> list[int]:
    return [col for col in range(COLS) if (col + 3 * row) % 10 == 0]


def value(row: int, col: int) -> str:
    return f"{row}.{col}"


def _progress(what: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {what}", file=sys.stderr, flush=True)


def _edits(user: Any, rows: int) -> Iterator[Any]:
    """The seed's edits, CHANGES_PER_EDIT changes each, by position, row by row."""
    from sheets.writes.edits import Change, EditRequest

    changes = []
    for row in range(rows):
        for col in filled_cols(row):
            changes.append(Change(row=row, col=col, value=value(row, col)))
            if len(changes) == CHANGES_PER_EDIT:
                yield EditRequest(user=user, client_event_id=uuid.uuid4(), changes=changes)
                changes = []
    if changes:
        yield EditRequest(user=user, client_event_id=uuid.uuid4(), changes=changes)


def seed(sheet: Any, user: Any, rows: int) -> tuple[int, float]:
    """Fill one cell in ten through append_edits, EDITS_PER_CALL edits a call; return (cells, seconds)."""
    from sheets.writes.edits import append_edits

    started, cells, batch = time.perf_counter(), 0, []
    for edit in _edits(user, rows):
        batch.append(edit)
        cells += len(edit.changes)
        if len(batch) == EDITS_PER_CALL:
            append_edits(sheet_id=sheet.pk, requests=batch)
            batch = []
        if cells % 500_000 == 0:
            _progress(f"seeded {cells:,} cells, {cells / (time.perf_counter() - started):,.0f}/s")
    if batch:
        append_edits(sheet_id=sheet.pk, requests=batch)
    return cells, time.perf_counter() - started


class Browser:
    """Chromium through Playwright's sync API: one context per user, pages on the daphne."""

    def __init__(self, base_url: str) -> None:
        from playwright.sync_api import sync_playwright

        self.base_url = base_url
        self._driver = sync_playwright().start()
        self.chromium = self._driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

    def context(self, sessionid: str) -> Any:
        context = self.chromium.new_context(viewport=VIEWPORT)
        context.add_cookies([{"name": "sessionid", "value": sessionid, "url": self.base_url}])
        return context

    def close(self) -> None:
        self.chromium.close()
        self._driver.stop()


def _new_page(context: Any, script: str = "") -> Any:
    """A page with the helpers (and ``script`` after them) run before any of its own scripts."""
    page = context.new_page()
    page.on("pageerror", lambda error: print(f"PAGEERROR {error}", file=sys.stderr))
    page.add_init_script(PAGE_HELPERS + script)
    return page


def _open(context: Any, url: str) -> Any:
    page = _new_page(context)
    page.goto(url)
    page.wait_for_function("__bench.live()", timeout=WAIT_MS)
    return page


def _metrics(cdp: Any) -> dict[str, float]:
    got = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {key: got.get(name, float("nan")) * 1000 for key, name in (
        ("script_ms", "ScriptDuration"), ("layout_ms", "LayoutDuration"),
        ("style_ms", "RecalcStyleDuration"), ("task_ms", "TaskDuration"))}


def load_once(context: Any, url: str, rows: int) -> dict[str, float]:
    """Open the sheet in a new page: time to live and drawn, the load's split, heap after GC, Ctrl+End."""
    first, last = (0, filled_cols(0)[0]), (rows - 1, filled_cols(rows - 1)[-1])
    page = _new_page(context, LOAD_WATCH % (json.dumps([*first, value(*first)]), WAIT_MS))
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.goto(url, wait_until="commit")
    load_ms = page.evaluate("window.__benchLoaded")
    figures: dict[str, float] = {"load_s": load_ms / 1000, **page.evaluate(LOAD_SPLIT)}
    figures.update(_metrics(cdp))
    cdp.send("HeapProfiler.collectGarbage")
    figures["heap_mib"] = cdp.send("Runtime.getHeapUsage")["usedSize"] / 2**20
    page.evaluate("ledgersheet.select(0, 0)")
    page.evaluate("""([row, col, text, wait]) => {
        __bench.keyAt = null;
        window.__benchScrolled = __bench.until(() => ledgersheet.isLoaded(row) && __bench.drawn(row, col, text), wait);
    }""", [*last, value(*last), WAIT_MS])
    page.keyboard.press("Control+End")
    done_ms, key_ms = page.evaluate("Promise.all([__benchScrolled, __bench.keyAt])")
    figures["scroll_s"] = (done_ms - key_ms) / 1000
    cdp.detach()
    page.close()
    return figures


def _appends(base_url: str) -> tuple[float, float]:
    """The server's ledgersheet_append_seconds histogram: (sum, count), edit received → committed."""
    with urllib.request.urlopen(base_url + "/metrics", timeout=10) as response:
        lines = response.read().decode().splitlines()
    got = {line.split()[0]: float(line.split()[1]) for line in lines if line.startswith("ledgersheet_append_seconds_")}
    return got.get("ledgersheet_append_seconds_sum", 0.0), got.get("ledgersheet_append_seconds_count", 0.0)


def typing(browser: Browser, url: str, sessions: Sequence[str], row: int, keystrokes: int) -> dict[str, float]:
    """A types into (row, 1) and presses Enter; B watches: A's Enter → B has and draws it, ms (the pages' clocks)."""
    contexts = [browser.context(s) for s in sessions]
    try:
        a, b = (_open(context, url) for context in contexts)
        col, latencies, walls = 1, [], []
        split: dict[str, list[float]] = {}
        b.evaluate("([row, col]) => ledgersheet.select(row, col)", [row, col])
        b.wait_for_function("row => ledgersheet.isLoaded(row)", arg=row, timeout=WAIT_MS)
        appends = _appends(browser.base_url)
        for i in range(keystrokes):
            text = f"typed {i}"
            a.evaluate("([row, col]) => ledgersheet.select(row, col)", [row, col])
            a.wait_for_function("row => ledgersheet.isLoaded(row)", arg=row, timeout=WAIT_MS)
            b.evaluate("""([row, col, text, wait]) => {
                window.__benchSeen = __bench.until(
                    () => ledgersheet.getCell(row, col) === text && __bench.drawn(row, col, text), wait);
            }""", [row, col, text, WAIT_MS])
            a.keyboard.type(text)
            started = time.perf_counter()
            a.keyboard.press("Enter")
            seen, received = b.evaluate(
                "__benchSeen.then((at) => [at, __benchMarks['in:events']].map((t) => performance.timeOrigin + t))")
            walls.append((time.perf_counter() - started) * 1000)
            a.wait_for_function("ledgersheet.pending === 0", timeout=WAIT_MS)
            enter, sent, acked = a.evaluate(
                "[__bench.keyAt, __benchMarks['out:edit'], __benchMarks['in:ack']].map((t) => performance.timeOrigin + t)")
            latencies.append(seen - enter)
            for key, ms in (("enter_send", sent - enter), ("send_receive", received - sent),
                            ("receive_drawn", seen - received), ("send_ack", acked - sent)):
                split.setdefault(key, []).append(ms)
        total, count = (after - before for after, before in zip(_appends(browser.base_url), appends, strict=True))
        return {"typing_ms": median(latencies), "typing_max_ms": max(latencies), "typing_wall_ms": median(walls),
                "server_append_ms": total / count * 1000 if count else float("nan"),
                **{f"{key}_ms": median(values) for key, values in split.items()}}
    finally:
        for context in contexts:
            context.close()


def _cells_ms(server: Any, name: str, sessionid: str, rows: int) -> tuple[float, float]:
    """One GET of the first and of the last window of rows, as the page asks for them, by the bench's clock, ms."""
    times = []
    for first in (0, (rows - 1) // WINDOW_ROWS * WINDOW_ROWS):
        request = urllib.request.Request(server.url(f"/api/sheets/{name}/cells/?row_from={first}&row_count={WINDOW_ROWS}"),
                                         headers={"Cookie": f"sessionid={sessionid}", "Accept": "application/json"})
        started = now_ms()
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
        times.append(now_ms() - started)
    return times[0], times[1]


async def _socket_typing(server: Any, sheet: str, sessions: Sequence[str], edits: int) -> dict[str, float]:
    """The same edit from a Python protocol client: send → its ack, and → a second client receiving it, ms."""
    a, b = [await open_ws(server, sheet, s) for s in sessions]
    for ws in (a, b):
        await ws.subscribe()
    acked, delivered = [], []
    for i in range(edits):
        text, started = f"socket {i}", now_ms()
        client_event_id = await a.send_edit([(5, 2, text)])

        async def ack(cid: str = client_event_id, started: float = started) -> float:
            await a.wait_ack(cid)
            return now_ms() - started

        async def seen(text: str = text, started: float = started) -> float:
            await b.receive_until(lambda f: f["type"] == "events" and any(
                e.get("new_value") == text for e in f["events"]))
            return now_ms() - started

        got = await asyncio.gather(ack(), seen())
        acked.append(got[0])
        delivered.append(got[1])
    for ws in (a, b):
        await ws.close()
    return {"socket_ack_ms": median(acked), "socket_delivered_ms": median(delivered)}


def _med(loads: Sequence[dict[str, float]], key: str) -> float:
    return median([load[key] for load in loads])


def _met(figure: float, target: float) -> str:
    return "met" if figure <= target else "missed"


def run(env: BenchEnv, *, quick: bool) -> dict[str, Any]:
    plan = QUICK if quick else FULL
    (alice, alice_session), (bob, bob_session) = make_users(2, prefix="grid")
    seeded: dict[int, tuple[str, int, float]] = {}
    for rows in plan.sizes:
        sheet = make_sheet(f"grid-{rows}", editors=[alice, bob], rows=rows, cols=COLS)
        cells, seconds = seed(sheet, alice, rows)
        seeded[rows] = (sheet.name, cells, seconds)
        _progress(f"seeded {rows:,} rows: {cells:,} cells in {seconds:.1f} s ({cells / seconds:,.0f}/s)")
    from django.db import connection, connections

    server = env.start_daphne(name="grid")
    url = {rows: server.url(f"/sheets/{name}/") for rows, (name, _, _) in seeded.items()}
    # Right after the seed the planner's statistics may not know the cells table's size yet (autovacuum catches up
    # later): the big sheet's windows as they come, then after an ANALYZE, which the pages' loads get.
    big_name = seeded[max(plan.sizes)][0]
    fresh = _cells_ms(server, big_name, alice_session, max(plan.sizes))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    analyzed = _cells_ms(server, big_name, alice_session, max(plan.sizes))
    connections.close_all()
    sockets = asyncio.run(_socket_typing(server, seeded[min(plan.sizes)][0], [alice_session, bob_session],
                                         plan.keystrokes))
    # Playwright's sync API runs an event loop in this thread: no ORM call after this point.
    browser = Browser(server.base_url)
    try:
        context = browser.context(alice_session)
        _open(context, url[plan.sizes[0]]).close()  # the scripts into the HTTP cache
        loads = {}
        for rows in plan.sizes:
            loads[rows] = [load_once(context, url[rows], rows) for _ in range(plan.loads)]
            _progress(f"loaded {rows:,} rows {plan.loads} times: median {_med(loads[rows], 'load_s'):.2f} s")
        context.close()
        typed = {rows: typing(browser, url[rows], [alice_session, bob_session], rows // 2 if rows > 1000 else 5,
                              plan.keystrokes) for rows in plan.typing_sizes}
    finally:
        browser.close()

    small, big = min(plan.sizes), max(plan.sizes)
    print_table(f"grid: seeding through append_edits ({CHANGES_PER_EDIT:,} changes per edit,"
                f" {EDITS_PER_CALL} edits per transaction)", ["sheet", "cells", "seconds", "cells/s"],
                [(f"{rows:,} x {COLS}", cells, seconds, cells / seconds) for rows, (_, cells, seconds) in seeded.items()])
    timeline = ("load_s", "html_ms", "cells_start_ms", "cells_end_ms", "cells_kib", "script_run_ms", "dom_ms",
                "cells_read_ms", "grid_built_ms", "socket_ms", "open_ms", "live_ms", "drawn_ms")
    print_table(f"grid: opening the sheet, median of {plan.loads} loads; ms from navigation start (cells: the first"
                " cells API request; grid.js: its modules run, the cells read, the grid built; socket: created, open)",
                ["sheet", "live+drawn s", "html", "cells start", "cells end", "cells KiB", "grid.js runs",
                 "DOMContentLoaded", "cells read", "grid built", "socket", "open", "live", "drawn"],
                [(f"{rows:,} rows", *(_med(runs, key) for key in timeline)) for rows, runs in loads.items()])
    costs = ("script_ms", "layout_ms", "style_ms", "task_ms", "heap_mib", "memory_mib", "scroll_s")
    print_table("grid: the page's main thread until drawn (Performance.getMetrics, ms), its heap, and Ctrl+End",
                ["sheet", "script", "layout", "style", "task", "heap MiB after GC", "usedJSHeapSize MiB", "Ctrl+End s"],
                [(f"{rows:,} rows", *(_med(runs, key) for key in costs)) for rows, runs in loads.items()])
    print_table(f"grid: typing, A's Enter → B has and draws the value, {plan.keystrokes} keystrokes, median ms"
                " (the pages' clocks; by the bench's: Enter sent → B's answer read)",
                ["sheet", "Enter → drawn in B", "max", "by the bench's clock", "Enter → edit sent", "sent → B receives",
                 "B receives → drawn", "sent → A's ack", "server: received → committed (mean)"],
                [(f"{rows:,} rows", *(t[key] for key in ("typing_ms", "typing_max_ms", "typing_wall_ms", "enter_send_ms",
                                                        "send_receive_ms", "receive_drawn_ms", "send_ack_ms",
                                                        "server_append_ms")))
                 for rows, t in typed.items()])
    print_table(f"grid: one GET of a window of {WINDOW_ROWS:,} rows of the {max(plan.sizes):,}-row sheet, ms",
                ["when", "first window", "last window"],
                [("right after the seed", *fresh), ("after ANALYZE (the pages' loads)", *analyzed)])
    print(f"(the same edit from a Python protocol client on the {small:,}-row sheet: send → ack"
          f" {sockets['socket_ack_ms']:.1f} ms, send → a second client has it {sockets['socket_delivered_ms']:.1f} ms)")
    figures: dict[str, Any] = {
        "sizes": list(plan.sizes), "loads": plan.loads,
        "load_s": {str(rows): round(_med(runs, "load_s"), 3) for rows, runs in loads.items()},
        "seed_s": {str(rows): round(seconds, 1) for rows, (_, _, seconds) in seeded.items()},
        "load_small_s": _med(loads[small], "load_s"), "load_big_s": _med(loads[big], "load_s"),
        "ratio": _med(loads[big], "load_s") / _med(loads[small], "load_s"),
        "scroll_s": _med(loads[big], "scroll_s"), "heap_mib": _med(loads[big], "heap_mib"),
        "heap_small_mib": _med(loads[small], "heap_mib"),
        "typing": {str(rows): rounded(t) for rows, t in typed.items()},
        "typing_ms": typed[small]["typing_ms"], **sockets, "cells_fresh_ms": [round(ms, 1) for ms in fresh],
        "cells_analyzed_ms": [round(ms, 1) for ms in analyzed],
    }
    if big in typed:
        figures["typing_big_ms"] = typed[big]["typing_ms"]
    checks = [("ratio", figures["ratio"], TARGETS["ratio"]), ("heap_mib", figures["heap_mib"], TARGETS["heap_mib"]),
              ("scroll_s", figures["scroll_s"], TARGETS["scroll_s"]),
              ("typing_ms", figures["typing_ms"], TARGETS["typing_ms"])]
    if big >= 1_000_000:
        checks.insert(1, ("load_1m_s", figures["load_big_s"], TARGETS["load_1m_s"]))
    print_table(f"grid: targets (big = {big:,} rows, small = {small:,})", ["figure", "value", "target", ""],
                [(name, got, f"<= {target:g}", _met(got, target)) for name, got, target in checks])
    return rounded(figures)
