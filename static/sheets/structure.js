// Inserting and deleting rows and columns from the grid: the context menu
// items, the keyboard shortcuts (as in Google Sheets), and the operations
// they make (docs/protocol.md: insert_rows, delete_rows, insert_cols,
// delete_cols). The page chooses the ids of what it inserts, so that the
// new rows can be typed into before the server has acknowledged them.

import { columnName } from "./model.js";

// docs/protocol.md: an operation names at most this many ids.
const MAX_IDS = 10000;

export const SHORTCUTS = Object.freeze({
  insertBefore: "Ctrl+Alt+=",
  insertAfter: "Ctrl+Alt+Shift+=",
  remove: "Ctrl+Alt+-",
});

// crypto.randomUUID exists only in secure contexts (https, localhost); a
// plain-http LAN address still has getRandomValues. A UUID is 36
// characters of [0-9a-f-]: a valid client_event_id and a valid row id.
export function newId() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const AXES = {
  rows: { insert: "insert_rows", remove: "delete_rows", ids: "row_ids", one: "row", many: "rows" },
  cols: { insert: "insert_cols", remove: "delete_cols", ids: "col_ids", one: "column", many: "columns" },
};

export class StructureCommands {
  /**
   * model: the SheetModel; submit(message): queue one operation (the page
   * adds it to the model and the outbox); changed(): redraw the grid's
   * rows and columns; refuse(text): tell the user why nothing happened;
   * maxRows, maxCols: the sheet's limits. grid (a GridBinding) is set once
   * it exists.
   */
  constructor({ model, submit, changed, refuse, maxRows, maxCols }) {
    Object.assign(this, { model, submit, changed, refuse, maxRows, maxCols });
    this.grid = null;
  }

  ids(axis) {
    return axis === "rows" ? this.model.rowIds() : this.model.colIds();
  }

  /** Insert as many rows (columns) as the block spans, before or after it. */
  insertBeside(axis, block, before) {
    const [first, last] = axis === "rows" ? [block.top, block.bottom] : [block.left, block.right];
    const ids = this.ids(axis);
    const after = before ? (first > 0 ? ids.at(first - 1) : null) : ids.at(last);
    this.insert(axis, after, last - first + 1);
  }

  /** Delete every row (column) the block spans. */
  removeBlock(axis, block) {
    const [first, last] = axis === "rows" ? [block.top, block.bottom] : [block.left, block.right];
    const ids = this.ids(axis).slice(first, last + 1);
    if (ids.length >= this.ids(axis).length) {
      const { one } = AXES[axis];
      this.refuse(`the grid needs at least one ${one}: select fewer ${AXES[axis].many} to delete.`);
      return;
    }
    this.removeIds(axis, ids);
  }

  /** A paste past the end needs more rows and columns: add them at the end, now. */
  grow({ rows, cols }) {
    if (cols > 0) this.insert("cols", this.ids("cols").at(-1) ?? null, cols);
    if (rows > 0) this.insert("rows", this.ids("rows").at(-1) ?? null, rows);
  }

  insert(axis, after, count) {
    const limit = axis === "rows" ? this.maxRows : this.maxCols;
    if (this.ids(axis).length + count > limit) {
      this.refuse(`a sheet holds at most ${limit.toLocaleString()} ${AXES[axis].many}.`);
      return;
    }
    const spec = AXES[axis];
    let anchor = after;
    for (let done = 0; done < count; done += MAX_IDS) {
      const ids = Array.from({ length: Math.min(MAX_IDS, count - done) }, newId);
      this.submit({ type: spec.insert, after: anchor, [spec.ids]: ids });
      anchor = ids[ids.length - 1];
    }
    this.changed();
  }

  removeIds(axis, ids) {
    const spec = AXES[axis];
    for (let done = 0; done < ids.length; done += MAX_IDS) {
      this.submit({ type: spec.remove, [spec.ids]: ids.slice(done, done + MAX_IDS) });
    }
    this.changed();
  }
}

function span(axis, first, last) {
  const name = axis === "rows" ? (i) => String(i + 1) : columnName;
  return first === last ? name(first) : `${name(first)}–${name(last)}`;
}

function items(structure, axis, block, withShortcuts) {
  const [first, last] = axis === "rows" ? [block.top, block.bottom] : [block.left, block.right];
  const count = last - first + 1;
  const { one, many } = AXES[axis];
  const noun = count === 1 ? one : `${count} ${many}`;
  const [before, after] = axis === "rows" ? ["above", "below"] : ["left", "right"];
  const shortcut = (key) => (withShortcuts ? { shortcut: SHORTCUTS[key] } : {});
  const capital = `${one[0].toUpperCase()}${one.slice(1)}`;
  return [
    { title: `Insert ${noun} ${before}`, ...shortcut("insertBefore"), onclick: () => structure.insertBeside(axis, block, true) },
    { title: `Insert ${noun} ${after}`, ...shortcut("insertAfter"), onclick: () => structure.insertBeside(axis, block, false) },
    {
      title: `Delete ${count === 1 ? one : many} ${span(axis, first, last)}`,
      ...shortcut("remove"),
      onclick: () => structure.removeBlock(axis, block),
      tooltip: `${capital}s go for everyone, with their cells; the history keeps them.`,
    },
  ];
}

/**
 * The context menu items for rows and columns: on a row header, the rows;
 * on a column header, the columns; on a cell, both, for every row and
 * column of the selection.
 */
export function structureMenu(structure, selection, { row, col, section }) {
  const block = selection ?? { top: row ?? 0, bottom: row ?? 0, left: col ?? 0, right: col ?? 0, whole: null };
  if (section === "row") return items(structure, "rows", block, true);
  if (section === "header") return items(structure, "cols", block, true);
  if (section !== "cell") return [];
  const columnsFirst = block.whole === "cols";
  return [
    ...items(structure, "rows", block, !columnsFirst),
    { type: "line" },
    ...items(structure, "cols", block, columnsFirst),
  ];
}

/**
 * Ctrl+Alt+= inserts rows above the selection (columns to its left when
 * whole columns are selected), Ctrl+Alt+Shift+= below (right), Ctrl+Alt+-
 * deletes them: as many as are selected.
 */
export function bindStructureShortcuts(structure, { isEditing }) {
  // Capture phase: the grid's own document listener must not see these keys.
  window.addEventListener(
    "keydown",
    (event) => {
      if (!event.ctrlKey || !event.altKey || event.metaKey) return;
      const insert = event.code === "Equal" || event.code === "NumpadAdd";
      const remove = event.code === "Minus" || event.code === "NumpadSubtract";
      if (!insert && !remove) return;
      if (isEditing() || event.target?.closest?.("#cell-history")) return;
      const block = structure.grid?.selection();
      if (!block) return;
      event.preventDefault();
      event.stopPropagation();
      const axis = block.whole === "cols" ? "cols" : "rows";
      if (remove) structure.removeBlock(axis, block);
      else structure.insertBeside(axis, block, !event.shiftKey);
    },
    true,
  );
}
