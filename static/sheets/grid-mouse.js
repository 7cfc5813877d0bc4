// The grid view's mouse: a click on a row number or a column letter selects
// it whole, Shift+click extends the selection, and the context menu (of a
// cell, a row number, a column letter) keeps a selection it falls in.
// Methods of GridView (grid-view.js), kept apart.

import { formatTsv, parseTsv } from "./grid-clipboard.js";

export const mouseMethods = {
  bindMouse() {
    const grid = this.grid;
    grid.onClick.subscribe((event, args) => {
      const e = event.getNativeEvent ? event.getNativeEvent() : event;
      if (args.cell === 0) {
        event.stopImmediatePropagation();
        this.selectWhole("rows", e.shiftKey ? this.anchorRow() : args.row, args.row);
      } else if (e.shiftKey && grid.getActiveCell()) {
        event.stopImmediatePropagation();
        const active = grid.getActiveCell();
        this.setRange(active.row, active.cell - 1, args.row, args.cell - 1);
      }
    });
    grid.onHeaderClick.subscribe((_event, args) => {
      const col = this.colIndex.get(args.column.id);
      if (col !== undefined) this.selectWhole("cols", col, col);
    });
    grid.onContextMenu.subscribe((event) => {
      const e = event.getNativeEvent ? event.getNativeEvent() : event;
      e.preventDefault();
      const cell = grid.getCellFromEvent(e);
      if (!cell) return;
      if (cell.cell === 0) {
        if (!this.inSelection(cell.row, null)) this.selectWhole("rows", cell.row, cell.row);
        this.openMenu(e, { row: cell.row, col: null, section: "row" });
        return;
      }
      if (!this.inSelection(cell.row, cell.cell - 1)) this.setRange(cell.row, cell.cell - 1, cell.row, cell.cell - 1);
      this.openMenu(e, { row: cell.row, col: cell.cell - 1, section: "cell" });
    });
    grid.onHeaderContextMenu.subscribe((event, args) => {
      const e = event.getNativeEvent ? event.getNativeEvent() : event;
      e.preventDefault();
      const col = this.colIndex.get(args.column.id);
      if (col === undefined) return;
      if (!this.inSelection(null, col)) this.selectWhole("cols", col, col);
      this.openMenu(e, { row: null, col, section: "header" });
    });
  },

  openMenu(e, where) {
    if (!this.options.contextMenu) return;
    const items = [{ title: "Copy", shortcut: "Ctrl+C", onclick: () => this.copyToClipboard() }];
    if (this.options.canEdit) items.push({ title: "Paste", shortcut: "Ctrl+V", onclick: () => this.pasteFromClipboard() });
    const chosen = this.options.contextMenu({ ...where, items });
    if (chosen) this.menu.open(chosen, e.clientX, e.clientY);
  },

  async copyToClipboard() {
    const rows = this.copyBlock();
    if (rows) await navigator.clipboard.writeText(formatTsv(rows));
  },

  async pasteFromClipboard() {
    const textRead = await navigator.clipboard.readText();
    if (textRead !== "") this.paste(parseTsv(textRead));
  },
};
