// The grid view's side of the cell editor (grid-editor.js): which cell it
// opens on, what it says when it opens and closes, typing ahead of a row not
// loaded yet, reopening it after the order changed, committing its value as
// one change, and dropping it when its row or column goes. Methods of
// GridView (grid-view.js), kept apart.

import { cellKey } from "./model.js";

export const editingMethods = {
  editorTarget(active) {
    if (this.reopening) return this.reopening.target;
    const row = active.row;
    const col = active.cell - 1;
    const rowId = this.rows.idAt(row);
    const colId = this.colIds[col];
    return { row, col, rowId, colId, key: cellKey(rowId, colId), baseSeq: this.options.baseSeq(rowId, colId) };
  },

  editorOpened(editor) {
    this.editing = { ...editor.target, editor };
  },

  editorClosed(editor) {
    if (this.editing?.editor !== editor) return;
    this.editing = null;
    if (this.quietClose) return;
    const keys = this.deferred;
    this.deferred = new Set();
    if (keys.size) queueMicrotask(() => this.options.onEditorClosed(keys));
  },

  /** Open the editor on the cell under the active one, typing over it with `startText`, or with its value. */
  edit(startText = null) {
    const active = this.grid.getActiveCell();
    if (!this.options.canEdit || !active || active.cell < 1 || this.rows.idAt(active.row) === null) return false;
    this.startText = startText;
    this.grid.editActiveCell();
    this.startText = null;
    return this.editing !== null;
  },

  /** Enter in the editor: commit, and select the cell below the edited one (where its row is now). */
  commitAndMoveDown() {
    const { row, rowId } = this.editing;
    if (!this.grid.getEditorLock().commitCurrentEdit()) return;
    this.grid.focus();
    const at = this.rows.positionOf(rowId);
    const active = this.grid.getActiveCell();
    const next = Math.min((at >= 0 ? at : row) + 1, this.rows.length() - 1);
    if (active) this.setRange(next, active.cell - 1, next, active.cell - 1);
  },

  // Keys typed on a row still loading (a jump to the end, then typing at once) wait for it.
  typeAhead(key) {
    const active = this.grid.getActiveCell();
    if (!this.options.canEdit || !active || active.cell < 1 || this.rows.idAt(active.row) !== null) return;
    const waiting = this.typedAhead;
    if (waiting && waiting.row === active.row && waiting.cell === active.cell) waiting.text += key;
    else this.typedAhead = { row: active.row, cell: active.cell, text: key, commit: false };
  },

  // The rows arrived: open the editor with what was typed, and commit it if Enter was pressed too.
  landTypedAhead() {
    const waiting = this.typedAhead;
    if (!waiting || this.rows.idAt(waiting.row) === null) return;
    this.typedAhead = null;
    const active = this.grid.getActiveCell();
    if (!active || active.row !== waiting.row || active.cell !== waiting.cell || this.editing) return;
    if (this.edit(waiting.text) && waiting.commit) this.commitAndMoveDown();
  },

  reopen({ rowId, colId, text: typed, caret, typedOver, target }) {
    const row = this.rows.positionOf(rowId);
    const col = this.colIndex.get(colId);
    this.grid.setActiveCell(row, col + 1, false, false, true);
    this.reopening = { target: { ...target, row, col } };
    this.startText = typedOver ? typed : null;
    this.grid.editActiveCell();
    this.startText = null;
    this.reopening = null;
    if (this.editing) this.editing.editor.setText(typed, caret);
  },

  committed(command) {
    const { rowId, colId, baseSeq } = command.editor.target;
    const row = this.rows.positionOf(rowId);
    const col = this.colIndex.get(colId);
    if (row < 0 || col === undefined) return;
    this.emit([{ row_id: rowId, col_id: colId, row, col, value: command.serializedValue, base_seq: baseSeq }]);
  },

  // The row or column under the open editor is going: close it without saving and say what was lost.
  dropEditor() {
    const { rowId, colId, row, col, editor } = this.editing;
    const typed = editor.text();
    const at = { row: this.rows.positionOf(rowId), col: this.colIndex.get(colId) };
    this.quietClose = true;
    this.grid.getEditorLock().cancelCurrentEdit();
    this.quietClose = false;
    this.editing = null;
    this.deferred = new Set();
    this.options.onEditorLost?.({ rowId, colId, row: at.row >= 0 ? at.row : row, col: at.col ?? col, text: typed });
  },
};
