// The gestures that change values, each one edit: a paste (growing the
// sheet first when it runs past the end), Delete on a range, undo and redo,
// and the copy of a block. Methods of GridView (grid-view.js), kept apart.

export const gestureMethods = {
  /** The selected block's values, rows of strings (null when a row in it is not held). */
  copyBlock() {
    const block = this.selection();
    if (!block) return null;
    const rows = [];
    for (let row = block.top; row <= block.bottom; row++) {
      if (this.rows.idAt(row) === null) return null;
      const line = [];
      for (let col = block.left; col <= block.right; col++) line.push(this.value(row, col));
      rows.push(line);
    }
    return rows;
  },

  /** Paste a block at the selection's top left, growing the sheet first when it runs past the end. */
  paste(block) {
    const at = this.selection();
    if (!this.options.canEdit || !at || !block.length) return;
    const width = Math.max(...block.map((line) => line.length));
    const more = { rows: Math.max(0, at.top + block.length - this.rows.length()), cols: Math.max(0, at.left + width - this.colIds.length) };
    if (more.rows || more.cols) this.options.onGrow?.(more);
    const changes = [];
    block.forEach((line, i) => line.forEach((value, j) => this.collect(changes, at.top + i, at.left + j, value)));
    this.setRange(at.top, at.left, Math.min(at.top + block.length, this.rows.length()) - 1, Math.min(at.left + width, this.colIds.length) - 1);
    this.emit(changes);
  },

  /** Delete or Backspace on a selection: empty its cells. */
  clear() {
    const block = this.selection();
    if (!this.options.canEdit || !block) return;
    const changes = [];
    for (let row = block.top; row <= block.bottom; row++) {
      for (let col = block.left; col <= block.right; col++) if (this.value(row, col) !== "") this.collect(changes, row, col, "");
    }
    this.emit(changes);
  },

  /** Ctrl+Z (back true) and Ctrl+Y: put back the cells of the last gesture undone, where their rows are now. */
  history(back) {
    const step = back ? this.undo.back() : this.undo.forward();
    if (!step) return;
    const changes = [];
    for (const cell of step) {
      const row = this.rows.positionOf(cell.rowId);
      const col = this.colIndex.get(cell.colId);
      if (row < 0 || col === undefined) continue;
      this.collect(changes, row, col, back ? cell.before : cell.after);
    }
    this.emit(changes, false);
  },

  collect(changes, row, col, value) {
    const rowId = this.rows.idAt(row);
    const colId = this.colIds[col];
    if (rowId === null || rowId === undefined || colId === undefined) return;
    changes.push({ row_id: rowId, col_id: colId, row, col, value: text(value) });
  },

  emit(changes, record = true) {
    const real = changes.filter((change) => change.value !== this.valueOf(change.row_id, change.col_id));
    if (!real.length) return;
    if (record) {
      this.undo.push(real.map((change) => ({
        rowId: change.row_id, colId: change.col_id, before: this.valueOf(change.row_id, change.col_id), after: change.value,
      })));
    }
    for (const change of real) {
      const base = "base_seq" in change ? change.base_seq : this.options.baseSeq(change.row_id, change.col_id);
      if (base === undefined) delete change.base_seq;
      else change.base_seq = base;
    }
    this.options.onUserChanges(real);
  },
};

function text(value) {
  return value === null || value === undefined ? "" : String(value);
}
