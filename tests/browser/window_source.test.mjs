// Unit tests of the windowed data source (static/sheets/window-source.js and
// window-runs.js), run by Node's built-in test runner from
// tests/browser/test_window_source_js.py, which copies those modules next
// to this file.
import assert from "node:assert/strict";
import { test } from "node:test";

import { WindowSource } from "./window-source.js";

// ---- a server: the whole sheet, every state it went through, its events ----

class FakeSheet {
  constructor(rows, cols, fill = () => "") {
    this.rows = Array.from({ length: rows }, (_, i) => `r${i}`);
    this.cols = Array.from({ length: cols }, (_, i) => `c${i}`);
    this.cells = new Map(this.rows.map((id) => [id, new Map()]));
    this.rows.forEach((id, r) => this.cols.forEach((colId, c) => {
      const value = fill(r, c);
      if (value !== "") this.cells.get(id).set(colId, value);
    }));
    this.events = [];
    this.history = [this.snapshot()]; // history[seq]: the sheet right after event seq
    this.fresh = 0;
  }

  get head() {
    return this.events.length;
  }

  snapshot() {
    return {
      rows: [...this.rows], cols: [...this.cols],
      cells: new Map([...this.cells].map(([id, row]) => [id, new Map(row)])),
    };
  }

  commit(event) {
    event.seq = this.head + 1;
    this.events.push(event);
    this.history.push(this.snapshot());
    return event;
  }

  set(row, col, value) {
    const [rowId, colId] = [this.rows[row], this.cols[col]];
    const cells = this.cells.get(rowId);
    const old = cells.get(colId) ?? "";
    if (value === "") cells.delete(colId);
    else cells.set(colId, value);
    return this.commit({ type: "CellChanged", row_id: rowId, col_id: colId, row, col, old_value: old, new_value: value });
  }

  insertRows(row, count) {
    const ids = Array.from({ length: count }, () => `n${this.fresh++}`);
    const after = row === 0 ? null : this.rows[row - 1];
    this.rows.splice(row, 0, ...ids);
    for (const id of ids) this.cells.set(id, new Map());
    return this.commit({ type: "RowsInserted", row_ids: ids, row, after });
  }

  deleteRows(positions) {
    const rows = [...new Set(positions)].sort((a, b) => a - b);
    const ids = rows.map((p) => this.rows[p]);
    this.rows = this.rows.filter((id) => !ids.includes(id));
    for (const id of ids) this.cells.delete(id);
    return this.commit({ type: "RowsDeleted", row_ids: ids, rows });
  }

  insertCols(col, count) {
    const ids = Array.from({ length: count }, () => `k${this.fresh++}`);
    const after = col === 0 ? null : this.cols[col - 1];
    this.cols.splice(col, 0, ...ids);
    return this.commit({ type: "ColumnsInserted", col_ids: ids, col, after });
  }

  deleteCols(positions) {
    const cols = [...new Set(positions)].sort((a, b) => a - b);
    const ids = cols.map((p) => this.cols[p]);
    this.cols = this.cols.filter((id) => !ids.includes(id));
    for (const row of this.cells.values()) for (const id of ids) row.delete(id);
    return this.commit({ type: "ColumnsDeleted", col_ids: ids, cols });
  }

  // The cells API: GET cells/?row_from=&row_count=, read as of `at`.
  window(rowFrom, rowCount, at = this.head) {
    const state = this.history[at];
    const rowIds = state.rows.slice(rowFrom, rowFrom + rowCount);
    const cells = [];
    rowIds.forEach((rowId, i) => state.cols.forEach((colId, col) => {
      const value = state.cells.get(rowId).get(colId);
      if (value !== undefined) {
        cells.push({ row_id: rowId, col_id: colId, row: rowFrom + i, col, value, last_seq: 0 });
      }
    }));
    return {
      head: this.head, at, row_count: state.rows.length, col_count: state.cols.length, row_from: rowFrom,
      row_ids: rowIds, col_ids: [...state.cols], cells,
    };
  }
}

// ---- a client: the source, its loads held until the test answers them ----

const settle = () => new Promise((resolve) => setImmediate(resolve));

function client(sheet, options = {}) {
  const calls = [];
  const notes = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const load = (rowFrom, rowCount) => new Promise((resolve, reject) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const call = { rowFrom, rowCount, headThen: sheet.head };
    const done = () => {
      inFlight -= 1;
      calls.splice(calls.indexOf(call), 1);
    };
    // The server reads the window at `at` (any seq from the request on); the answer arrives now.
    call.answer = (at = sheet.head) => {
      done();
      resolve(sheet.window(rowFrom, rowCount, at));
    };
    call.fail = () => {
      done();
      reject(new Error("offline"));
    };
    calls.push(call);
  });
  const source = new WindowSource({ load, windowSize: 10, budget: 40, prefetch: 5, ...options, onChange: (n) => notes.push(n) });
  return {
    source, calls, notes,
    get maxInFlight() { return maxInFlight; },
    async open(row = 0) {
      const opened = source.open(row);
      calls[0].answer();
      await opened;
    },
    // Answer every load (at the head), again and again until none is left.
    async serveAll() {
      await settle();
      for (let round = 0; round < 100 && calls.length; round++) {
        for (const call of [...calls]) call.answer();
        await settle();
      }
      assert.equal(calls.length, 0, "the loads keep coming");
    },
    deliver(upTo = sheet.head) {
      source.applyEvents(sheet.events.slice(source.lastSeq, upTo));
    },
  };
}

// Every held row agrees with the sheet as of lastSeq: same id at the same position, same cells.
function assertConsistent(source, sheet) {
  const state = sheet.history[source.lastSeq]; // the sheet as of the source's lastSeq
  assert.equal(source.getLength(), state.rows.length, "length");
  assert.deepEqual(source.colIds, state.cols, "columns");
  let held = 0;
  for (const run of source.runs) {
    run.ids.forEach((id, i) => {
      const position = run.start + i;
      assert.equal(id, state.rows[position], `row id at ${position}`);
      assert.deepEqual(Object.fromEntries(run.cells[i]), Object.fromEntries(state.cells.get(id)), `cells of ${id}`);
      assert.equal(source.positionOf(id), position);
      held += 1;
    });
  }
  for (let i = 0; i < state.rows.length; i++) {
    const id = source.rowIdAt(i);
    if (id !== null) assert.equal(id, state.rows[i]);
  }
  const cells = source.cells();
  assert.equal(cells.length, source.runs.reduce((n, run) => n + run.cells.reduce((m, row) => m + row.size, 0), 0));
  for (const cell of cells) {
    assert.equal(state.rows[cell.row], cell.row_id);
    assert.equal(state.cols[cell.col], cell.col_id);
    assert.equal(state.cells.get(cell.row_id).get(cell.col_id), cell.value);
  }
  return held;
}

// What the grid would draw at each position, without asking for anything.
function drawn(source) {
  return Array.from({ length: source.getLength() }, (_, i) => {
    const run = source.runAt(i);
    if (!run) return "…";
    const cells = run.cells[i - run.start];
    return `${run.ids[i - run.start]}:${source.colIds.map((id) => cells.get(id) ?? "").join(",")}`;
  });
}

// Every position drawn differently after a step was in a range notified during it.
function assertNotified(before, after, notes) {
  const ranges = notes.flatMap((note) => note.ranges);
  after.forEach((row, i) => {
    if (row !== before[i]) assert.ok(ranges.some(([from, to]) => from <= i && i < to), `row ${i} changed unannounced`);
  });
}

// Over the budget only with nothing left to evict: the zone and pinned rows.
function assertWithinBudget(source, budget) {
  if (source.heldRows() <= budget) return;
  const [lo, hi] = source.zone();
  for (const run of source.runs) {
    run.ids.forEach((id, i) => {
      const position = run.start + i;
      assert.ok((lo <= position && position <= hi) || source.pinned.has(id), `row ${position} kept past the budget`);
    });
  }
}

const label = (r, c) => `${String.fromCharCode(65 + c)}${r + 1}`;
const valueAt = (source, row, col) => source.getItem(row)?.cells.get(source.colIds[col]) ?? "";

// ---- loading ----

test("open reads one window and takes the row count, columns and seq from it", async () => {
  const sheet = new FakeSheet(100, 3, label);
  sheet.set(0, 0, "x");
  const c = client(sheet);
  await c.open();
  assert.deepEqual([c.source.getLength(), c.source.lastSeq, c.source.colIds], [100, 1, ["c0", "c1", "c2"]]);
  assert.equal(c.source.heldRows(), 10);
  assert.equal(valueAt(c.source, 0, 0), "x");
  assert.equal(valueAt(c.source, 9, 2), "C10");
  assert.deepEqual(c.notes.at(-1), { ranges: [[0, 100]], length: 100, lengthChanged: true, columnsChanged: true });
  assertConsistent(c.source, sheet);
});

test("a row not held is a placeholder that asks for its window, once", async () => {
  const sheet = new FakeSheet(100, 2, label);
  const c = client(sheet);
  await c.open();
  const item = c.source.getItem(55);
  assert.deepEqual({ ...item, cells: item.cells.size }, { row: 55, id: null, loaded: false, cells: 0 });
  assert.equal(c.source.rowIdAt(55), null);
  for (let i = 50; i < 60; i++) c.source.getItem(i);
  await settle();
  assert.deepEqual(c.calls.map((call) => [call.rowFrom, call.rowCount]), [[50, 10]]);
  c.source.getItem(57);
  await settle();
  assert.equal(c.calls.length, 1, "in flight: not asked again");
  c.calls[0].answer();
  await settle();
  assert.equal(c.source.getItem(55).id, "r55");
  assert.equal(valueAt(c.source, 57, 1), "B58");
  assert.deepEqual(c.notes.at(-1).ranges, [[50, 60]]);
  assert.equal(c.source.getItem(100), undefined);
});

test("ensureVisible fetches the viewport and its margin, at most N at once, nearest the newest viewport first", async () => {
  const sheet = new FakeSheet(1000, 2, label);
  const c = client(sheet, { windowSize: 10, prefetch: 10, maxInFlight: 2, budget: 1000 });
  await c.open();
  c.source.ensureVisible(500, 509);
  c.source.ensureVisible(500, 509); // de-duplicated
  await settle();
  assert.deepEqual(c.calls.map((call) => call.rowFrom), [500, 490], "the visible window, then the nearest");
  c.source.ensureVisible(800, 809); // scrolled on: 510 is no longer wanted
  c.calls[0].answer();
  await settle();
  assert.deepEqual(c.calls.map((call) => call.rowFrom), [490, 800]);
  await c.serveAll();
  assert.equal(c.maxInFlight, 2);
  for (let i = 790; i < 820; i++) assert.equal(c.source.rowIdAt(i), `r${i}`);
  assert.equal(c.source.rowIdAt(515), null, "dropped from the queue when the viewport moved");
  assertConsistent(c.source, sheet);
});

test("begin() starts from a short first window read elsewhere; widen() then reads the rows around it", async () => {
  const sheet = new FakeSheet(100, 2, label);
  const c = client(sheet, { windowSize: 10, prefetch: 0, budget: 100 });
  const stale = c.source.open(50); // a load answered after begin(): ignored
  sheet.set(1, 0, "changed");
  c.source.begin(sheet.window(0, 3));
  assert.equal(c.source.lastSeq, 1);
  assert.equal(c.source.getLength(), 100);
  c.calls[0].answer();
  await stale;
  assert.deepEqual(c.source.runs.map((run) => [run.start, run.end]), [[0, 3]], "the old load's window is not laid");
  c.source.ensureVisible(0, 2);
  await settle();
  assert.deepEqual(c.calls, [], "the viewport is held: nothing is read before widen()");
  c.source.widen(10);
  await settle();
  assert.deepEqual(c.calls.map((call) => [call.rowFrom, call.rowCount]), [[3, 7], [10, 10]]);
  await c.serveAll();
  assert.deepEqual(c.source.runs.map((run) => [run.start, run.end]), [[0, 20]]);
  assert.equal(c.source.getItem(1).cells.get("c0"), "changed");
  assertConsistent(c.source, sheet);
});

test("only the part of a window not held is asked for", async () => {
  const sheet = new FakeSheet(100, 1, label);
  const c = client(sheet, { budget: 100, prefetch: 0 });
  await c.open(10);
  sheet.insertRows(0, 3);
  c.deliver();
  assert.deepEqual(c.source.runs.map((run) => [run.start, run.end]), [[13, 23]]);
  c.source.getItem(10);
  c.source.getItem(25);
  await settle();
  assert.deepEqual(c.calls.map((call) => [call.rowFrom, call.rowCount]), [[10, 3], [23, 7]]);
  await c.serveAll();
  assert.deepEqual(c.source.runs.map((run) => [run.start, run.end]), [[10, 30]]);
  assertConsistent(c.source, sheet);
});

test("a failed load is forgotten and asked again later", async () => {
  const sheet = new FakeSheet(100, 1, label);
  const errors = [];
  const c = client(sheet, { onError: (e) => errors.push(e.message) });
  await c.open();
  c.source.getItem(40);
  await settle();
  c.calls[0].fail();
  await settle();
  assert.deepEqual(errors, ["offline"]);
  assert.equal(c.calls.length, 0);
  c.source.getItem(40);
  await settle();
  assert.deepEqual(c.calls.map((call) => call.rowFrom), [40]);
});

test("a million rows: only the windows around the viewport are held", async () => {
  const rows = 1_000_000;
  const load = async (rowFrom, rowCount) => {
    const ids = Array.from({ length: Math.max(0, Math.min(rowCount, rows - rowFrom)) }, (_, i) => `r${rowFrom + i}`);
    return {
      head: 7, at: 7, row_count: rows, col_count: 26, row_from: rowFrom, row_ids: ids,
      col_ids: Array.from({ length: 26 }, (_, i) => `c${i}`),
      cells: ids.map((id, i) => ({ row_id: id, col_id: "c0", row: rowFrom + i, col: 0, value: `A${rowFrom + i + 1}` })),
    };
  };
  const source = new WindowSource({ load, windowSize: 2000, budget: 10000 });
  await source.open();
  source.ensureVisible(rows - 30, rows - 1); // Ctrl+End
  await settle();
  await settle();
  assert.equal(source.getItem(rows - 1).cells.get("c0"), "A1000000");
  assert.deepEqual(source.runs.map((run) => [run.start, run.end]), [[0, 2000], [996000, 1000000]]);
  source.applyEvents([{ seq: 8, type: "RowsInserted", row_ids: ["new"], row: 0, after: null }]);
  assert.deepEqual([source.getLength(), source.rowIdAt(0), source.rowIdAt(rows)], [rows + 1, "new", "r999999"]);
  assert.ok(source.heldRows() <= 10000);
});

// ---- eviction ----

test("past the budget the rows farthest from the viewport go, pinned rows stay", async () => {
  const sheet = new FakeSheet(200, 2, label);
  const c = client(sheet, { windowSize: 10, budget: 30, prefetch: 0 });
  await c.open(); // rows 0-9
  c.source.pin(["r2"]);
  for (const first of [20, 40, 60]) {
    c.source.ensureVisible(first, first + 9);
    await c.serveAll();
  }
  // held: 0-9, 20-29, 40-49, 60-69 = 40 > 30: the 10 farthest from 60-69 go, r2 kept.
  assert.equal(c.source.heldRows(), 30);
  assert.deepEqual(c.source.runs.map((run) => [run.start, run.end]), [[2, 3], [21, 30], [40, 50], [60, 70]]);
  assert.equal(valueAt(c.source, 2, 1), "B3");
  assert.ok(c.notes.some((n) => n.ranges.some(([from, to]) => from === 0 && to === 2)), "evicted rows reported");
  c.source.unpin(["r2"]);
  c.source.ensureVisible(150, 159);
  await c.serveAll();
  assert.equal(c.source.rowIdAt(2), null);
  assert.equal(c.source.heldRows(), 30);
  assertConsistent(c.source, sheet);
});

test("the viewport and its margin are never evicted, even past the budget", async () => {
  const sheet = new FakeSheet(200, 1, label);
  const c = client(sheet, { windowSize: 10, budget: 10, prefetch: 10 });
  await c.open();
  c.source.ensureVisible(100, 109);
  await c.serveAll();
  assert.deepEqual(c.source.runs.map((run) => [run.start, run.end]), [[90, 120]]);
});

test("over the budget, the part of a window outside the zone goes and is not asked for again", async () => {
  const sheet = new FakeSheet(100, 1, label);
  const c = client(sheet, { windowSize: 10, budget: 10, prefetch: 0 });
  await c.open();
  c.source.pin(Array.from({ length: 10 }, (_, i) => `r${i}`)); // the budget is full of pending edits
  c.source.ensureVisible(25, 26);
  await c.serveAll(); // would never end if rows 20-24 and 27-29 were asked again and again
  assert.deepEqual(c.source.runs.map((run) => [run.start, run.end]), [[0, 10], [25, 27]]);
});

// ---- events ----

test("events at or before a window's seq are skipped, later ones applied", async () => {
  const sheet = new FakeSheet(50, 2);
  sheet.set(1, 0, "a");
  const c = client(sheet);
  await c.open();
  sheet.set(1, 0, "b");
  c.source.applyEvents(sheet.events); // seq 1 is in the window already
  assert.equal(c.source.lastSeq, 2);
  assert.equal(valueAt(c.source, 1, 0), "b");
  assert.deepEqual(c.notes.at(-1), { ranges: [[1, 2]], length: 50, lengthChanged: false, columnsChanged: false });
  sheet.set(1, 0, "");
  c.deliver();
  assert.equal(valueAt(c.source, 1, 0), "");
  sheet.set(40, 0, "far"); // not held: nothing to change, nothing to draw
  const before = c.notes.length;
  c.deliver();
  assert.equal(c.notes.length, before);
  sheet.set(2, 0, "x");
  sheet.set(3, 0, "y");
  assert.throws(() => c.source.applyEvents([sheet.events.at(-1)]), /gap/);
  assertConsistent(c.source, sheet);
});

test("rows inserted above, at the start of, inside, at the end of and below a held window", async () => {
  const sheet = new FakeSheet(100, 2, label);
  const c = client(sheet, { budget: 100, prefetch: 0 });
  await c.open(20); // rows 20-29
  assert.deepEqual(c.source.runs.map((run) => [run.start, run.end]), [[20, 30]]);
  sheet.insertRows(5, 2); // above: shifts
  c.deliver();
  assert.deepEqual([c.source.runs[0].start, c.source.getLength(), c.source.rowIdAt(22)], [22, 102, "r20"]);
  assert.deepEqual(c.notes.at(-1), { ranges: [[5, 102]], length: 102, lengthChanged: true, columnsChanged: false });
  sheet.insertRows(22, 1); // at its first row: held, empty
  c.deliver();
  assert.deepEqual([c.source.runs[0].start, c.source.rowIdAt(22), c.source.rowIdAt(23)], [22, "n2", "r20"]);
  sheet.insertRows(25, 2); // inside: held, empty
  c.deliver();
  assert.deepEqual([c.source.rowIdAt(24), c.source.rowIdAt(25), c.source.rowIdAt(27)], ["r21", "n3", "r22"]);
  assert.equal(c.source.getItem(25).cells.size, 0);
  sheet.insertRows(35, 1); // at its end: held too
  c.deliver();
  assert.deepEqual(c.source.runs.map((run) => [run.start, run.end]), [[22, 36]]);
  sheet.insertRows(80, 4); // below: nothing held moves
  c.deliver();
  assert.deepEqual(c.source.runs.map((run) => [run.start, run.end]), [[22, 36]]);
  assert.equal(c.source.getLength(), 110);
  assert.equal(valueAt(c.source, 35 - 1, 1), "B30");
  assertConsistent(c.source, sheet);
});

test("rows inserted where one held run ends and the next starts are held once", async () => {
  const sheet = new FakeSheet(60, 1, label);
  const c = client(sheet, { budget: 100, prefetch: 0 });
  await c.open(); // 0-9
  c.source.getItem(20);
  await c.serveAll(); // 20-29
  sheet.deleteRows(Array.from({ length: 10 }, (_, i) => 10 + i)); // the gap between them
  c.deliver();
  assert.deepEqual(c.source.runs.map((run) => [run.start, run.end]), [[0, 10], [10, 20]]);
  sheet.insertRows(10, 2);
  c.deliver();
  assert.deepEqual(c.source.runs.map((run) => [run.start, run.end]), [[0, 12], [12, 22]]);
  assertConsistent(c.source, sheet);
});

test("rows deleted above, inside, across and below held windows", async () => {
  const sheet = new FakeSheet(100, 2, label);
  const c = client(sheet, { budget: 100, prefetch: 0 });
  await c.open(20);
  c.source.getItem(40);
  await c.serveAll(); // 20-29 and 40-49
  sheet.deleteRows([3, 4, 22, 45, 90]);
  c.deliver();
  assert.deepEqual(c.source.runs.map((run) => [run.start, run.end]), [[18, 27], [37, 46]]);
  assert.deepEqual(c.notes.at(-1), { ranges: [[3, 100]], length: 95, lengthChanged: true, columnsChanged: false });
  assert.equal(c.source.positionOf("r22"), -1);
  assert.equal(c.source.positionOf("r23"), 20);
  assert.equal(valueAt(c.source, 20, 0), "A24");
  sheet.deleteRows(Array.from({ length: 12 }, (_, i) => 18 + i)); // the whole first run and a gap
  c.deliver();
  assert.deepEqual(c.source.runs.map((run) => [run.start, run.end]), [[25, 34]]);
  assert.equal(c.source.rowIdAt(25), "r40");
  assertConsistent(c.source, sheet);
});

test("columns inserted and deleted: col_ids follow, cells of deleted columns go", async () => {
  const sheet = new FakeSheet(30, 3, label);
  const c = client(sheet);
  await c.open();
  sheet.insertCols(1, 2);
  c.deliver();
  assert.deepEqual(c.source.colIds, ["c0", "k0", "k1", "c1", "c2"]);
  assert.equal(c.notes.at(-1).columnsChanged, true);
  assert.equal(valueAt(c.source, 0, 3), "B1");
  sheet.set(0, 1, "new");
  sheet.deleteCols([0, 3]);
  c.deliver();
  assert.deepEqual(c.source.colIds, ["k0", "k1", "c2"]);
  assert.deepEqual(c.source.cells().filter((cell) => cell.row === 0).map((cell) => [cell.col, cell.value]),
    [[0, "new"], [2, "C1"]]);
  assertConsistent(c.source, sheet);
});

// ---- windows and the stream ----

test("a window read before events the source applied is patched from the buffer", async () => {
  const sheet = new FakeSheet(100, 2, label);
  const c = client(sheet, { budget: 100 });
  await c.open();
  c.source.getItem(50);
  await settle();
  const readAt = sheet.head; // the server reads it now, the answer comes late
  sheet.set(52, 0, "later");
  sheet.insertRows(51, 2);
  sheet.deleteRows([1, 55]);
  sheet.deleteCols([1]);
  c.deliver();
  c.calls[0].answer(readAt);
  await settle();
  assert.equal(c.source.positionOf("r50"), 49);
  assert.equal(valueAt(c.source, c.source.positionOf("r52"), 0), "later");
  assert.equal(c.source.positionOf("r53"), -1, "deleted after the read");
  assertConsistent(c.source, sheet);
});

test("a window older than the buffer reaches is asked for again", async () => {
  const sheet = new FakeSheet(100, 1, label);
  const c = client(sheet, { bufferSize: 2, budget: 100, prefetch: 0 });
  await c.open();
  c.source.ensureVisible(50, 59);
  await settle();
  const late = c.calls[0];
  sheet.insertRows(0, 1);
  sheet.set(0, 0, "a");
  sheet.set(1, 0, "b");
  c.deliver();
  late.answer(0); // read at 0; the buffer holds 2 and 3 only
  await settle();
  assert.equal(c.source.rowIdAt(51), null, "not laid over what is held");
  assert.deepEqual(c.calls.map((call) => [call.rowFrom, call.rowCount]), [[50, 10]], "asked again");
  c.calls[0].answer();
  await settle();
  assert.equal(c.source.rowIdAt(51), "r50");
  assertConsistent(c.source, sheet);
});

test("a window read after events the source has not applied waits for the stream", async () => {
  const sheet = new FakeSheet(100, 1, label);
  const c = client(sheet, { budget: 100 });
  await c.open();
  c.source.getItem(30);
  await settle();
  sheet.insertRows(0, 5);
  sheet.set(35, 0, "ahead");
  c.calls[0].answer(); // read at 2; the source is at 0
  await settle();
  assert.equal(c.source.rowIdAt(30), null, "held back");
  c.source.getItem(30);
  await settle();
  assert.equal(c.calls.length, 0, "and not asked again meanwhile");
  c.deliver(1);
  assert.equal(c.source.rowIdAt(35), null, "still ahead");
  c.deliver();
  assert.equal(c.source.rowIdAt(35), "r30");
  assert.equal(valueAt(c.source, 35, 0), "ahead");
  assertConsistent(c.source, sheet);
});

test("a run that contradicts a delete is dropped and asked for again", async () => {
  const sheet = new FakeSheet(50, 1, label);
  const c = client(sheet, { prefetch: 0 });
  await c.open();
  c.source.applyEvents([{ seq: 1, type: "RowsDeleted", row_ids: ["elsewhere"], rows: [3] }]);
  assert.equal(c.source.heldRows(), 0);
  assert.deepEqual(c.notes.at(-1).ranges, [[0, 50]]);
  assert.equal(c.source.getLength(), 49);
});

test("a load that throws at once counts as a failed load", async () => {
  const errors = [];
  const sheet = new FakeSheet(50, 1, label);
  const load = async (rowFrom, rowCount) => sheet.window(rowFrom, rowCount);
  const source = new WindowSource({ load, windowSize: 10, onError: (e) => errors.push(e.message) });
  await source.open();
  source.load = () => {
    throw new Error("sync");
  };
  source.getItem(30);
  await settle();
  assert.deepEqual(errors, ["sync"]);
  assert.equal(source.inFlight.size, 0);
});

test("opening again throws away what was held and ignores the old loads", async () => {
  const sheet = new FakeSheet(100, 1, label);
  const c = client(sheet, { prefetch: 0 });
  await c.open();
  c.source.getItem(50);
  await settle();
  const old = c.calls[0];
  sheet.set(0, 0, "x");
  const reopened = c.source.open(70);
  c.calls[1].answer();
  await reopened;
  assert.deepEqual([c.source.lastSeq, c.source.runs.map((run) => [run.start, run.end])], [1, [[70, 80]]]);
  old.answer(0);
  await settle();
  assert.equal(c.source.rowIdAt(50), null, "an answer to the first open's load");
  assertConsistent(c.source, sheet);
});

// ---- against a whole-sheet reference, at random ----

function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) {
  test(`random edits, structure, scrolling and late windows agree with the whole sheet (seed ${seed})`, async () => {
    const rnd = random(seed);
    const int = (n) => Math.floor(rnd() * n);
    const sheet = new FakeSheet(60 + int(60), 3, (r, c) => (rnd() < 0.3 ? `${r}:${c}` : ""));
    const c = client(sheet, { windowSize: 8, budget: 32, prefetch: 4, bufferSize: 6, maxInFlight: 2 });
    await c.open(int(sheet.rows.length));
    const pinnedHeld = new Set();
    for (let step = 0; step < 250; step++) {
      const n = sheet.rows.length;
      const [drawnBefore, notesBefore] = [drawn(c.source), c.notes.length];
      const roll = rnd();
      if (roll < 0.2) sheet.set(int(n), int(sheet.cols.length), rnd() < 0.2 ? "" : `v${step}`);
      else if (roll < 0.3) sheet.insertRows(int(n + 1), 1 + int(3));
      else if (roll < 0.38 && n > 10) sheet.deleteRows(Array.from({ length: 1 + int(4) }, () => int(n)));
      else if (roll < 0.41) sheet.insertCols(int(sheet.cols.length + 1), 1);
      else if (roll < 0.43 && sheet.cols.length > 2) sheet.deleteCols([int(sheet.cols.length)]);
      else if (roll < 0.55) c.deliver(c.source.lastSeq + int(sheet.head - c.source.lastSeq + 1));
      else if (roll < 0.65) {
        const first = int(c.source.getLength());
        c.source.ensureVisible(first, Math.min(c.source.getLength() - 1, first + int(12)));
      } else if (roll < 0.72) c.source.getItem(int(c.source.getLength()));
      else if (roll < 0.9 && c.calls.length) {
        const call = c.calls[int(c.calls.length)];
        if (rnd() < 0.1) call.fail();
        else call.answer(call.headThen + int(sheet.head - call.headThen + 1));
      } else if (roll < 0.95) {
        const position = int(c.source.getLength());
        const id = c.source.rowIdAt(position);
        if (id !== null) {
          c.source.pin([id]);
          pinnedHeld.add(id);
        }
      } else if (pinnedHeld.size) {
        const id = [...pinnedHeld][int(pinnedHeld.size)];
        c.source.unpin([id]);
        pinnedHeld.delete(id);
      }
      await settle();
      assertConsistent(c.source, sheet);
      assertNotified(drawnBefore, drawn(c.source), c.notes.slice(notesBefore));
      assertWithinBudget(c.source, 32);
      for (const id of pinnedHeld) {
        if (sheet.history[c.source.lastSeq].rows.includes(id)) assert.notEqual(c.source.positionOf(id), -1, `pinned ${id} kept`);
        else pinnedHeld.delete(id);
      }
    }
    // Catch up, look somewhere, and everything shown arrives and agrees.
    c.deliver();
    const first = int(c.source.getLength());
    c.source.ensureVisible(first, first);
    await c.serveAll();
    c.deliver();
    await c.serveAll();
    assertConsistent(c.source, sheet);
    const [lo, hi] = c.source.zone();
    for (let i = lo; i <= hi; i++) {
      const item = c.source.getItem(i);
      assert.ok(item.loaded, `row ${i} of the zone is held`);
      for (const [col, colId] of sheet.cols.entries()) {
        assert.equal(item.cells.get(colId) ?? "", sheet.cells.get(sheet.rows[i]).get(colId) ?? "", label(i, col));
      }
    }
    assertWithinBudget(c.source, 32);
  });
}
