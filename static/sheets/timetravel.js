// The grid page with ?at=<seq>: the sheet as it stood right after event
// seq, read-only. No websocket: a past state never changes.

import { rowsOf } from "./grid-rows.js";
import { GridView } from "./grid-view.js";
import { HistoryPanel, bindShortcut, cellMenu } from "./history-panel.js";
import { cellKey, cellName, withIds } from "./model.js";
import { showMessage } from "./notices.js";

const config = JSON.parse(document.getElementById("sheet-config").textContent);
const gridElement = document.getElementById("grid");
const messages = document.getElementById("messages");

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `the server answered ${response.status}`);
  return body;
}

// Say when and by whom edit #at was made.
async function describeEvent() {
  const target = document.getElementById("timetravel-event");
  if (!target || config.at === 0) return;
  const query = new URLSearchParams({ after: config.at - 1, limit: 1 });
  const { events } = await getJson(`${config.eventsUrl}?${query}`);
  const event = events[0];
  if (!event || event.seq !== config.at) return;
  const time = document.createElement("time");
  time.dateTime = event.recorded_at;
  time.textContent = new Date(event.recorded_at).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
  time.title = `${event.recorded_at.slice(0, 10)} ${event.recorded_at.slice(11, 19)} UTC`;
  const user = document.createElement("strong");
  user.textContent = event.broadcaster;
  target.replaceChildren("(", time, ", by ", user, ` ${describe(event)})`);
}

// Where the event happened, as the sheet stood when it was committed.
function describe(event) {
  const many = (ids, one, more) => (ids.length === 1 ? one : `${ids.length} ${more}`);
  switch (event.type ?? "CellChanged") {
    case "CellChanged":
      return `in ${cellName(event.row, event.col)}`;
    case "RowsInserted":
      return `inserting ${many(event.row_ids, "a row", "rows")} at row ${event.row + 1}`;
    case "RowsDeleted":
      return `deleting ${many(event.row_ids, "a row", "rows")}`;
    case "ColumnsInserted":
      return `inserting ${many(event.col_ids, "a column", "columns")}`;
    case "ColumnsDeleted":
      return `deleting ${many(event.col_ids, "a column", "columns")}`;
    default:
      return `(${event.type})`;
  }
}

function bindSeqPicker() {
  const slider = document.getElementById("timetravel-slider");
  const box = document.getElementById("timetravel-seq");
  const form = document.getElementById("timetravel-form");
  slider.addEventListener("input", () => {
    box.value = slider.value;
  });
  // Moving the slider with a mouse or the arrow keys ends in "change": go there.
  slider.addEventListener("change", () => form.requestSubmit());
  box.addEventListener("input", () => {
    slider.value = box.value;
  });
}

function gridHeight() {
  const top = gridElement.getBoundingClientRect().top + window.scrollY;
  return Math.max(240, window.innerHeight - top - 24);
}

function show(past) {
  // The sheet as it stood then, with the rows and columns it had then (some may be deleted since).
  const state = withIds(past, config);
  const values = new Map(state.cells.map((cell) => [cellKey(cell.row_id, cell.col_id), cell.value]));
  const historyPanel = new HistoryPanel(config);
  const cellAt = (row, col) => ({ row, col, rowId: state.row_ids[row], colId: state.col_ids[col] });
  const grid = new GridView(gridElement, {
    rows: rowsOf(state.row_ids),
    colIds: state.col_ids,
    value: (rowId, colId) => values.get(cellKey(rowId, colId)) ?? "",
    canEdit: false,
    height: gridHeight(),
    baseSeq: () => undefined,
    contextMenu: cellMenu(historyPanel, { canEdit: false, cellAt }),
    onEditorClosed: () => {},
    onUserChanges: () => {}, // nothing is sent from a past state
  });
  bindShortcut(historyPanel, {
    selectedCell: () => {
      const cell = grid.selectedCell();
      return cell && cellAt(cell.row, cell.col);
    },
    isEditing: () => grid.editing !== null,
  });
  gridElement.classList.add("read-only");

  // A small read-only handle for the browser tests and the console.
  window.ledgersheet = {
    status: "time-travel",
    at: state.at,
    head: state.head,
    get rowCount() {
      return grid.rows.length();
    },
    getCell: (row, col) => grid.value(row, col),
    cells: () => grid.namedCells(),
    select: (row, col) => grid.select(row, col),
    selection: () => grid.selection(),
    scrollTo: (row) => grid.scrollTo(row),
    isLoaded: (row) => grid.rows.idAt(row) !== null,
  };
}

bindSeqPicker();
describeEvent().catch(() => {}); // the banner reads well without the time and the user
getJson(`${config.cellsUrl}?at=${config.at}`).then(show, (error) => {
  showMessage(messages, { kind: "error", title: "Cannot show this edit:", text: String(error.message || error), code: "load_failed" });
});
