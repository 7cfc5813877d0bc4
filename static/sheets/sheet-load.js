// Opening the grid page: the cells API read with retries (the server may be
// restarting), whole for a small sheet, or its first window for a big one
// (windowed-model.js), whose source then fetches the rest. The first read
// is config.firstCellsUrl, which the page's HTML preloads: fetched here with
// the same URL and credentials (and no headers of its own), the browser
// hands over that response instead of asking again.

import { withIds } from "./model.js";
import { renderStatus } from "./notices.js";
import { cellsSource } from "./windowed-model.js";

const LOAD_RETRY_CAP = 15000;

async function loadCells(config, url, { notify, statusElement }) {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(url, { credentials: "same-origin" });
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

/**
 * [the sheet as the cells API gives it (a big one: its columns and head
 * only), the WindowSource or null]. A big sheet's source holds only its first
 * window and reads no more until widen()ed (the page does once it is live):
 * the reads around it would hold up the socket's subscribe on the server.
 */
export async function loadSheet(config, ui) {
  const first = await loadCells(config, config.firstCellsUrl, ui);
  if (!config.windowed) return [first, null];
  const source = cellsSource(config, { prefetch: 0 });
  source.begin(first);
  return [{ head: source.lastSeq, row_ids: [], col_ids: source.colIds, cells: [] }, source];
}
