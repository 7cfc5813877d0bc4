// The grid page: load the cells, bind the grid, stream edits both ways.
// model.js holds the state, connection.js speaks the protocol,
// grid-binding.js wraps jspreadsheet, notices.js draws the status and toasts.

import { SheetConnection, websocketUrl } from "./connection.js";
import { GridBinding } from "./grid-binding.js";
import { HistoryPanel, bindShortcut, cellMenu } from "./history-panel.js";
import { SheetModel, cellKey, cellName, parseKey } from "./model.js";
import { renderStatus, showMessage } from "./notices.js";

// PROTOCOL 3.2: at most 1,000 changes per edit message, and the server
// closes the socket on a frame over config.maxFrameBytes (docs/protocol.md).
// A bigger paste is sent as several edits, each of them atomic; the margin
// leaves room for the frame's envelope.
const MAX_CHANGES = 1000;
const FRAME_MARGIN = 4096;
const encoder = new TextEncoder();
const LOAD_RETRY_CAP = 15000;

const ERROR_TITLES = {
  conflict: "Edit not saved:",
  value_too_long: "Edit not saved:",
  out_of_range: "Edit not saved:",
  too_many_changes: "Edit not saved:",
  forbidden: "Edit not saved:",
  rate_limited: "Slow down:",
  unavailable: "Server busy:",
  too_many_connections: "Too many tabs:",
};

const config = JSON.parse(document.getElementById("sheet-config").textContent);
const statusElement = document.getElementById("status");
const messages = document.getElementById("messages");
const gridElement = document.getElementById("grid");

// crypto.randomUUID exists only in secure contexts (https, localhost); a
// plain-http LAN address still has getRandomValues.
function newEventId() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function quote(value) {
  if (value === "") return "(empty)";
  const short = value.length > 60 ? `${value.slice(0, 60)}…` : value;
  return `“${short}”`;
}

// An error about one cell carries its 0-based position in "row" and "col";
// people read "B4", so the message is headed with the cell's name.
function errorText(frame) {
  const message = String(frame.message);
  return Number.isInteger(frame.row) && Number.isInteger(frame.col)
    ? `${cellName(frame.row, frame.col)}: ${message}`
    : message;
}

function notify(options) {
  return showMessage(messages, options);
}

async function loadCells() {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(config.cellsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.status === 401) {
        window.location.assign(`/accounts/login/?next=${encodeURIComponent(window.location.pathname)}`);
        return new Promise(() => {});
      }
      if (response.ok) return await response.json();
      const body = await response.json().catch(() => ({}));
      if (response.status < 500) throw new Error(body.error || `the server answered ${response.status}`);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // TypeError: the network failed; anything else is final
    }
    if (attempt === 0) notify({ kind: "warning", text: "Cannot reach the server; retrying…", code: "load_retry" });
    renderStatus(statusElement, "reconnecting", 0);
    const delay = Math.min(LOAD_RETRY_CAP, 500 * 2 ** attempt);
    await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * (delay / 2)));
  }
}

function gridHeight() {
  const top = gridElement.getBoundingClientRect().top + window.scrollY;
  return Math.max(240, window.innerHeight - top - 24);
}

function start(initial) {
  const model = new SheetModel();
  model.loadCells(initial.cells);
  const ownIds = new Set(); // edits made in this tab: their events do not flash

  const data = Array.from({ length: config.rows }, () => Array(config.cols).fill(""));
  for (const cell of initial.cells) data[cell.row][cell.col] = cell.value;

  let connection;
  const historyPanel = new HistoryPanel(config);

  // Show each named cell as the model has it; flash the ones whose value came from someone else.
  const refresh = (keys, flashed = new Set()) => {
    grid.show(
      [...keys].map((key) => {
        const [row, col] = parseKey(key);
        return { row, col, value: model.value(row, col), flash: flashed.has(key) && !model.hasLocal(key) };
      }),
    );
  };

  const grid = new GridBinding(gridElement, {
    rows: config.rows,
    cols: config.cols,
    canEdit: config.canEdit,
    data,
    height: gridHeight(),
    baseSeq: (row, col) => model.baseSeq(row, col),
    contextMenu: cellMenu(historyPanel, { canEdit: config.canEdit }),
    onEditorClosed: (keys) => refresh(keys),
    onUserChanges: (changes) => {
      const real = changes.filter((change) => change.value !== model.value(change.row, change.col));
      for (const chunk of chunks(real)) {
        const id = newEventId();
        ownIds.add(id);
        model.addLocal(id, chunk);
        connection.submit(id, chunk);
      }
    },
  });

  bindShortcut(historyPanel, { selectedCell: () => grid.selectedCell(), isEditing: () => grid.editing !== null });

  const handlers = {
    onEvents(events) {
      const touched = model.applyEvents(events);
      const flashed = new Set(events.filter((e) => !ownIds.has(e.client_event_id)).map((e) => cellKey(e.row, e.col)));
      for (const key of model.settle(connection.lastSeq)) touched.add(key);
      refresh(touched, flashed);
    },
    onSnapshot(frame) {
      const touched = model.loadCells(frame.cells);
      for (const key of model.settle(frame.head)) touched.add(key);
      refresh(touched);
    },
    onAck(id, seqs) {
      model.acknowledge(id, seqs);
      refresh(model.settle(connection.lastSeq));
    },
    onReject(id, frame) {
      const changes = model.reject(id);
      const touched = new Set(changes.map((change) => cellKey(change.row, change.col)));
      if (frame.code === "conflict") {
        const cells = frame.cells || [];
        for (const key of model.applyServerCells(cells)) touched.add(key);
        refresh(touched);
        notify({ kind: "error", title: ERROR_TITLES.conflict, text: conflictText(cells, changes), code: "conflict" });
        return;
      }
      refresh(touched);
      notify({ kind: "error", title: ERROR_TITLES[frame.code] || "Error:", text: errorText(frame), code: frame.code });
    },
    onError(frame) {
      const retried = frame.code === "rate_limited" || frame.code === "unavailable";
      const slow = frame.code === "too_many_connections";
      notify({
        kind: retried || slow ? "warning" : "error",
        title: ERROR_TITLES[frame.code] || "Error:",
        text: retried ? `${errorText(frame)} Your edits will be sent again.` : errorText(frame),
        code: frame.code,
      });
    },
    onStatus(status, pending) {
      renderStatus(statusElement, status, pending);
    },
    onFinal(message) {
      notify({ kind: "error", title: "Disconnected:", text: message, code: "closed" });
    },
  };

  connection = new SheetConnection({
    url: websocketUrl(config.wsPath),
    since: initial.head,
    handlers,
    timing: window.LEDGERSHEET_TIMING || {},
  });
  connection.start();

  window.addEventListener("resize", () => {
    const content = grid.worksheet.content;
    if (content) content.style.maxHeight = `${gridHeight()}px`;
  });
  window.addEventListener("beforeunload", (event) => {
    if (connection.pendingCount > 0) event.preventDefault(); // unsent edits live only in this tab
  });

  // A small read-only handle for people debugging in the console and for the browser tests.
  window.ledgersheet = {
    get lastSeq() {
      return connection.lastSeq;
    },
    get pending() {
      return connection.pendingCount;
    },
    get status() {
      return connection.status;
    },
    getCell: (row, col) => grid.value(row, col),
    cells: () => grid.namedCells(),
  };
}

// Split changes into edits that fit the protocol's count and frame limits.
function chunks(changes) {
  const result = [];
  let current = [];
  let bytes = 0;
  for (const change of changes) {
    const size = encoder.encode(JSON.stringify(change)).length + 1;
    if (current.length && (current.length === MAX_CHANGES || bytes + size > config.maxFrameBytes - FRAME_MARGIN)) {
      result.push(current);
      current = [];
      bytes = 0;
    }
    current.push(change);
    bytes += size;
  }
  if (current.length) result.push(current);
  return result;
}

function conflictText(cells, changes) {
  const mine = new Map(changes.map((change) => [cellKey(change.row, change.col), change.value]));
  const parts = cells.map((cell) => {
    const yours = mine.get(cellKey(cell.row, cell.col));
    const was = yours === undefined ? "" : `; your value ${quote(yours)} was not saved`;
    return `${cellName(cell.row, cell.col)} now holds ${quote(cell.value)}${was}`;
  });
  const rest = changes.length > cells.length ? ` None of the ${changes.length} cells of that edit was saved.` : "";
  return `someone else changed ${parts.length === 1 ? "this cell" : "these cells"} first. ${parts.join(". ")}.${rest}`;
}

if (!config.canEdit) {
  gridElement.classList.add("read-only");
}
renderStatus(statusElement, "connecting", 0);
loadCells().then(start, (error) => {
  renderStatus(statusElement, "closed", 0);
  notify({ kind: "error", title: "Cannot open the sheet:", text: String(error.message || error), code: "load_failed" });
});
