// A run of consecutive rows held by position: the rows start … end - 1 of
// the sheet, their ids and their cells (a Map col_id -> value per row).
// Pure. window-source.js keeps the runs it holds, and a window fetched from
// the cells API becomes a run that is brought forward event by event.
//
// An event moves a run the way it moves the sheet, by its commit-time
// positions (docs/protocol.md, section 3), which are exact for a run that
// has applied every event before it.

export class Run {
  constructor(start, ids, cells = ids.map(() => new Map())) {
    this.start = start;
    this.ids = ids;
    this.cells = cells;
    this.index = null; // row_id -> index in this.ids, built on demand
  }

  // A window of the cells API: {row_from, row_ids, cells: [{row_id, col_id, value}]}.
  static fromWindow(answer) {
    const run = new Run(answer.row_from, [...answer.row_ids]);
    for (const cell of answer.cells) {
      const i = run.indexOf(cell.row_id);
      if (i >= 0 && cell.value !== "") run.cells[i].set(cell.col_id, cell.value);
    }
    return run;
  }

  get end() {
    return this.start + this.ids.length;
  }

  get size() {
    return this.ids.length;
  }

  covers(position) {
    return position >= this.start && position < this.end;
  }

  indexOf(rowId) {
    if (this.index === null) this.index = new Map(this.ids.map((id, i) => [id, i]));
    const found = this.index.get(rowId);
    return found === undefined ? -1 : found;
  }

  slice(from, to) {
    return new Run(this.start + from, this.ids.slice(from, to), this.cells.slice(from, to));
  }

  /**
   * Apply one event. Returns false when the run contradicts it (a deleted
   * position holding another id): the run cannot be trusted and is dropped.
   * `takeAtStart`: rows inserted at the run's first position are held by it
   * (false when another run ends there and takes them).
   */
  apply(event, { takeAtStart = true } = {}) {
    switch (event.type) {
      case "CellChanged": {
        const i = this.indexOf(event.row_id);
        if (i < 0) return true;
        if (event.new_value === "") this.cells[i].delete(event.col_id);
        else this.cells[i].set(event.col_id, event.new_value);
        return true;
      }
      case "RowsInserted":
        return this.insert(event.row, event.row_ids, takeAtStart);
      case "RowsDeleted":
        return this.remove(event.rows, event.row_ids);
      case "ColumnsDeleted":
        for (const row of this.cells) for (const colId of event.col_ids) row.delete(colId);
        return true;
      default: // ColumnsInserted: new columns are empty
        return true;
    }
  }

  // New rows at `position` (their first, once inserted). Above the run they
  // push it down; inside it, at its end or (takeAtStart) at its start they
  // are held too: they are empty and their ids are known.
  insert(position, ids, takeAtStart) {
    if (position < this.start || (position === this.start && !takeAtStart)) {
      this.start += ids.length;
    } else if (position <= this.end) {
      const at = position - this.start;
      this.ids.splice(at, 0, ...ids);
      this.cells.splice(at, 0, ...ids.map(() => new Map()));
      this.index = null;
    }
    return true;
  }

  // `positions`: ascending, as they stood before the deletion; `ids[i]` stood at `positions[i]`.
  remove(positions, ids) {
    let above = 0;
    const gone = new Set();
    for (let i = 0; i < positions.length; i++) {
      const at = positions[i] - this.start;
      if (at < 0) above += 1;
      else if (at < this.size) {
        if (this.ids[at] !== ids[i]) return false;
        gone.add(at);
      }
    }
    if (gone.size) {
      this.ids = this.ids.filter((_, i) => !gone.has(i));
      this.cells = this.cells.filter((_, i) => !gone.has(i));
      this.index = null;
    }
    this.start -= above;
    return true;
  }
}

/**
 * Lay `run` over the sorted, disjoint `runs`: where they overlap, `run`
 * wins (it is as new as they are); runs it overlaps or touches become one.
 * Returns the new sorted list.
 */
export function mergeRun(runs, run) {
  if (!run.size) return runs;
  const before = runs.filter((each) => each.end < run.start);
  const after = runs.filter((each) => each.start > run.end);
  const touched = runs.filter((each) => each.end >= run.start && each.start <= run.end);
  let merged = run;
  if (touched.length) {
    const first = touched[0];
    const last = touched[touched.length - 1];
    const head = first.start < run.start ? first.slice(0, run.start - first.start) : null;
    const tail = last.end > run.end ? last.slice(run.end - last.start) : null;
    const parts = [head, run, tail].filter(Boolean);
    merged = new Run(parts[0].start, parts.flatMap((p) => p.ids), parts.flatMap((p) => p.cells));
  }
  return [...before, merged, ...after];
}

// Split the runs around the positions dropped (a Set), keeping the rest.
export function dropPositions(runs, dropped) {
  const kept = [];
  for (const run of runs) {
    let from = 0;
    for (let i = 0; i <= run.size; i++) {
      if (i < run.size && !dropped.has(run.start + i)) continue;
      if (i > from) kept.push(run.slice(from, i));
      from = i + 1;
    }
  }
  return kept;
}
