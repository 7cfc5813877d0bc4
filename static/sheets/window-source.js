// A big sheet held in windows of rows instead of whole: the grid's data
// source (getLength() / getItem(i), as SlickGrid asks). It knows the row
// count and every column id, holds only runs of rows around what is
// visible (window-runs.js), fetches the rest through a `load(rowFrom,
// rowCount)` it is given (the cells API, docs/protocol.md section 10), and
// applies the live events to what it holds. Pure: no DOM, no fetch of its
// own; `schedule` (queueMicrotask) batches the loads asked for in one pass.
//
// The consistency rule. `lastSeq` is the last event applied, in seq order
// and each once. A window's answer carries the seq it was read at (`at`,
// which is the head when no `at` was asked for), its rows positioned as of
// that seq. A window is laid over what is held only once it is brought to
// lastSeq:
// - at == lastSeq: as it is;
// - at < lastSeq: the buffered events after `at` are applied to it first,
//   in order (the source keeps the last `bufferSize` events); if the buffer
//   no longer reaches back to at + 1 the window is dropped and asked again;
// - at > lastSeq: it waits, untouched, until the stream has applied `at`,
//   then goes through the case above.
// So everything held is always exactly the sheet as of lastSeq, at the
// positions of lastSeq, and each event is applied once to all of it. The
// first window (open()) sets lastSeq: subscribe from it.
//
// Fetching. getItem(i) of a row not held returns a placeholder and asks for
// its window (number floor(i / windowSize), only the part not held);
// ensureVisible(first, last) asks for the viewport and `prefetch` rows
// either side. A window asked for, in flight or waiting is not asked again;
// at most `maxInFlight` loads run at once, and the next one sent is the one
// nearest the newest viewport (queued windows the viewport left are
// dropped). A failed load is forgotten (onError) and asked again when next
// wanted.
//
// Memory. Past `budget` rows held, the rows farthest from the viewport go,
// except the viewport and its margin and the rows pin()ned (pending edits).
//
// onChange({ranges, length, lengthChanged, columnsChanged}) tells the grid
// which positions to draw again ([from, to) ranges, merged), once per batch.

import { Run, dropPositions, mergeRun } from "./window-runs.js";

const NO_CELLS = new Map();

export class WindowSource {
  constructor({
    load, windowSize = 2000, maxInFlight = 2, budget = 20000, prefetch = windowSize, bufferSize = 10000,
    onChange = () => {}, onError = () => {}, schedule = queueMicrotask,
  }) {
    Object.assign(this, { load, windowSize, maxInFlight, budget, prefetch, bufferSize, onChange, onError, schedule });
    this.pinned = new Set();
    this.generation = 0; // bumped by open() and begin(): answers to an earlier open's loads are ignored
    this.clear();
  }

  clear() {
    this.length = 0;
    this.colIds = [];
    this.colIndex = null; // col_id -> position, built on demand
    this.lastSeq = null; // null until open()
    this.runs = []; // sorted, disjoint
    this.buffer = []; // the last events applied, for windows read before them
    this.waiting = []; // windows read at a seq the stream has not reached yet
    this.queued = new Set(); // window numbers (position / windowSize) asked for, not sent yet
    this.inFlight = new Set();
    this.viewport = [0, 0];
    this.pumping = false;
    this.changes = { ranges: [], lengthChanged: false, columnsChanged: false };
  }

  /**
   * Load the window around `row` and take the sheet's shape and lastSeq
   * from it: subscribe from lastSeq then. Opening again (after
   * `since_ahead`, say) throws away everything held.
   */
  async open(row = 0) {
    const generation = ++this.generation;
    const first = Math.floor(row / this.windowSize) * this.windowSize;
    const answer = await this.load(first, this.windowSize);
    if (generation === this.generation) this.begin(answer, row);
    return answer;
  }

  /**
   * Start from a window read elsewhere (the page's first, read with the
   * HTML): as open() does with the one it loads. Answers to loads sent
   * before are ignored.
   */
  begin(answer, row = 0) {
    this.generation++;
    this.clear();
    this.lastSeq = answer.at ?? answer.head;
    this.length = answer.row_count;
    this.setColumns([...answer.col_ids]);
    this.viewport = [row, row];
    this.runs = mergeRun([], Run.fromWindow(answer));
    this.changed([0, this.length], { length: true, columns: true });
    this.flush();
  }

  // ---- what is held ----

  getLength() {
    return this.length;
  }

  runAt(position) {
    return this.runs.find((run) => run.covers(position)) ?? null;
  }

  rowIdAt(position) {
    const run = this.runAt(position);
    return run ? run.ids[position - run.start] : null;
  }

  /**
   * {row, id, loaded, cells: Map col_id -> value (the source's own: read it,
   * never write it)}; a placeholder, asking for its window, when not held.
   */
  getItem(position) {
    if (position < 0 || position >= this.length) return undefined;
    const run = this.runAt(position);
    if (run) {
      const i = position - run.start;
      return { row: position, id: run.ids[i], loaded: true, cells: run.cells[i] };
    }
    this.want(Math.floor(position / this.windowSize));
    return { row: position, id: null, loaded: false, cells: NO_CELLS };
  }

  positionOf(rowId) {
    for (const run of this.runs) {
      const i = run.indexOf(rowId);
      if (i >= 0) return run.start + i;
    }
    return -1;
  }

  colPosition(colId) {
    if (this.colIndex === null) this.colIndex = new Map(this.colIds.map((id, i) => [id, i]));
    return this.colIndex.get(colId) ?? -1;
  }

  /** Every non-empty held cell, by position: [{row, col, row_id, col_id, value}], row by row. */
  cells() {
    const cells = [];
    for (const run of this.runs) {
      run.cells.forEach((row, i) => {
        const held = [...row].map(([colId, value]) => ({
          row: run.start + i, col: this.colPosition(colId), row_id: run.ids[i], col_id: colId, value,
        }));
        cells.push(...held.sort((a, b) => a.col - b.col));
      });
    }
    return cells;
  }

  heldRows() {
    return this.runs.reduce((sum, run) => sum + run.size, 0);
  }

  // Rows with pending local edits: never evicted while pinned.
  pin(rowIds) {
    for (const id of rowIds) this.pinned.add(id);
  }

  unpin(rowIds) {
    for (const id of rowIds) this.pinned.delete(id);
    this.evict();
    this.flush();
  }

  // ---- fetching ----

  /** The grid shows rows first … last: fetch them and `prefetch` rows around, drop what is far. */
  ensureVisible(first, last) {
    this.viewport = [first, last];
    const [lo, hi] = this.zone();
    for (const k of this.queued) {
      if ((k + 1) * this.windowSize <= lo || k * this.windowSize > hi) this.queued.delete(k);
    }
    this.fill();
    this.evict();
    this.flush();
  }

  /** Hold `prefetch` rows either side of the viewport from now on (0 until the page is live, say). */
  widen(prefetch) {
    this.prefetch = prefetch;
    this.ensureVisible(...this.viewport);
  }

  // The rows worth holding: the viewport and `prefetch` rows either side.
  zone() {
    const [first, last] = this.viewport;
    return [Math.max(0, first - this.prefetch), Math.min(this.length - 1, last + this.prefetch)];
  }

  // Ask for the windows with rows of the zone not held. (Only the zone's:
  // the rest of a window may be evicted again, and must not be asked again.)
  fill() {
    const [lo, hi] = this.zone();
    for (let k = Math.floor(lo / this.windowSize); k * this.windowSize <= hi; k++) {
      const start = k * this.windowSize;
      if (this.missing(Math.max(lo, start), Math.min(hi + 1, start + this.windowSize))) this.want(k);
    }
  }

  // The part of positions [from, to) not held, trimmed of held rows at both ends: [from, to), or null.
  missing(from, to) {
    to = Math.min(this.length, to);
    for (let run = this.runAt(from); run && from < to; run = this.runAt(from)) from = run.end;
    for (let run = this.runAt(to - 1); run && from < to; run = this.runAt(to - 1)) to = run.start;
    return from < to ? [from, to] : null;
  }

  missingOf(k) {
    return this.missing(k * this.windowSize, (k + 1) * this.windowSize);
  }

  want(k) {
    if (this.lastSeq === null || this.queued.has(k) || this.inFlight.has(k)) return;
    if (this.waiting.some((w) => w.k === k) || !this.missingOf(k)) return;
    this.queued.add(k);
    if (!this.pumping) {
      this.pumping = true;
      this.schedule(() => this.pump());
    }
  }

  // Send what is queued, the window nearest the newest viewport first.
  pump() {
    this.pumping = false;
    const [first, last] = this.viewport;
    const distance = (k) => Math.max(0, k * this.windowSize - last, first - ((k + 1) * this.windowSize - 1));
    while (this.inFlight.size < this.maxInFlight && this.queued.size) {
      const k = [...this.queued].reduce((a, b) => (distance(b) < distance(a) ? b : a));
      this.queued.delete(k);
      const span = this.missingOf(k);
      if (!span) continue;
      this.inFlight.add(k);
      const generation = this.generation;
      new Promise((resolve) => resolve(this.load(span[0], span[1] - span[0]))).then(
        (answer) => generation === this.generation && this.arrive(k, answer),
        (error) => {
          if (generation !== this.generation) return;
          this.inFlight.delete(k);
          this.onError(error);
          this.pump();
        },
      );
    }
  }

  arrive(k, answer) {
    this.inFlight.delete(k);
    const window = { k, at: answer.at ?? answer.head, run: Run.fromWindow(answer) };
    if (window.at > this.lastSeq) this.waiting.push(window);
    else this.land(window);
    this.flush();
    this.pump();
  }

  // Bring a window to lastSeq from the buffer and lay it over what is held.
  land(window) {
    const missed = this.buffer.filter((event) => event.seq > window.at);
    const reaches = window.at === this.lastSeq || (missed.length && missed[0].seq === window.at + 1);
    if (!reaches || !missed.every((event) => window.run.apply(event))) {
      this.fill(); // asked again, in today's positions
      return;
    }
    this.runs = mergeRun(this.runs, window.run);
    if (window.run.size) this.changed([window.run.start, window.run.end]);
    this.evict();
    this.fill();
  }

  // Past the budget, drop the held rows farthest from the viewport, outside
  // the zone, never a pinned one.
  evict() {
    const excess = this.heldRows() - this.budget;
    if (excess <= 0) return;
    const [lo, hi] = this.zone();
    const far = [];
    for (const run of this.runs) {
      run.ids.forEach((id, i) => {
        const position = run.start + i;
        if ((position < lo || position > hi) && !this.pinned.has(id)) far.push(position);
      });
    }
    const away = (p) => (p < lo ? lo - p : p - hi);
    far.sort((a, b) => away(b) - away(a));
    const dropped = new Set(far.slice(0, excess));
    if (!dropped.size) return;
    this.runs = dropPositions(this.runs, dropped);
    for (const range of rangesOf([...dropped].sort((a, b) => a - b))) this.changed(range);
  }

  // ---- the live stream ----

  /** Apply events in seq order (those already applied are skipped). Throws on a gap: resubscribe. */
  applyEvents(events) {
    if (this.lastSeq === null) throw new Error("open() the source before applying events");
    for (const event of events) {
      if (event.seq <= this.lastSeq) continue;
      if (event.seq !== this.lastSeq + 1) throw new Error(`gap: event ${event.seq} after ${this.lastSeq}`);
      this.applyOne(event);
      this.lastSeq = event.seq;
      this.buffer.push(event);
    }
    if (this.buffer.length > this.bufferSize) this.buffer.splice(0, this.buffer.length - this.bufferSize);
    const ready = this.waiting.filter((w) => w.at <= this.lastSeq);
    this.waiting = this.waiting.filter((w) => w.at > this.lastSeq);
    for (const window of ready) this.land(window);
    this.evict(); // inserted rows count too
    this.flush();
  }

  applyOne(event) {
    const before = this.length;
    if (event.type === "CellChanged") {
      const position = this.positionOf(event.row_id);
      if (position >= 0) this.changed([position, position + 1]);
    } else if (event.type === "RowsInserted") {
      this.length += event.row_ids.length;
      this.changed([event.row, this.length], { length: true });
    } else if (event.type === "RowsDeleted") {
      this.length -= event.row_ids.length;
      if (event.rows.length) this.changed([event.rows[0], before], { length: true });
    } else if (event.type === "ColumnsInserted") {
      this.setColumns([...this.colIds.slice(0, event.col), ...event.col_ids, ...this.colIds.slice(event.col)]);
    } else if (event.type === "ColumnsDeleted") {
      const gone = new Set(event.col_ids);
      this.setColumns(this.colIds.filter((id) => !gone.has(id)));
    }
    // Rows inserted where one run ends and the next starts go to the first.
    const takeAtStart = !this.runs.some((run) => run.end === event.row);
    const kept = [];
    for (const run of this.runs) {
      if (run.apply(event, { takeAtStart })) {
        if (run.size) kept.push(run);
      } else {
        this.changed([run.start, run.end]);
      }
    }
    this.runs = kept;
  }

  setColumns(colIds) {
    this.colIds = colIds;
    this.colIndex = null;
    this.changed([0, this.length], { columns: true });
  }

  // ---- notifications ----

  changed([from, to], { length = false, columns = false } = {}) {
    if (to > from) this.changes.ranges.push([from, to]);
    this.changes.lengthChanged ||= length;
    this.changes.columnsChanged ||= columns;
  }

  /** onChange({ranges: [[from, to), …] merged, length, lengthChanged, columnsChanged}), once per batch. */
  flush() {
    const { ranges, lengthChanged, columnsChanged } = this.changes;
    if (!ranges.length && !lengthChanged && !columnsChanged) return;
    this.changes = { ranges: [], lengthChanged: false, columnsChanged: false };
    const clipped = ranges.map(([from, to]) => [Math.max(0, from), to]).filter(([from, to]) => to > from);
    this.onChange({ ranges: mergeRanges(clipped), length: this.length, lengthChanged, columnsChanged });
  }
}

function mergeRanges(ranges) {
  const merged = [];
  for (const [from, to] of ranges.sort((a, b) => a[0] - b[0])) {
    const last = merged[merged.length - 1];
    if (last && from <= last[1]) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}

// Sorted positions -> [from, to) ranges of consecutive ones.
function rangesOf(positions) {
  return mergeRanges(positions.map((p) => [p, p + 1]));
}
