// The grid page: load the cells, bind the grid, stream operations both ways.
// model.js holds the state (keyed by row and column ids), connection.js
// speaks the protocol, grid-view.js wraps SlickGrid, structure.js
// turns the user's row and column commands into operations, messages.js
// words the errors, notices.js draws the status and toasts.

import { SheetConnection, websocketUrl } from "./connection.js";
import { rowsOf } from "./grid-rows.js";
import { GridView } from "./grid-view.js";
import { HistoryPanel, bindShortcut, cellMenu } from "./history-panel.js";
import { SheetModel, cellKey, cellName, columnName, parseKey, withIds } from "./model.js";
import { conflictText, errorText, listed, plural, quote } from "./messages.js";
import { renderStatus, showMessage } from "./notices.js";
import { StructureCommands, bindStructureShortcuts, newId, structureMenu } from "./structure.js";
import { loadSheet } from "./sheet-load.js";
import { adaptModel, pinPending, sourceRows } from "./windowed-model.js";

// docs/protocol.md: at most 1,000 changes per edit message, and the server
// closes the socket on a frame over config.maxFrameBytes. A bigger paste is
// sent as several edits, each of them atomic; the margin leaves room for
// the frame's envelope.
const MAX_CHANGES = 1000;
const FRAME_MARGIN = 4096;
const encoder = new TextEncoder();
// A refused edit names a deleted row; the RowsDeleted event that says who
// deleted it travels separately and may come just after the refusal.
const DELETED_NEWS_WAIT = 3000;

const ERROR_TITLES = {
  conflict: "Edit not saved:",
  value_too_long: "Edit not saved:",
  out_of_range: "Edit not saved:",
  too_many_changes: "Not saved:",
  forbidden: "Not saved:",
  no_such_row: "Edit not saved:",
  no_such_col: "Edit not saved:",
  id_taken: "Not inserted:",
  too_large: "Not inserted:",
  rate_limited: "Slow down:",
  unavailable: "Server busy:",
  too_many_connections: "Too many tabs:",
  editor_lost: "Not saved:",
};

const config = JSON.parse(document.getElementById("sheet-config").textContent);
const statusElement = document.getElementById("status");
const messages = document.getElementById("messages");
const gridElement = document.getElementById("grid");

function notify(options) {
  return showMessage(messages, options);
}

function gridHeight() {
  const top = gridElement.getBoundingClientRect().top + window.scrollY;
  return Math.max(240, window.innerHeight - top - 24);
}

function start([initial, source]) {
  performance.mark("ledgersheet:cells");
  const model = new SheetModel();
  model.load(initial);
  if (source) adaptModel(model, source);
  let reopened = null; // events that arrived while a big sheet's windows are read again after a snapshot
  let savedSelection = null; // the selection by ids, taken before the source applies structure events
  const ownIds = new Set(); // operations made in this tab: their events do not flash
  const waitingForNews = []; // refused edits whose deleted row's RowsDeleted has not arrived yet
  const refusedInserts = new Set(); // ids of rows and columns this tab inserted and the server refused

  let connection;
  const historyPanel = new HistoryPanel(config);
  const cellAt = (row, col) => ({ row, col, rowId: model.rowAt(row), colId: model.colAt(col) });

  // Show each named cell as the model has it; flash the ones whose value came from someone else.
  const refresh = (keys, flashed = new Set()) => {
    grid.show(
      [...keys].map((key) => {
        const [rowId, colId] = parseKey(key);
        return { rowId, colId, value: model.value(rowId, colId), flash: flashed.has(key) && !model.hasLocal(key) };
      }),
    );
  };
  // Make the grid's rows and columns the model's, then show these cells.
  const redraw = (structure, keys, flashed) => {
    if (structure) grid.setOrder(shownRows(), model.colIds());
    refresh(keys, flashed);
  };

  // Queue one operation: the model shows it at once, the connection sends it in order.
  const submit = (message, layer) => {
    const id = newId();
    ownIds.add(id);
    layer(id);
    connection.submit(id, message);
    return id;
  };

  const submitEdit = (changes, seen) => {
    for (const [chunk, positions] of chunks(changes, seen)) {
      submit({ type: "edit", changes: chunk }, (id) => model.addEdit(id, chunk, positions));
    }
    if (source) pinPending(model, source);
  };

  const structure = new StructureCommands({
    model,
    maxRows: 1_000_000,
    maxCols: 18_278,
    submit: (message) => submit(message, (id) => model.addStructure(id, message)),
    changed: () => redraw(true, []),
    refuse: (text) => notify({ kind: "error", title: "Not possible:", text, code: "structure_refused" }),
  });

  const shownRows = () => {
    if (source) return sourceRows(source);
    const view = model.view();
    return rowsOf(view.rows, view.rowIndex);
  };
  const grid = new GridView(gridElement, {
    rows: shownRows(),
    colIds: model.colIds(),
    value: (rowId, colId) => model.value(rowId, colId),
    canEdit: config.canEdit,
    height: gridHeight(),
    baseSeq: (rowId, colId) => model.baseSeq(rowId, colId),
    onViewport: source ? (top, bottom) => source.ensureVisible(top, bottom) : undefined,
    contextMenu: cellMenu(historyPanel, {
      canEdit: config.canEdit,
      cellAt,
      extra: config.canEdit ? (where) => structureMenu(structure, grid.selection(), where) : undefined,
    }),
    onEditorClosed: (keys) => refresh(keys),
    onEditorLost: ({ rowId, colId, row, col, text }) => {
      const news = model.deletedRows.get(rowId) ?? model.deletedCols.get(colId);
      const what = model.deletedRows.has(rowId) ? `row ${row + 1}` : `column ${columnName(col)}`;
      const who = news ? `${byWhom(news.by)} deleted ${what}` : `${what} was deleted`;
      const typed = text === "" ? "" : ` What you were typing (${quote(text)}) was not saved.`;
      notify({ kind: "warning", title: ERROR_TITLES.editor_lost, text: `${who} while you were editing ${cellName(row, col)}.${typed}`, code: "editor_lost" });
    },
    onGrow: ({ rows, cols }) => structure.grow({ rows, cols }),
    onUserChanges: (changes) => {
      const real = changes.filter((change) => change.value !== model.value(change.row_id, change.col_id));
      const sent = real.map(({ row_id: rowId, col_id: colId, value, base_seq: baseSeq }) =>
        baseSeq === undefined ? { row_id: rowId, col_id: colId, value } : { row_id: rowId, col_id: colId, value, base_seq: baseSeq });
      submitEdit(sent, real.map(({ row, col }) => ({ row, col })));
    },
  });
  structure.grid = grid;
  if (source) {
    source.onChange = ({ ranges, lengthChanged, columnsChanged }) => {
      if (lengthChanged || columnsChanged) grid.setOrder(shownRows(), model.colIds(), savedSelection);
      else grid.redrawRows(ranges);
    };
    source.onError = (error) => notify({ kind: "warning", title: "Rows not loaded:", text: String(error.message || error), code: "window_failed" });
  }

  bindShortcut(historyPanel, {
    selectedCell: () => {
      const cell = grid.selectedCell();
      return cell && cellAt(cell.row, cell.col);
    },
    isEditing: () => grid.editing !== null,
  });
  if (config.canEdit) bindStructureShortcuts(structure, { isEditing: () => grid.editing !== null });

  const byWhom = (username) => (username === config.user ? "you" : username);

  // "Your edit to B7 was not saved: bob deleted row 7", once the page knows who deleted it.
  const explainDeleted = (layer, frame, resent) => {
    const rows = frame.code === "no_such_row";
    const missing = new Set((rows ? frame.row_ids : frame.col_ids) || []);
    const deleted = rows ? model.deletedRows : model.deletedCols;
    const lostBy = new Map(); // missing id -> names of the cells the user typed into
    layer.changes.forEach((change, i) => {
      const id = rows ? change.row_id : change.col_id;
      if (!missing.has(id)) return;
      const seen = layer.seen[i];
      if (!lostBy.has(id)) lostBy.set(id, []);
      if (seen) lostBy.get(id).push(cellName(seen.row, seen.col));
    });
    if (!lostBy.size) {
      notify({ kind: "error", title: ERROR_TITLES[frame.code], text: errorText(model, frame), code: frame.code });
      return;
    }
    const known = (id) => deleted.has(id) || refusedInserts.has(id);
    const tell = (final) => {
      if (!final && ![...lostBy.keys()].every(known)) return false;
      const parts = [...lostBy].map(([id, names]) => {
        const news = deleted.get(id);
        const cells = names.length ? names : ["a cell"];
        const subject = `Your ${plural(cells.length, "edit")} to ${listed(cells)} ${plural(cells.length, "was", "were")} not saved`;
        if (!news && refusedInserts.has(id)) return `${subject}: the ${rows ? "row" : "column"} you inserted was not saved`;
        if (!news) return `${subject}: its ${rows ? "row" : "column"} was deleted`;
        const where = rows ? `row ${news.position + 1}` : `column ${columnName(news.position)}`;
        return `${subject}: ${byWhom(news.by)} deleted ${where}`;
      });
      const rest = resent ? " Your other changes in that edit were sent again." : "";
      notify({ kind: "error", title: ERROR_TITLES[frame.code], text: `${parts.join(". ")}.${rest}`, code: frame.code });
      return true;
    };
    if (tell(false)) return;
    const entry = { tell };
    waitingForNews.push(entry);
    setTimeout(() => {
      const index = waitingForNews.indexOf(entry);
      if (index >= 0 && waitingForNews.splice(index, 1)) tell(true);
    }, DELETED_NEWS_WAIT);
  };

  const rejectEdit = (layer, frame) => {
    const touched = new Set(layer.changes.map((change) => cellKey(change.row_id, change.col_id)));
    if (frame.code === "conflict") {
      const cells = frame.cells || [];
      for (const key of model.applyServerCells(cells)) touched.add(key);
      refresh(touched);
      notify({ kind: "error", title: ERROR_TITLES.conflict, text: conflictText(model, cells, layer), code: "conflict" });
      return;
    }
    if (frame.code === "no_such_row" || frame.code === "no_such_col") {
      // The rest of the edit named rows and columns that are still there: send it again, on its own.
      const missing = new Set((frame.code === "no_such_row" ? frame.row_ids : frame.col_ids) || []);
      const field = frame.code === "no_such_row" ? "row_id" : "col_id";
      const keep = layer.changes.map((change) => !missing.has(change[field]));
      const rest = layer.changes.filter((_, i) => keep[i]);
      if (rest.length && missing.size) submitEdit(rest, layer.seen.filter((_, i) => keep[i]));
      refresh(touched);
      explainDeleted(layer, frame, rest.length > 0 && missing.size > 0);
      return;
    }
    refresh(touched);
    notify({ kind: "error", title: ERROR_TITLES[frame.code] || "Error:", text: errorText(model, frame), code: frame.code });
  };

  const rejectStructure = (layer, frame) => {
    redraw(true, []);
    const rows = layer.kind.endsWith("_rows");
    const missing = new Set((rows ? frame.row_ids : frame.col_ids) || []);
    if (layer.kind.startsWith("delete_") && (frame.code === "no_such_row" || frame.code === "no_such_col")) {
      // Someone deleted some of them first: delete the others, and say nothing of those already gone.
      const rest = layer.ids.filter((id) => !missing.has(id));
      if (rest.length) structure.remove(rows ? "rows" : "cols", rest);
      return;
    }
    if (layer.kind.startsWith("insert_")) for (const id of layer.ids) refusedInserts.add(id);
    const what = `${layer.ids.length} ${plural(layer.ids.length, rows ? "row" : "column")}`;
    const verb = layer.kind.startsWith("insert_") ? "inserting" : "deleting";
    notify({ kind: "error", title: ERROR_TITLES[frame.code] || "Error:", text: `${verb} ${what}: ${frame.message}`, code: frame.code });
  };

  const handlers = {
    onEvents(events) {
      savedSelection = grid.selectedIds();
      const applied = model.applyEvents(events);
      if (reopened) reopened.push(...events);
      else source?.applyEvents(events);
      savedSelection = null;
      const flashed = new Set(
        events.filter((e) => e.type === "CellChanged" && !ownIds.has(e.client_event_id)).map((e) => cellKey(e.row_id, e.col_id)),
      );
      const settled = model.settle(connection.lastSeq);
      if (source) pinPending(model, source);
      for (const key of settled.cells) applied.cells.add(key);
      redraw(applied.structure || settled.structure, applied.cells, flashed);
      if (applied.structure) {
        for (const entry of [...waitingForNews]) {
          if (entry.tell(false)) waitingForNews.splice(waitingForNews.indexOf(entry), 1);
        }
      }
    },
    onSnapshot(frame) {
      if (source) {
        // Too far behind to replay: read the windows in view again; the events meanwhile wait for the answer.
        reopened = [];
        source.open(grid.grid.getViewport().top).then(() => {
          const waiting = reopened;
          reopened = null;
          source.applyEvents(waiting);
          redraw(true, model.keys());
        });
        return;
      }
      const touched = model.load(withIds(frame, config));
      const settled = model.settle(frame.head);
      for (const key of settled.cells) touched.add(key);
      redraw(true, touched);
    },
    onAck(id, seqs) {
      model.acknowledge(id, seqs);
      const settled = model.settle(connection.lastSeq);
      if (source) pinPending(model, source);
      redraw(settled.structure, settled.cells);
    },
    onReject(id, frame) {
      const layer = model.reject(id);
      if (layer === null) return;
      if (layer.kind === "edit") rejectEdit(layer, frame);
      else rejectStructure(layer, frame);
    },
    onError(frame) {
      const retried = frame.code === "rate_limited" || frame.code === "unavailable";
      const slow = frame.code === "too_many_connections";
      notify({
        kind: retried || slow ? "warning" : "error",
        title: ERROR_TITLES[frame.code] || "Error:",
        text: retried ? `${errorText(model, frame)} Your changes will be sent again.` : errorText(model, frame),
        code: frame.code,
      });
    },
    onStatus(status, pending, noun) {
      renderStatus(statusElement, status, pending, noun);
      // A big sheet reads the rows around its first window once it is live (sheet-load.js).
      if (status === "live" && source && !source.prefetch) source.widen(source.windowSize);
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
  performance.mark("ledgersheet:grid");
  connection.start();

  window.addEventListener("resize", () => {
    grid.resize(gridHeight());
  });
  window.addEventListener("beforeunload", (event) => {
    if (connection.pendingCount > 0) event.preventDefault(); // unsent operations live only in this tab
  });

  // A small handle for people debugging in the console and for the browser tests (docs/protocol.md).
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
    get rowCount() {
      return grid.rows.length();
    },
    get editing() {
      return grid.editing !== null;
    },
    getCell: (row, col) => grid.value(row, col),
    cells: () => grid.namedCells(),
    select: (row, col) => grid.select(row, col),
    selection: () => grid.selection(),
    scrollTo: (row) => grid.scrollTo(row),
    isLoaded: (row) => grid.rows.idAt(row) !== null,
    get heldRows() {
      return source ? source.heldRows() : grid.rows.length();
    },
    columns: () => grid.colIds.map((_, col) => columnName(col)),
  };
}

// Split changes into edits that fit the protocol's count and frame limits; seen goes along.
function chunks(changes, seen) {
  const result = [];
  let current = [];
  let positions = [];
  let bytes = 0;
  changes.forEach((change, i) => {
    const size = encoder.encode(JSON.stringify(change)).length + 1;
    if (current.length && (current.length === MAX_CHANGES || bytes + size > config.maxFrameBytes - FRAME_MARGIN)) {
      result.push([current, positions]);
      current = [];
      positions = [];
      bytes = 0;
    }
    current.push(change);
    positions.push(seen[i]);
    bytes += size;
  });
  if (current.length) result.push([current, positions]);
  return result;
}

if (!config.canEdit) {
  gridElement.classList.add("read-only");
}
renderStatus(statusElement, "connecting", 0);
// The page's steps, for the Performance panel and bench/grid.py: modules run, cells read, grid built.
performance.mark("ledgersheet:script");
loadSheet(config, { notify, statusElement }).then(start, (error) => {
  renderStatus(statusElement, "closed", 0);
  notify({ kind: "error", title: "Cannot open the sheet:", text: String(error.message || error), code: "load_failed" });
});
