// A big sheet's page: the server's rows come from a WindowSource (only the
// windows around what is visible are held) and model.js keeps only this
// tab's own layers and what it learnt of deleted rows. This module points
// the model's questions about rows and confirmed values at the source, and
// gives the grid view its rows.
//
// What differs from a small sheet: this tab's own row inserts and deletes
// show once the server's event for them arrives (a few milliseconds
// online), not before; its edits, by id, show at once as everywhere.

import { WindowSource } from "./window-source.js";

// A big sheet (config.windowed: more than 5,000 rows, sheets/web/views.py) is
// held in windows of WINDOW_ROWS rows.
export const WINDOW_ROWS = 2000;

/** The source's rows as the grid view reads them (grid-rows.js), plus the positions held. */
export function sourceRows(source) {
  return {
    length: () => source.getLength(),
    idAt: (position) => source.rowIdAt(position),
    positionOf: (id) => source.positionOf(id),
    held: () => source.runs.flatMap((run) => Array.from({ length: run.size }, (_, i) => run.start + i)),
    want: (position) => source.getItem(position),
  };
}

// The rows in order as structure.js reads them: length, at(i), slice(a, b), by position.
function rowIdsOf(source) {
  return {
    get length() {
      return source.getLength();
    },
    at: (i) => source.rowIdAt(i < 0 ? source.getLength() + i : i),
    slice: (from, to) => Array.from({ length: Math.max(0, to - from) }, (_, i) => source.rowIdAt(from + i)).filter((id) => id !== null),
  };
}

/** Point the model's row questions and confirmed values at the source (the model keeps layers and columns). */
export function adaptModel(model, source) {
  model.rowIds = () => rowIdsOf(source);
  model.rowAt = (position) => source.rowIdAt(position);
  model.rowPosition = (rowId) => source.positionOf(rowId);
  model.confirmedValue = (rowId, colId) => {
    const position = source.positionOf(rowId);
    if (position < 0) return "";
    const run = source.runAt(position);
    return run.cells[position - run.start].get(colId) ?? "";
  };
  // Everything held is the sheet as of lastSeq: an edit made on it rests on lastSeq.
  model.confirmedSeq = () => source.lastSeq;
  // The server's cells are the source's; the model does not keep a copy of them.
  const applyEvents = model.applyEvents.bind(model);
  model.applyEvents = (events) => {
    const result = applyEvents(events);
    model.confirmed.clear();
    return result;
  };
  return model;
}

/** Rows of edits still waiting in the model: the source keeps them however far the user scrolls. */
export function pinPending(model, source) {
  const ids = new Set();
  for (const layer of model.layers) for (const change of layer.changes ?? []) ids.add(change.row_id);
  source.pinned = ids;
}

/**
 * A WindowSource reading the cells API (`row_from`, `row_count`); fetches
 * retry on a network failure (the source asks again when the rows are next
 * wanted).
 */
export function cellsSource(config, { onChange = () => {}, onError = () => {}, windowSize = WINDOW_ROWS, prefetch = windowSize } = {}) {
  const load = async (rowFrom, rowCount) => {
    const query = new URLSearchParams({ row_from: rowFrom, row_count: rowCount });
    const response = await fetch(`${config.cellsUrl}?${query}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || `the server answered ${response.status}`);
    return body;
  };
  return new WindowSource({ load, windowSize, prefetch, budget: windowSize * 10, onChange, onError, schedule: (task) => queueMicrotask(task) });
}
