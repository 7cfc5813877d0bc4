// jspreadsheet-ce 5 behind a small interface: user edits come out as one
// list of changes per gesture (a typed cell, a paste, a cleared range, an
// undo); values set from the server go in without being reported back.

import { cellKey, cellName } from "./model.js";

const FLASH_CLASS = "ls-remote-change";

export class GridBinding {
  /**
   * options: rows, cols, canEdit, data (rows x cols strings), height (px),
   * baseSeq(row, col) -> the seq the user's view of the cell rests on,
   * onUserChanges(changes) with changes [{row, col, value, base_seq?}],
   * contextMenu (optional) as in the jspreadsheet option, called with {row, col, items, section}.
   */
  constructor(element, options) {
    this.options = options;
    this.editing = null; // {key, baseSeq} of the cell whose editor is open
    this.deferred = new Set(); // server values that arrived while that editor was open
    this.applying = false;
    const [worksheet] = jspreadsheet(element, {
      worksheets: [this.worksheetOptions(options)],
      // A ledger stores what people typed: no formula evaluation, no
      // rewriting of "=..." values, no HTML.
      parseFormulas: false,
      about: false,
      // options.contextMenu({row, col, items, section}) -> the menu's items, or false for none.
      contextMenu: (_worksheet, x, y, _event, items, section) =>
        options.contextMenu ? options.contextMenu({ row: Number(y), col: Number(x), items, section }) : false,
      onafterchanges: (_worksheet, changes) => this.reportChanges(changes),
      onundo: (_worksheet, record) => this.reportHistory(record),
      onredo: (_worksheet, record) => this.reportHistory(record),
      oneditionstart: (_worksheet, _td, x, y) => {
        const row = Number(y);
        const col = Number(x);
        this.editing = { key: cellKey(row, col), baseSeq: options.baseSeq(row, col) };
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

  worksheetOptions({ rows, cols, canEdit, data, height }) {
    return {
      data,
      minDimensions: [cols, rows],
      columns: Array.from({ length: cols }, () => ({ type: "text", width: 128, align: "left" })),
      editable: canEdit,
      tableOverflow: true,
      tableWidth: "100%",
      tableHeight: `${height}px`,
      // Only the rows in view are in the DOM on big sheets.
      lazyLoading: rows > 100,
      secureFormulas: false,
      wordWrap: false,
      // The sheet's size is fixed by the server: no structural edits.
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

  value(row, col) {
    const value = this.worksheet.getValueFromCoords(col, row);
    return value === null || value === undefined ? "" : String(value);
  }

  /** Every non-empty cell shown, as {"B3": "value"} (the automation handle's cells()). */
  namedCells() {
    const cells = {};
    for (let row = 0; row < this.options.rows; row++) {
      for (let col = 0; col < this.options.cols; col++) {
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

  isEditing(key) {
    return this.editing !== null && this.editing.key === key;
  }

  /**
   * Show server-side values: cells [{row, col, value, flash}]. Cells under an
   * open editor wait for it to close, so a remote edit never eats what the
   * user is typing.
   */
  show(cells) {
    const updates = [];
    const flashes = [];
    for (const cell of cells) {
      const key = cellKey(cell.row, cell.col);
      if (this.isEditing(key)) {
        this.deferred.add(key);
        continue;
      }
      if (this.value(cell.row, cell.col) !== cell.value) {
        updates.push({ x: cell.col, y: cell.row, value: cell.value });
      }
      if (cell.flash) flashes.push(cell);
    }
    if (updates.length) this.quietly(() => this.worksheet.setValue(updates, null, true));
    for (const cell of flashes) this.flash(cell.row, cell.col);
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

  flash(row, col) {
    const td = this.worksheet.getCellFromCoords(col, row);
    if (!td) return;
    td.classList.remove(FLASH_CLASS);
    void td.offsetWidth; // restart the animation when the same cell changes again
    td.classList.add(FLASH_CLASS);
    td.addEventListener("animationend", () => td.classList.remove(FLASH_CLASS), { once: true });
  }

  reportChanges(changes) {
    const byKey = new Map();
    for (const change of changes) {
      const value = change.value === null || change.value === undefined ? "" : String(change.value);
      const old = change.oldValue === null || change.oldValue === undefined ? "" : String(change.oldValue);
      if (value === old) continue;
      const row = Number(change.y);
      const col = Number(change.x);
      byKey.set(cellKey(row, col), { row, col, value });
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
      byKey.set(cellKey(row, col), { row, col, value: this.value(row, col) });
    }
    this.emit([...byKey.values()]);
  }

  emit(changes) {
    if (!changes.length) return;
    for (const change of changes) {
      const key = cellKey(change.row, change.col);
      const base = this.editing && this.editing.key === key ? this.editing.baseSeq : this.options.baseSeq(change.row, change.col);
      if (base !== undefined) change.base_seq = base;
    }
    this.options.onUserChanges(changes);
  }
}
