// Opening the grid page: the cells API read with retries (the server may be
// restarting), whole for a small sheet, or its first window for a big one
// (windowed-model.js), whose source then fetches the rest.

import { withIds } from "./model.js";
import { renderStatus } from "./notices.js";
import { WINDOWED_ROWS, cellsSource } from "./windowed-model.js";

const LOAD_RETRY_CAP = 15000;

async function loadCells(config, url, { notify, statusElement }) {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.status === 401) {
        window.location.assign(`/accounts/login/?next=${encodeURIComponent(window.location.pathname)}`);
        return new Promise(() => {});
      }
      if (response.ok) return withIds(await response.json(), config);
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

/** [the sheet as the cells API gives it (a big one: its columns and head only), the WindowSource or null]. */
export async function loadSheet(config, ui) {
  if (config.rows <= WINDOWED_ROWS) return [await loadCells(config, config.cellsUrl, ui), null];
  const source = cellsSource(config);
  const first = await loadCells(config, `${config.cellsUrl}?row_from=0&row_count=${source.windowSize}`, ui);
  const load = source.load;
  source.load = (rowFrom, rowCount) => (rowFrom === 0 && first && rowCount === source.windowSize ? first : load(rowFrom, rowCount));
  await source.open(0);
  source.load = load;
  return [{ head: source.lastSeq, row_ids: [], col_ids: source.colIds, cells: [] }, source];
}

