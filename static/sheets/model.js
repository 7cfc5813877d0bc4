// The sheet as this tab knows it, keyed by row and column ids: the
// server's confirmed order of rows and columns and its cells, plus this
// tab's own operations that the ledger has not folded in yet, as layers.
// Pure: no DOM, no socket; grid.js feeds it frames and user operations and
// asks it what to show at which position.
//
// A layer names ids, never positions, so a remote insert or delete above it
// moves it with its row (docs/protocol.md: a cell belongs to its row and
// column). Positions shown are the confirmed order with the pending local
// structure layers applied on top, the way the server will apply them.

import { Axis } from "./axis.js";

export function cellKey(rowId, colId) {
  return `${rowId}|${colId}`; // "|" cannot occur in an id (^[A-Za-z0-9_-]{1,36}$)
}

export function parseKey(key) {
  const bar = key.indexOf("|");
  return [key.slice(0, bar), key.slice(bar + 1)];
}

// "A".."Z", "AA".. as in every spreadsheet; the protocol stays 0-based.
export function columnName(col) {
  let name = "";
  for (let n = col + 1; n > 0; n = Math.floor((n - 1) / 26)) {
    name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  }
  return name;
}

export function cellName(row, col) {
  return `${columnName(col)}${row + 1}`;
}

/**
 * The sheet's state as the cells API or a snapshot frame gives it, with
 * ids. A server from before rows had identity sends positions only; its
 * rows and columns are r0, r1 … and c0, c1 … (docs/protocol.md, section 3),
 * and the page's config says how many there are.
 */
export function withIds(state, { rows, cols }) {
  const rowIds = state.row_ids ?? Array.from({ length: rows }, (_, i) => `r${i}`);
  const colIds = state.col_ids ?? Array.from({ length: cols }, (_, i) => `c${i}`);
  const cells = state.cells.map((cell) => ({
    ...cell,
    row_id: cell.row_id ?? rowIds[cell.row],
    col_id: cell.col_id ?? colIds[cell.col],
  }));
  return { ...state, row_ids: rowIds, col_ids: colIds, cells };
}

const STRUCTURE = {
  insert_rows: { axis: "rows", ids: "row_ids", insert: true },
  delete_rows: { axis: "rows", ids: "row_ids", insert: false },
  insert_cols: { axis: "cols", ids: "col_ids", insert: true },
  delete_cols: { axis: "cols", ids: "col_ids", insert: false },
};

const EVENT_STRUCTURE = {
  RowsInserted: { axis: "rows", ids: "row_ids", position: "row" },
  RowsDeleted: { axis: "rows", ids: "row_ids", positions: "rows" },
  ColumnsInserted: { axis: "cols", ids: "col_ids", position: "col" },
  ColumnsDeleted: { axis: "cols", ids: "col_ids", positions: "cols" },
};

export class SheetModel {
  constructor() {
    this.rows = new Axis();
    this.cols = new Axis();
    // key -> {value, seq}: the server's cells as of the last applied seq.
    this.confirmed = new Map();
    // This tab's operations in the order they were made: edits
    // {kind: "edit", changes, seen} and structure {kind: type, ids, after}.
    // A layer stays until its events have been applied (seqs known and <=
    // lastSeq) or the server refused it, so the grid never flickers back
    // between the ack and the events frame.
    this.layers = [];
    // Rows and columns this tab saw deleted: id -> {by, position}, so that a
    // refused edit can say who deleted the row the user typed into.
    this.deletedRows = new Map();
    this.deletedCols = new Map();
    this.shown = null; // cached {rows, cols, rowIndex, colIndex}
  }

  // ---- what is shown ----

  view() {
    if (this.shown === null) {
      let rows = this.rows;
      let cols = this.cols;
      for (const layer of this.layers) {
        const spec = STRUCTURE[layer.kind];
        if (!spec) continue;
        if (spec.axis === "rows" && rows === this.rows) rows = rows.clone();
        if (spec.axis === "cols" && cols === this.cols) cols = cols.clone();
        const axis = spec.axis === "rows" ? rows : cols;
        if (spec.insert) axis.insertAfter(layer.after, layer.ids);
        else axis.remove(layer.ids);
      }
      const rowIds = rows.live();
      const colIds = cols.live();
      this.shown = {
        rows: rowIds,
        cols: colIds,
        rowIndex: new Map(rowIds.map((id, i) => [id, i])),
        colIndex: new Map(colIds.map((id, i) => [id, i])),
      };
    }
    return this.shown;
  }

  invalidate() {
    this.shown = null;
  }

  rowIds() {
    return this.view().rows;
  }

  colIds() {
    return this.view().cols;
  }

  rowAt(position) {
    return this.view().rows[position];
  }

  colAt(position) {
    return this.view().cols[position];
  }

  // The position shown, or -1 when the row is not shown (deleted, or unknown).
  rowPosition(rowId) {
    const found = this.view().rowIndex.get(rowId);
    return found === undefined ? -1 : found;
  }

  colPosition(colId) {
    const found = this.view().colIndex.get(colId);
    return found === undefined ? -1 : found;
  }

  value(rowId, colId) {
    const key = cellKey(rowId, colId);
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const change = this.layers[i].byKey?.get(key);
      if (change) return change.value;
    }
    return this.confirmedValue(rowId, colId);
  }

  confirmedValue(rowId, colId) {
    const cell = this.confirmed.get(cellKey(rowId, colId));
    return cell ? cell.value : "";
  }

  // The seq the user's view of the cell is based on, for the edit's base_seq.
  // Undefined when this tab's own unacknowledged edit of the cell is still in
  // flight: its seq is unknown, and the user did see their own value.
  baseSeq(rowId, colId) {
    const key = cellKey(rowId, colId);
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i];
      if (!layer.byKey?.has(key)) continue;
      if (!layer.seqs) return undefined;
      return layer.seqOf(key);
    }
    return this.confirmedSeq(key);
  }

  // The seq of the server's value of the cell (0: never edited).
  confirmedSeq(key) {
    const cell = this.confirmed.get(key);
    return cell ? cell.seq : 0;
  }

  hasLocal(key) {
    return this.layers.some((layer) => layer.byKey?.has(key));
  }

  // Every key with a value shown (confirmed or local), for a full redraw.
  keys() {
    const keys = new Set(this.confirmed.keys());
    for (const layer of this.layers) for (const key of layer.byKey?.keys() ?? []) keys.add(key);
    return keys;
  }

  // ---- what the server says ----

  /**
   * Replace everything the server said so far (the cells API, a snapshot):
   * {row_ids, col_ids, cells: [{row_id, col_id, value, last_seq}]}. Own
   * layers stay on top. Returns the keys whose display may have changed.
   */
  load({ row_ids: rowIds, col_ids: colIds, cells }) {
    const touched = new Set(this.confirmed.keys());
    this.rows = new Axis([...rowIds]);
    this.cols = new Axis([...colIds]);
    this.confirmed.clear();
    for (const cell of cells) {
      const key = cellKey(cell.row_id, cell.col_id);
      this.confirmed.set(key, { value: cell.value, seq: cell.last_seq });
      touched.add(key);
    }
    this.invalidate();
    return touched;
  }

  /**
   * Apply contiguous events (the connection checked their order). Returns
   * {cells: keys whose display may have changed, structure: whether the
   * order of rows or columns changed}.
   */
  applyEvents(events) {
    const touched = new Set();
    let structure = false;
    for (const event of events) {
      const spec = EVENT_STRUCTURE[event.type];
      if (event.type === "CellChanged") {
        const key = cellKey(event.row_id, event.col_id);
        this.confirmed.set(key, { value: event.new_value, seq: event.seq });
        touched.add(key);
      } else if (spec) {
        structure = true;
        this.applyStructureEvent(spec, event);
      }
    }
    if (structure) this.invalidate();
    return { cells: touched, structure };
  }

  applyStructureEvent(spec, event) {
    const axis = spec.axis === "rows" ? this.rows : this.cols;
    const ids = event[spec.ids];
    if (spec.position) {
      axis.insertAt(event[spec.position], event.after, ids);
      return;
    }
    axis.remove(ids);
    const gone = new Set(ids);
    const deleted = spec.axis === "rows" ? this.deletedRows : this.deletedCols;
    ids.forEach((id, i) => deleted.set(id, { by: event.broadcaster, position: event[spec.positions]?.[i] }));
    const side = spec.axis === "rows" ? 0 : 1;
    for (const key of this.confirmed.keys()) {
      if (gone.has(parseKey(key)[side])) this.confirmed.delete(key);
    }
  }

  // Set cells whose current state the server reported (a conflict); older news never wins.
  applyServerCells(cells) {
    const touched = new Set();
    for (const cell of cells) {
      const key = cellKey(cell.row_id, cell.col_id);
      const known = this.confirmed.get(key);
      if (!known || known.seq <= cell.last_seq) {
        this.confirmed.set(key, { value: cell.value, seq: cell.last_seq });
        touched.add(key);
      }
    }
    return touched;
  }

  // ---- this tab's operations ----

  /**
   * An edit: changes [{row_id, col_id, value, base_seq?}], as sent; seen
   * [{row, col}], the positions the user saw, for messages about it.
   */
  addEdit(id, changes, seen = []) {
    this.layers.push(new EditLayer(id, changes, seen));
  }

  /** A structure operation: the message as sent ({type, after?, row_ids | col_ids}). */
  addStructure(id, message) {
    const spec = STRUCTURE[message.type];
    if (!spec) throw new Error(`not a structure operation: ${message.type}`);
    this.layers.push(new StructureLayer(id, message.type, message[spec.ids], message.after ?? null));
    this.invalidate();
  }

  acknowledge(id, seqs) {
    const layer = this.layers.find((l) => l.id === id);
    if (layer) layer.seqs = seqs;
  }

  // Drop a refused operation and return its layer (null if unknown), so the grid shows the server's state again.
  reject(id) {
    const index = this.layers.findIndex((l) => l.id === id);
    if (index < 0) return null;
    const [layer] = this.layers.splice(index, 1);
    if (layer.kind !== "edit") this.invalidate();
    return layer;
  }

  pendingCount() {
    return this.layers.filter((layer) => !layer.seqs).length;
  }

  // Drop the layers whose events are all applied; the confirmed state now shows them.
  settle(lastSeq) {
    const touched = new Set();
    let structure = false;
    this.layers = this.layers.filter((layer) => {
      if (!layer.seqs || Math.max(...layer.seqs) > lastSeq) return true;
      if (layer.kind === "edit") for (const key of layer.byKey.keys()) touched.add(key);
      else structure = true;
      return false;
    });
    if (structure) this.invalidate();
    return { cells: touched, structure };
  }
}

class EditLayer {
  constructor(id, changes, seen) {
    this.id = id;
    this.kind = "edit";
    this.changes = changes;
    this.seen = seen;
    this.seqs = null;
    this.byKey = new Map();
    for (const change of changes) this.byKey.set(cellKey(change.row_id, change.col_id), change);
  }

  // Seqs are consecutive and follow the order of the changes (docs/protocol.md, section 7).
  seqOf(key) {
    let seq;
    this.changes.forEach((change, i) => {
      if (cellKey(change.row_id, change.col_id) === key) seq = this.seqs[i];
    });
    return seq;
  }
}

class StructureLayer {
  constructor(id, kind, ids, after) {
    this.id = id;
    this.kind = kind;
    this.ids = ids;
    this.after = after;
    this.seqs = null;
  }
}
