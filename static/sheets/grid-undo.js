// The user's own undo history: each gesture's cells by row and column ids,
// with the values before and after, so that Ctrl+Z puts a cell back where
// its row is now, whatever was inserted or deleted above it meanwhile.

const DEPTH = 100;

export class UndoStack {
  constructor() {
    this.done = [];
    this.undone = [];
  }

  /** A gesture: [{rowId, colId, before, after}]. */
  push(cells) {
    this.done.push(cells);
    if (this.done.length > DEPTH) this.done.shift();
    this.undone = [];
  }

  back() {
    const step = this.done.pop();
    if (step) this.undone.push(step);
    return step ?? null;
  }

  forward() {
    const step = this.undone.pop();
    if (step) this.done.push(step);
    return step ?? null;
  }
}
