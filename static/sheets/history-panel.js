// The per-cell history panel: every change of one cell, newest first, from
// the events API filtered by the cell's row id and column id, so that the
// history follows the cell when rows or columns are inserted or deleted
// above it. Opened from the cell's context menu or with Alt+H on the
// selected cell.

import { cellName } from "./model.js";

// pageLimit: the events API's maximum. A cell edited more often than
// pageLimit * pagesPerLoad times loads the rest on request: the panel must
// stay quick, and the history page pages through any number. Tests shrink
// both through window.LEDGERSHEET_HISTORY.
const PAGING = { pageLimit: 1000, pagesPerLoad: 5, ...(window.LEDGERSHEET_HISTORY || {}) };
const SHORT = 60;
export const SHORTCUT_LABEL = "Alt + H";

function isShortcut(event) {
  // event.code, not event.key: Alt+H types "˙" on a Mac keyboard.
  return event.altKey && !event.ctrlKey && !event.metaKey && event.code === "KeyH";
}

function shown(value) {
  const span = document.createElement("span");
  span.className = "value";
  if (value === "") {
    span.classList.add("value-empty");
    span.textContent = "(empty)";
    return span;
  }
  span.textContent = value.length > SHORT ? `${value.slice(0, SHORT - 1)}…` : value;
  if (value.length > SHORT) span.title = value; // the whole value on hover
  return span;
}

function when(recordedAt) {
  const time = document.createElement("time");
  const moment = new Date(recordedAt);
  time.dateTime = recordedAt;
  time.textContent = moment.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
  time.title = `${recordedAt.slice(0, 10)} ${recordedAt.slice(11, 19)} UTC`;
  return time;
}

export class HistoryPanel {
  /** config: the page's sheet-config (sheet, eventsUrl, historyUrl). */
  constructor(config) {
    this.config = config;
    this.cell = null; // {row, col, rowId, colId} shown
    this.loading = null; // AbortController of the fetch in flight
    this.nextAfter = null;
    this.returnFocus = null;
    this.element = this.build();
    document.body.append(this.element);
  }

  build() {
    const panel = document.createElement("aside");
    panel.id = "cell-history";
    panel.className = "cell-history";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-modal", "false");
    panel.setAttribute("aria-labelledby", "cell-history-title");
    panel.hidden = true;
    panel.innerHTML = `
      <header class="cell-history-head">
        <h2 id="cell-history-title" tabindex="-1"></h2>
        <button type="button" class="cell-history-close" aria-label="Close the cell history (Escape)" title="Close (Escape)">×</button>
      </header>
      <p class="cell-history-links"><a class="cell-history-full"></a></p>
      <p class="cell-history-status" role="status" aria-live="polite"></p>
      <button type="button" class="cell-history-more" hidden>Load later changes</button>
      <ol class="cell-history-list"></ol>`;
    panel.querySelector(".cell-history-close").addEventListener("click", () => this.close());
    panel.querySelector(".cell-history-more").addEventListener("click", async () => {
      await this.load();
      // The button hides once everything is loaded: keep the focus in the panel.
      if (document.activeElement === document.body) panel.querySelector("#cell-history-title").focus();
    });
    // Keys typed in the panel are the panel's: the grid listens on the
    // whole document and would otherwise move its selection or start an edit.
    panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        this.close();
      }
      if (!isShortcut(event)) event.stopPropagation();
    });
    return panel;
  }

  get isOpen() {
    return !this.element.hidden;
  }

  /** Open the history of the cell shown at (row, col), whose row and column have these ids. */
  open({ row, col, rowId, colId }) {
    if (!this.isOpen) this.returnFocus = document.activeElement;
    this.loading?.abort();
    this.cell = { row, col, rowId, colId };
    this.nextAfter = 0;
    const name = cellName(row, col);
    const panel = this.element;
    panel.dataset.row = String(row);
    panel.dataset.col = String(col);
    panel.dataset.rowId = rowId;
    panel.dataset.colId = colId;
    panel.querySelector("#cell-history-title").textContent = `History of ${name}`;
    const full = panel.querySelector(".cell-history-full");
    full.href = `${this.config.historyUrl}?cell=${name}`;
    full.textContent = `All changes of ${name} on the history page`;
    panel.querySelector(".cell-history-list").replaceChildren();
    panel.hidden = false;
    panel.querySelector("#cell-history-title").focus();
    this.load();
  }

  close() {
    if (!this.isOpen) return;
    this.loading?.abort();
    this.loading = null;
    this.element.hidden = true;
    this.cell = null;
    const target = this.returnFocus;
    this.returnFocus = null;
    if (target && target.isConnected && typeof target.focus === "function") target.focus({ preventScroll: true });
  }

  // Fetch up to pagesPerLoad pages after this.nextAfter; the events come oldest first.
  async load() {
    const { rowId, colId } = this.cell;
    const controller = new AbortController();
    this.loading = controller;
    const status = this.element.querySelector(".cell-history-status");
    const more = this.element.querySelector(".cell-history-more");
    more.hidden = true;
    status.textContent = "Loading…";
    try {
      for (let page = 0; page < PAGING.pagesPerLoad && this.nextAfter !== null; page++) {
        const query = new URLSearchParams({ row_id: rowId, col_id: colId, after: this.nextAfter, limit: PAGING.pageLimit });
        const response = await fetch(`${this.config.eventsUrl}?${query}`, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
          signal: controller.signal,
        });
        const body = await response.json().catch(() => ({}));
        if (!response.ok) throw new Error(body.error || `the server answered ${response.status}`);
        this.prepend(body.events);
        this.nextAfter = body.next_after;
      }
    } catch (error) {
      if (error.name === "AbortError") return;
      status.textContent = `Cannot load the history: ${error.message}`;
      more.hidden = false;
      return;
    } finally {
      if (this.loading === controller) this.loading = null;
    }
    const count = this.element.querySelector(".cell-history-list").children.length;
    const changes = count === 1 ? "1 change" : `${count.toLocaleString()} changes`;
    status.textContent = count === 0 ? "This cell has never been edited." : changes + (this.nextAfter === null ? "" : " so far (oldest first loaded)");
    more.hidden = this.nextAfter === null;
  }

  // Newer events go on top: the list reads newest first.
  prepend(events) {
    const list = this.element.querySelector(".cell-history-list");
    // The row's and column's own insert and delete events touch the cell too; its history is its values.
    const items = events.filter((event) => event.type === undefined || event.type === "CellChanged")
      .map((event) => this.item(event)).reverse();
    list.prepend(...items);
  }

  item(event) {
    const li = document.createElement("li");
    li.className = "cell-history-item";
    li.dataset.seq = String(event.seq);
    const meta = document.createElement("div");
    meta.className = "cell-history-meta";
    const seq = document.createElement("strong");
    seq.textContent = `#${event.seq}`;
    const user = document.createElement("span");
    user.className = "cell-history-user";
    user.textContent = event.broadcaster;
    meta.append(seq, " · ", user, " · ", when(event.recorded_at));
    const change = document.createElement("div");
    change.className = "cell-history-change";
    const arrow = document.createElement("span");
    arrow.className = "arrow";
    arrow.textContent = " → ";
    arrow.setAttribute("aria-label", "changed to");
    change.append(shown(event.old_value), arrow, shown(event.new_value));
    const link = document.createElement("a");
    link.className = "cell-history-at";
    link.href = `/sheets/${encodeURIComponent(this.config.sheet)}/?at=${event.seq}`;
    link.textContent = "sheet as of this edit";
    li.append(meta, change, link);
    return li;
  }
}

/**
 * Wire the panel to a GridBinding's grid: Alt+H opens the selected cell's
 * history; Escape closes the panel. selectedCell() -> {row, col, rowId,
 * colId} or null; isEditing() tells whether a cell editor is open (Escape
 * then belongs to the editor).
 */
export function bindShortcut(panel, { selectedCell, isEditing }) {
  // Capture phase: the grid's own document listener must not see Alt+H.
  window.addEventListener(
    "keydown",
    (event) => {
      if (isShortcut(event) && !isEditing()) {
        const cell = selectedCell();
        if (!cell) return;
        event.preventDefault();
        event.stopPropagation();
        panel.open(cell);
      } else if (event.key === "Escape" && panel.isOpen && !isEditing() && !panel.element.contains(event.target)) {
        panel.close();
      }
    },
    true,
  );
}

/**
 * The context menu: on a cell, the grid's useful default items plus "Cell
 * history"; extra({row, col, section}) adds items of the page's own (rows
 * and columns) at the top, on cells and on row and column headers.
 * cellAt(row, col) -> {row, col, rowId, colId} of the cell shown there.
 */
export function cellMenu(panel, { canEdit, cellAt, extra = () => [] }) {
  return ({ row, col, items, section }) => {
    const own = extra({ row, col, section });
    if (section !== "cell") return own.length ? own : false;
    const kept = items.filter((item) => {
      if (item.type === "line") return false;
      const title = item.title || "";
      if (title.startsWith("Paste")) return canEdit;
      return title.startsWith("Copy") || title.startsWith("Save as");
    });
    return [
      ...own,
      ...(own.length ? [{ type: "line" }] : []),
      { title: "Cell history", shortcut: SHORTCUT_LABEL, onclick: () => panel.open(cellAt(row, col)) },
      { type: "line" },
      ...kept,
    ];
  };
}
