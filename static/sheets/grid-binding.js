// jspreadsheet-ce 5 behind a small interface keyed by row and column ids:
// user edits come out as one list of changes per gesture (a typed cell, a
// paste, a cleared range, an undo); values and the order of rows and
// columns set from the model go in without being reported back.

import { insertRuns, keptIds, remapHistory, removeRuns } from "./grid-order.js";
import { cellKey, cellName } from "./model.js";

const FLASH_CLASS = "ls-remote-change";
const COLUMN = Object.freeze({ type: "text", width: 128, align: "left" });
// The library's own ways of inserting and deleting rows and columns (its
// menu, Enter on the last row, a paste past the end) stay off: every
// structure change goes through the model and the server. These switches
// are turned on only while this module changes the structure itself.
const STRUCTURE_SWITCHES = ["allowInsertRow", "allowDeleteRow", "allowInsertColumn", "allowDeleteColumn", "allowDeletingAllRows"];

function text(value) {
  return value === null || value === undefined ? "" : String(value);
}

export class GridBinding {
  /**
   * options: rowIds, colIds (the order shown), canEdit, value(rowId, colId),
   * height (px), baseSeq(rowId, colId) -> the seq the user's view of the
   * cell rests on, onUserChanges(changes) with changes
   * [{row_id, col_id, row, col, value, base_seq?}], onEditorClosed(keys),
   * onGrow({rows, cols}): a paste needs that many more rows and columns at
   * the end (the page inserts them synchronously, or not),
   * onEditorLost({row, col, text}): the row or column under an open editor
   * was deleted, contextMenu (optional) called with {row, col, items, section}.
   */
  constructor(element, options) {
    this.options = options;
    this.rowIds = [...options.rowIds];
    this.colIds = [...options.colIds];
    this.reindex();
    this.editing = null; // {key, rowId, colId, baseSeq} of the cell whose editor is open
    this.deferred = new Set(); // keys of server values that arrived while that editor was open
    const data = this.rowIds.map((rowId) => this.colIds.map((colId) => options.value(rowId, colId)));
    const [worksheet] = jspreadsheet(element, {
      worksheets: [this.worksheetOptions({ ...options, data })],
      // A ledger stores what people typed: no formula evaluation, no
      // rewriting of "=..." values, no HTML.
      parseFormulas: false,
      about: false,
      // options.contextMenu({row, col, items, section}) -> the menu's items, or false for none.
      contextMenu: (_worksheet, x, y, _event, items, section) =>
        options.contextMenu ? options.contextMenu({ row: y === null ? null : Number(y), col: x === null ? null : Number(x), items, section }) : false,
      onafterchanges: (_worksheet, changes) => this.reportChanges(changes),
      onundo: (_worksheet, record) => this.reportHistory(record),
      onredo: (_worksheet, record) => this.reportHistory(record),
      onbeforepaste: (_worksheet, rows, x, y) => this.beforePaste(rows, Number(x), Number(y)),
      oneditionstart: (_worksheet, _td, x, y) => {
        const rowId = this.rowIds[Number(y)];
        const colId = this.colIds[Number(x)];
        this.editing = { key: cellKey(rowId, colId), rowId, colId, baseSeq: options.baseSeq(rowId, colId) };
      },
      // jspreadsheet closes an open editor whenever the grid scrolls, and
      // focusing the new editor scrolls a cell at the grid's edge into
      // view: the first typed character was lost that way. Focus without
      // scrolling; the cell is already in view.
      oncreateeditor: (_worksheet, td) => {
        const input = td.querySelector("input, textarea");
        if (!input) return;
        const focus = input.focus.bind(input);
        input.focus = () => focus({ preventScroll: true });
      },
      oneditionend: () => {
        this.editing = null;
        const keys = this.deferred;
        this.deferred = new Set();
        if (keys.size) options.onEditorClosed(keys);
      },
    });
    this.worksheet = worksheet;
  }

  worksheetOptions({ canEdit, data, height }) {
    return {
      data,
      minDimensions: [this.colIds.length, this.rowIds.length],
      columns: this.colIds.map(() => ({ ...COLUMN })),
      editable: canEdit,
      tableOverflow: true,
      tableWidth: "100%",
      tableHeight: `${height}px`,
      // Only the rows in view are in the DOM on big sheets.
      lazyLoading: this.rowIds.length > 100,
      secureFormulas: false,
      wordWrap: false,
      allowInsertRow: false,
      allowManualInsertRow: false,
      allowInsertColumn: false,
      allowManualInsertColumn: false,
      allowDeleteRow: false,
      allowDeleteColumn: false,
      allowRenameColumn: false,
      allowComments: false,
      columnSorting: false,
      columnDrag: false,
      rowDrag: false,
      selectionCopy: canEdit,
    };
  }

  reindex() {
    this.rowIndex = new Map(this.rowIds.map((id, i) => [id, i]));
    this.colIndex = new Map(this.colIds.map((id, i) => [id, i]));
  }

  /** The position of a cell shown, or null when its row or column is not shown. */
  position(rowId, colId) {
    const row = this.rowIndex.get(rowId);
    const col = this.colIndex.get(colId);
    return row === undefined || col === undefined ? null : { row, col };
  }

  value(row, col) {
    return text(this.worksheet.getValueFromCoords(col, row));
  }

  /** Every non-empty cell shown, as {"B3": "value"} (the automation handle's cells()). */
  namedCells() {
    const cells = {};
    for (let row = 0; row < this.rowIds.length; row++) {
      for (let col = 0; col < this.colIds.length; col++) {
        const value = this.value(row, col);
        if (value !== "") cells[cellName(row, col)] = value;
      }
    }
    return cells;
  }

  /** The {row, col} of the selection's anchor cell, or null when nothing is selected. */
  selectedCell() {
    const selected = this.worksheet.selectedCell;
    if (!selected) return null;
    return { row: Number(selected[1]), col: Number(selected[0]) };
  }

  /**
   * The selected block as {top, bottom, left, right} (inclusive positions),
   * with whole: "rows" | "cols" | null when entire rows or columns are selected.
   */
  selection() {
    const selected = this.worksheet.selectedCell;
    if (!selected) return null;
    const [x1, y1, x2, y2] = selected.map(Number);
    const block = { top: Math.min(y1, y2), bottom: Math.max(y1, y2), left: Math.min(x1, x2), right: Math.max(x1, x2) };
    const allRows = block.top === 0 && block.bottom === this.rowIds.length - 1;
    const allCols = block.left === 0 && block.right === this.colIds.length - 1;
    block.whole = allCols && !allRows ? "rows" : allRows && !allCols ? "cols" : null;
    return block;
  }

  /** Select one cell and bring it into view, as a click on it would; the promise resolves once it is there. */
  select(row, col) {
    const worksheet = this.worksheet;
    if (worksheet.edition) worksheet.closeEditor(worksheet.edition[0], true);
    jspreadsheet.current = worksheet; // the worksheet that keystrokes go to
    // With lazy loading only 100 rows are in the DOM (the library has no
    // public way to load others): put the 100 around the cell's in it.
    const tr = worksheet.rows[row]?.element;
    if (worksheet.options.lazyLoading && tr && !worksheet.tbody.contains(tr)) {
      const first = Math.max(0, Math.min(row - 50, worksheet.rows.length - 100));
      worksheet.tbody.replaceChildren(...worksheet.rows.slice(first, first + 100).map((each) => each.element));
    }
    worksheet.updateSelectionFromCoords(col, row, col, row);
    const td = worksheet.getCellFromCoords(col, row);
    const view = worksheet.content.getBoundingClientRect();
    const box = td?.getBoundingClientRect();
    const visible = box && box.top >= view.top && box.bottom <= view.bottom && box.left >= view.left && box.right <= view.right;
    if (!td || visible) return Promise.resolve();
    td.scrollIntoView({ block: "nearest", inline: "nearest" });
    // The library closes an open editor when the grid scrolls: resolve once
    // the scroll events have been delivered, so that typing after it sticks.
    return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  }

  isEditing(key) {
    return this.editing !== null && this.editing.key === key;
  }

  /**
   * Show the model's values: cells [{rowId, colId, value, flash}]. Cells
   * under an open editor wait for it to close, so a remote edit never eats
   * what the user is typing; cells not shown are skipped.
   */
  show(cells) {
    const updates = [];
    const flashes = [];
    for (const cell of cells) {
      const at = this.position(cell.rowId, cell.colId);
      if (at === null) continue;
      if (this.isEditing(cellKey(cell.rowId, cell.colId))) {
        this.deferred.add(cellKey(cell.rowId, cell.colId));
        continue;
      }
      if (this.value(at.row, at.col) !== cell.value) updates.push({ x: at.col, y: at.row, value: cell.value });
      if (cell.flash) flashes.push(at);
    }
    if (updates.length) this.quietly(() => this.worksheet.setValue(updates, null, true));
    for (const at of flashes) this.flash(at.row, at.col);
  }

  /**
   * Make the grid show rows and columns in this order (ids), inserting and
   * deleting rows and columns in place so that the selection and an open
   * editor stay on their cells; inserted cells get value(rowId, colId).
   */
  setOrder(rowIds, colIds, value) {
    const sameRows = rowIds.length === this.rowIds.length && rowIds.every((id, i) => id === this.rowIds[i]);
    const sameCols = colIds.length === this.colIds.length && colIds.every((id, i) => id === this.colIds[i]);
    if (sameRows && sameCols) return;
    const worksheet = this.worksheet;
    const oldRows = this.rowIds;
    const oldCols = this.colIds;
    const selection = this.selectedIds();
    const keptRows = sameRows ? new Set(rowIds) : keptIds(oldRows, rowIds);
    const keptCols = sameCols ? new Set(colIds) : keptIds(oldCols, colIds);
    if (this.editing && (!keptRows.has(this.editing.rowId) || !keptCols.has(this.editing.colId))) this.dropEditor();
    this.structurally(() => {
      removeRuns(oldRows, keptRows, (start, count) => worksheet.deleteRow(start, count));
      removeRuns(oldCols, keptCols, (start, count) => worksheet.deleteColumn(start, count));
      this.rowIds = oldRows.filter((id) => keptRows.has(id));
      this.colIds = oldCols.filter((id) => keptCols.has(id));
      insertRuns(colIds, keptCols, this.colIds, (at, count) => {
        const columns = Array.from({ length: count }, () => ({ ...COLUMN }));
        if (at < worksheet.headers.length) worksheet.insertColumn(count, at, true, columns);
        else worksheet.insertColumn(count, at - 1, false, columns);
      });
      insertRuns(rowIds, keptRows, this.rowIds, (at, count) => {
        if (at < worksheet.rows.length) worksheet.insertRow(count, at, true);
        else worksheet.insertRow(count, at - 1, false);
      });
    });
    this.rowIds = [...rowIds];
    this.colIds = [...colIds];
    this.reindex();
    // The library keeps the open editor's position too, and reads its row on Enter.
    const edition = worksheet.edition;
    if (edition) {
      edition[2] = edition[0].getAttribute("data-x");
      edition[3] = edition[0].getAttribute("data-y");
    }
    const fresh = [];
    rowIds.forEach((rowId, row) => {
      const newRow = !keptRows.has(rowId);
      colIds.forEach((colId, col) => {
        if (!newRow && keptCols.has(colId)) return;
        const shown = value(rowId, colId);
        if (shown !== "") fresh.push({ x: col, y: row, value: shown });
      });
    });
    if (fresh.length) this.quietly(() => worksheet.setValue(fresh, null, true));
    remapHistory(worksheet.history, (x, y) => this.position(oldRows[Number(y)], oldCols[Number(x)]));
    this.restoreSelection(selection);
  }

  selectedIds() {
    const selected = this.worksheet.selectedCell;
    if (!selected) return null;
    const [x1, y1, x2, y2] = selected.map(Number);
    // Whole rows or columns stay whole: a row inserted above a selected column does not unselect it.
    const allRows = Math.min(y1, y2) === 0 && Math.max(y1, y2) === this.rowIds.length - 1;
    const allCols = Math.min(x1, x2) === 0 && Math.max(x1, x2) === this.colIds.length - 1;
    return { x1, y1, x2, y2, allRows, allCols, from: [this.rowIds[y1], this.colIds[x1]], to: [this.rowIds[y2], this.colIds[x2]] };
  }

  // Put the selection back on the cells it was on; a corner whose row or column went stays at its position.
  restoreSelection(saved) {
    if (saved === null || !this.rowIds.length || !this.colIds.length) return;
    const clampRow = (row) => Math.min(row, this.rowIds.length - 1);
    const clampCol = (col) => Math.min(col, this.colIds.length - 1);
    const corner = ([rowId, colId], x, y) => [
      this.colIndex.get(colId) ?? clampCol(x),
      this.rowIndex.get(rowId) ?? clampRow(y),
    ];
    let [x1, y1] = corner(saved.from, saved.x1, saved.y1);
    let [x2, y2] = corner(saved.to, saved.x2, saved.y2);
    if (saved.allRows) [y1, y2] = [0, this.rowIds.length - 1];
    if (saved.allCols) [x1, x2] = [0, this.colIds.length - 1];
    this.quietly(() => this.worksheet.updateSelectionFromCoords(x1, y1, x2, y2));
  }

  // The row or column under the open editor is going: close it without saving and say what was lost.
  dropEditor() {
    const worksheet = this.worksheet;
    const { rowId, colId } = this.editing;
    const at = this.position(rowId, colId);
    const input = worksheet.edition?.[0]?.querySelector("input, textarea");
    const typed = input ? input.value : "";
    this.quietly(() => worksheet.closeEditor(worksheet.edition[0], false));
    this.editing = null;
    this.deferred = new Set();
    if (at) this.options.onEditorLost?.({ rowId, colId, row: at.row, col: at.col, text: typed });
  }

  // Run a programmatic change without events (so nothing is echoed back as
  // an edit) and without history (so Ctrl+Z undoes only the user's own edits).
  quietly(change) {
    const spreadsheet = this.worksheet.parent;
    const events = spreadsheet.ignoreEvents;
    const history = this.worksheet.ignoreHistory;
    spreadsheet.ignoreEvents = true;
    this.worksheet.ignoreHistory = true;
    try {
      change();
    } finally {
      spreadsheet.ignoreEvents = events;
      this.worksheet.ignoreHistory = history;
    }
  }

  // Quietly, with the library's structure switches on for just this change.
  structurally(change) {
    const options = this.worksheet.options;
    const saved = STRUCTURE_SWITCHES.map((name) => options[name]);
    for (const name of STRUCTURE_SWITCHES) options[name] = true;
    try {
      this.quietly(change);
    } finally {
      STRUCTURE_SWITCHES.forEach((name, i) => {
        options[name] = saved[i];
      });
    }
  }

  flash(row, col) {
    const td = this.worksheet.getCellFromCoords(col, row);
    if (!td) return;
    td.classList.remove(FLASH_CLASS);
    void td.offsetWidth; // restart the animation when the same cell changes again
    td.classList.add(FLASH_CLASS);
    td.addEventListener("animationend", () => td.classList.remove(FLASH_CLASS), { once: true });
  }

  // A paste past the last row or column: ask for the rows and columns it needs first.
  beforePaste(rows, x, y) {
    if (!this.options.canEdit) return false;
    const width = Math.max(0, ...rows.map((row) => row.length));
    const more = { rows: Math.max(0, y + rows.length - this.rowIds.length), cols: Math.max(0, x + width - this.colIds.length) };
    if (more.rows || more.cols) this.options.onGrow?.(more);
    return undefined; // paste the data as it is
  }

  reportChanges(changes) {
    const byKey = new Map();
    for (const change of changes) {
      const value = text(change.value);
      if (value === text(change.oldValue)) continue;
      this.collect(byKey, Number(change.y), Number(change.x), value);
    }
    this.emit([...byKey.values()]);
  }

  // Undo and redo run with the library's events switched off, so the cells
  // they restored are read back from the grid here.
  reportHistory(record) {
    if (!record || record.action !== "setValue") return;
    const byKey = new Map();
    for (const item of record.records) {
      const row = Number(item.y);
      const col = Number(item.x);
      this.collect(byKey, row, col, this.value(row, col));
    }
    this.emit([...byKey.values()]);
  }

  collect(byKey, row, col, value) {
    const rowId = this.rowIds[row];
    const colId = this.colIds[col];
    if (rowId === undefined || colId === undefined) return;
    byKey.set(cellKey(rowId, colId), { row_id: rowId, col_id: colId, row, col, value });
  }

  emit(changes) {
    if (!changes.length) return;
    for (const change of changes) {
      const key = cellKey(change.row_id, change.col_id);
      const base = this.isEditing(key) ? this.editing.baseSeq : this.options.baseSeq(change.row_id, change.col_id);
      if (base !== undefined) change.base_seq = base;
    }
    this.options.onUserChanges(changes);
  }
}
