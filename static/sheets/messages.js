// The words of the grid page's messages: cells named as the user sees
// them ("B7"), values quoted and shortened. Pure: model in, text out.

import { cellKey, cellName } from "./model.js";

export function quote(value) {
  if (value === "") return "(empty)";
  const short = value.length > 60 ? `${value.slice(0, 60)}…` : value;
  return `“${short}”`;
}

export function plural(count, one, many = `${one}s`) {
  return count === 1 ? one : many;
}

export function listed(names) {
  if (names.length <= 1) return names.join("");
  const shown = names.length > 6 ? [...names.slice(0, 5), `${names.length - 5} more`] : names;
  return `${shown.slice(0, -1).join(", ")} and ${shown[shown.length - 1]}`;
}

// The name of a cell as this page shows it now; the server's position when the page does not show it.
function shownName(model, rowId, colId, row, col) {
  const shownRow = rowId === undefined ? -1 : model.rowPosition(rowId);
  const shownCol = colId === undefined ? -1 : model.colPosition(colId);
  if (shownRow >= 0 && shownCol >= 0) return cellName(shownRow, shownCol);
  return Number.isInteger(row) && Number.isInteger(col) ? cellName(row, col) : null;
}

// An error about one cell names it ("row"/"col" or "row_id"/"col_id");
// people read "B4", so the message is headed with the cell's name.
export function errorText(model, frame) {
  const message = String(frame.message);
  const name = shownName(model, frame.row_id, frame.col_id, frame.row, frame.col);
  return name ? `${name}: ${message}` : message;
}

export function conflictText(model, cells, layer) {
  const mine = new Map(layer.changes.map((change) => [cellKey(change.row_id, change.col_id), change.value]));
  const parts = cells.map((cell) => {
    const yours = mine.get(cellKey(cell.row_id, cell.col_id));
    const was = yours === undefined ? "" : `; your value ${quote(yours)} was not saved`;
    return `${shownName(model, cell.row_id, cell.col_id, cell.row, cell.col)} now holds ${quote(cell.value)}${was}`;
  });
  const count = layer.changes.length;
  const rest = count > cells.length ? ` None of the ${count} cells of that edit was saved.` : "";
  return `someone else changed ${parts.length === 1 ? "this cell" : "these cells"} first. ${parts.join(". ")}.${rest}`;
}
