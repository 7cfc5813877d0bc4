// The grid on SlickGrid, behind a small interface keyed by row and column
// ids: user edits come out as one list of changes per gesture (a typed
// cell, a paste, a cleared range, an undo); values and the order of rows
// and columns set from the page go in without being reported back. Only
// the rows in view are drawn: SlickGrid asks for rows by position
// (getLength / getItem), and the page's `rows` source answers from what it
// holds. Column 0 is the row numbers; the protocol's column c is grid
// column c + 1.

import { editorClass } from "./grid-editor.js";
import { editingMethods } from "./grid-editing.js";
import { bindGridKeys } from "./grid-keys.js";
import { ContextMenu } from "./context-menu.js";
import { gestureMethods } from "./grid-gestures.js";
import { mouseMethods } from "./grid-mouse.js";
import { cellKey, cellName, columnName } from "./model.js";
import { UndoStack } from "./grid-undo.js";

const FLASH_CLASS = "ls-remote-change";
const ROW_HEIGHT = 28;
const COLUMN_WIDTH = 128;

function text(value) {
  return value === null || value === undefined ? "" : String(value);
}

export class GridView {
  /**
   * options: rows {length(), idAt(i), positionOf(id)} (the order shown),
   * colIds, canEdit, value(rowId, colId), height (px), baseSeq(rowId,
   * colId), onUserChanges(changes [{row_id, col_id, row, col, value,
   * base_seq?}]), onEditorClosed(keys), onGrow({rows, cols}),
   * onEditorLost({rowId, colId, row, col, text}), contextMenu({row, col,
   * items, section}) -> items or false, onViewport(first, last).
   */
  constructor(element, options) {
    this.options = options;
    this.element = element;
    this.rows = options.rows;
    this.colIds = [...options.colIds];
    this.colIndex = new Map(this.colIds.map((id, i) => [id, i]));
    this.editing = null; // {key, rowId, colId, baseSeq, editor} of the open editor
    this.deferred = new Set(); // keys of values that arrived while that editor was open
    this.startText = null; // the text the next editor opens with (typing over), or null for the cell's value
    this.typedAhead = null; // {row, cell, text, commit}: keys typed on a row not loaded yet
    this.whole = null; // "rows" | "cols" while whole rows or columns are selected
    this.undo = new UndoStack();
    this.menu = new ContextMenu();
    element.style.height = `${options.height}px`;
    const Editor = editorClass(this);
    const data = {
      getLength: () => this.rows.length(),
      getItem: (i) => ({ row: i }),
      getItemMetadata: (i) => ({ cssClasses: `ls-row-${i}` }),
    };
    this.grid = new Slick.Grid(element, data, this.columns(Editor), {
      editable: options.canEdit,
      enableCellNavigation: true,
      autoEdit: false,
      autoCommitEdit: false,
      asyncEditorLoading: false,
      enableColumnReorder: false,
      enableTextSelectionOnCells: false,
      rowHeight: ROW_HEIGHT,
      frozenColumn: 0,
      editCommandHandler: (_item, _column, command) => this.committed(command),
    });
    this.Editor = Editor;
    const selection = new Slick.CellSelectionModel({ selectActiveCell: true });
    this.grid.setSelectionModel(selection);
    selection.onSelectedRangesChanged.subscribe(() => {
      if (!this.keepWhole) this.whole = null;
    });
    this.bindMouse();
    bindGridKeys(this);
    this.grid.onViewportChanged.subscribe(() => this.viewportChanged());
    this.grid.setActiveCell(0, 1, false, false, true);
    this.viewportChanged();
  }

  columns(Editor) {
    const numbers = {
      id: "ls-rownum", name: "", field: "row", width: 76, resizable: false, focusable: false, selectable: false,
      cssClass: "ls-rownum", headerCssClass: "ls-corner", formatter: (row) => String(row + 1),
    };
    return [numbers, ...this.colIds.map((colId, col) => ({
      id: colId,
      name: columnName(col),
      field: colId,
      width: COLUMN_WIDTH,
      editor: this.options.canEdit ? Editor : undefined,
      formatter: (row) => this.format(row, col),
    }))];
  }

  format(row, col) {
    const rowId = this.rows.idAt(row);
    if (rowId === null || rowId === undefined) return { text: "", addClasses: "ls-loading" };
    return { text: this.options.value(rowId, this.colIds[col]) };
  }

  viewportChanged() {
    const { top, bottom } = this.grid.getViewport();
    this.options.onViewport?.(top, bottom);
  }

  // ---- the selection ----

  anchorRow() {
    return this.grid.getActiveCell()?.row ?? 0;
  }

  inSelection(row, col) {
    const block = this.selection();
    if (!block) return false;
    return (row === null || (row >= block.top && row <= block.bottom)) && (col === null || (col >= block.left && col <= block.right));
  }

  /** Select rows (or columns) first … last whole. */
  selectWhole(axis, first, last) {
    const [lo, hi] = [Math.min(first, last), Math.max(first, last)];
    if (axis === "rows") this.setRange(lo, 0, hi, this.colIds.length - 1, "rows");
    else this.setRange(0, lo, this.rows.length() - 1, hi, "cols");
  }

  // Select a block by protocol positions; the active cell stays at (r1, c1) and is not scrolled to for whole columns.
  setRange(r1, c1, r2, c2, whole = null) {
    const grid = this.grid;
    this.keepWhole = true;
    try {
      const active = grid.getActiveCell();
      if (!active || active.row !== r1 || active.cell !== c1 + 1) grid.setActiveCell(r1, c1 + 1);
      const range = new Slick.Range(Math.min(r1, r2), Math.min(c1, c2) + 1, Math.max(r1, r2), Math.max(c1, c2) + 1);
      grid.getSelectionModel().setSelectedRanges([range]);
      this.whole = whole;
    } finally {
      this.keepWhole = false;
    }
  }

  /** The {row, col} of the active cell, or null. */
  selectedCell() {
    const active = this.grid.getActiveCell();
    if (!active || active.cell < 1) return null;
    return { row: active.row, col: active.cell - 1 };
  }

  /** The selected block as {top, bottom, left, right} (inclusive positions), with whole: "rows" | "cols" | null. */
  selection() {
    const [range] = this.grid.getSelectionModel().getSelectedRanges();
    let block;
    if (range) {
      block = { top: range.fromRow, bottom: range.toRow, left: Math.max(0, range.fromCell - 1), right: Math.max(0, range.toCell - 1) };
    } else {
      const cell = this.selectedCell();
      if (!cell) return null;
      block = { top: cell.row, bottom: cell.row, left: cell.col, right: cell.col };
    }
    const allRows = block.top === 0 && block.bottom === this.rows.length() - 1;
    const allCols = block.left === 0 && block.right === this.colIds.length - 1;
    block.whole = this.whole ?? (allCols && !allRows ? "rows" : allRows && !allCols ? "cols" : null);
    return block;
  }

  /** Select one cell, scroll it into view and give the grid the focus, so that keystrokes type into it. */
  select(row, col) {
    if (this.editing) this.grid.getEditorLock().commitCurrentEdit();
    this.menu.close();
    this.grid.scrollRowIntoView(row, false);
    this.setRange(row, col, row, col);
    this.grid.focus();
    return new Promise((resolve) => requestAnimationFrame(() => resolve()));
  }

  /** Bring the row into view without selecting anything; resolves once it is drawn. */
  scrollTo(row) {
    this.grid.scrollRowIntoView(row, false);
    this.grid.render();
    return new Promise((resolve) => requestAnimationFrame(() => resolve()));
  }

  // ---- values ----

  value(row, col) {
    const rowId = this.rows.idAt(row);
    if (rowId === null || rowId === undefined || col < 0 || col >= this.colIds.length) return "";
    return text(this.options.value(rowId, this.colIds[col]));
  }

  valueOf(rowId, colId) {
    return text(this.options.value(rowId, colId));
  }

  /** Every non-empty cell held, as {"B3": "value"} (the automation handle's cells()). */
  namedCells() {
    const cells = {};
    const held = this.rows.held ? this.rows.held() : Array.from({ length: this.rows.length() }, (_, i) => i);
    for (const row of held) {
      for (let col = 0; col < this.colIds.length; col++) {
        const value = this.value(row, col);
        if (value !== "") cells[cellName(row, col)] = value;
      }
    }
    return cells;
  }

  isEditing(key) {
    return this.editing !== null && this.editing.key === key;
  }

  /** Show the model's values: cells [{rowId, colId, value, flash}]; a cell under the open editor waits for it to close. */
  show(cells) {
    const flashes = [];
    for (const cell of cells) {
      const row = this.rows.positionOf(cell.rowId);
      const col = this.colIndex.get(cell.colId);
      if (row < 0 || col === undefined) continue;
      if (this.isEditing(cellKey(cell.rowId, cell.colId))) {
        this.deferred.add(cellKey(cell.rowId, cell.colId));
        continue;
      }
      this.grid.updateCell(row, col + 1);
      if (cell.flash) flashes.push([row, col]);
    }
    for (const [row, col] of flashes) this.flash(row, col);
  }

  /** Rows [from, to) changed (a window arrived, rows shifted): draw them again, keeping an open editor. */
  redrawRows(ranges) {
    const editorRow = this.editing ? this.rows.positionOf(this.editing.rowId) : -1;
    const rows = [];
    const { top, bottom } = this.grid.getRenderedRange();
    for (const [from, to] of ranges) {
      for (let row = Math.max(from, top); row < Math.min(to, bottom + 1); row++) if (row !== editorRow) rows.push(row);
    }
    if (rows.length) this.grid.invalidateRows(rows);
    this.grid.render();
    if (this.typedAhead) setTimeout(() => this.landTypedAhead(), 0);
  }

  flash(row, col) {
    const node = this.grid.getCellNode(row, col + 1);
    if (!node) return;
    node.dataset.y = String(row);
    node.dataset.x = String(col);
    node.classList.remove(FLASH_CLASS);
    void node.offsetWidth; // restart the animation when the same cell changes again
    node.classList.add(FLASH_CLASS);
    node.addEventListener("animationend", () => node.classList.remove(FLASH_CLASS), { once: true });
  }

  /**
   * The rows or columns changed (inserted, deleted, a new order): draw them
   * again, keeping the selection and an open editor on their cells.
   */
  setOrder(rows, colIds, saved = null) {
    const before = saved ?? this.selectedIds();
    const sameCols = colIds.length === this.colIds.length && colIds.every((id, i) => id === this.colIds[i]);
    let open = null;
    if (this.editing) {
      const { rowId, colId, editor } = this.editing;
      if (rows.positionOf(rowId) < 0 || !colIds.includes(colId)) {
        this.dropEditor();
      } else {
        open = { rowId, colId, text: editor.text(), caret: editor.input.selectionStart, typedOver: editor.typedOver, target: editor.target };
        this.quietClose = true;
        this.grid.getEditorLock().cancelCurrentEdit();
        this.quietClose = false;
      }
    }
    this.rows = rows;
    if (!sameCols) {
      this.colIds = [...colIds];
      this.colIndex = new Map(this.colIds.map((id, i) => [id, i]));
      this.grid.setColumns(this.columns(this.Editor));
    }
    this.grid.updateRowCount();
    this.grid.invalidateAllRows();
    this.grid.render();
    this.restoreSelection(before);
    if (open) this.reopen(open);
  }

  selectedIds() {
    const block = this.selection();
    if (!block) return null;
    const active = this.selectedCell() ?? { row: block.top, col: block.left };
    const id = (row, col) => [this.rows.idAt(row), this.colIds[col]];
    return { block, active: id(active.row, active.col), activeAt: active, from: id(block.top, block.left), to: id(block.bottom, block.right) };
  }

  // Put the selection back on the cells it was on; a corner whose row or column went stays at its position.
  restoreSelection(saved) {
    if (saved === null || !this.rows.length() || !this.colIds.length) return;
    const clampRow = (row) => Math.min(row, this.rows.length() - 1);
    const clampCol = (col) => Math.min(col, this.colIds.length - 1);
    const where = ([rowId, colId], row, col) => {
      const at = rowId === null || rowId === undefined ? -1 : this.rows.positionOf(rowId);
      return [at >= 0 ? at : clampRow(row), this.colIndex.get(colId) ?? clampCol(col)];
    };
    const { block } = saved;
    let [r1, c1] = where(saved.from, block.top, block.left);
    let [r2, c2] = where(saved.to, block.bottom, block.right);
    const [ar, ac] = where(saved.active, saved.activeAt.row, saved.activeAt.col);
    if (block.whole === "cols") [r1, r2] = [0, this.rows.length() - 1];
    if (block.whole === "rows") [c1, c2] = [0, this.colIds.length - 1];
    this.keepWhole = true;
    try {
      this.grid.setActiveCell(ar, ac + 1, false, false, true);
      const range = new Slick.Range(Math.min(r1, r2), Math.min(c1, c2) + 1, Math.max(r1, r2), Math.max(c1, c2) + 1);
      this.grid.getSelectionModel().setSelectedRanges([range]);
      this.whole = block.whole;
    } finally {
      this.keepWhole = false;
    }
  }

  resize(height) {
    this.element.style.height = `${height}px`;
    this.grid.resizeCanvas();
  }
}

// Editing, the mouse and the value-changing gestures live in modules of their own.
Object.assign(GridView.prototype, editingMethods, mouseMethods, gestureMethods);
