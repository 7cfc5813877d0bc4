// The grid page with ?at=<seq>: the sheet as it stood right after event
// seq, read-only. No websocket: a past state never changes.

import { GridBinding } from "./grid-binding.js";
import { HistoryPanel, bindShortcut, cellMenu } from "./history-panel.js";
import { cellName } from "./model.js";
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
  target.replaceChildren("(", time, ", by ", user, ` in ${cellName(event.row, event.col)})`);
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

function show(state) {
  const data = Array.from({ length: config.rows }, () => Array(config.cols).fill(""));
  for (const cell of state.cells) data[cell.row][cell.col] = cell.value;
  const historyPanel = new HistoryPanel(config);
  const grid = new GridBinding(gridElement, {
    rows: config.rows,
    cols: config.cols,
    canEdit: false,
    data,
    height: gridHeight(),
    baseSeq: () => undefined,
    contextMenu: cellMenu(historyPanel, { canEdit: false }),
    onEditorClosed: () => {},
    onUserChanges: () => {}, // nothing is sent from a past state
  });
  bindShortcut(historyPanel, { selectedCell: () => grid.selectedCell(), isEditing: () => grid.editing !== null });
  gridElement.classList.add("read-only");

  // A small read-only handle for the browser tests and the console.
  window.ledgersheet = {
    status: "time-travel",
    at: state.at,
    head: state.head,
    getCell: (row, col) => grid.value(row, col),
    cells: () => grid.namedCells(),
  };
}

bindSeqPicker();
describeEvent().catch(() => {}); // the banner reads well without the time and the user
getJson(`${config.cellsUrl}?at=${config.at}`).then(show, (error) => {
  showMessage(messages, { kind: "error", title: "Cannot show this edit:", text: String(error.message || error), code: "load_failed" });
});
