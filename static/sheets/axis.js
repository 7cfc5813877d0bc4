// The rows or the columns of model.js's sheet, local and remote inserts and
// deletes included. Pure: no DOM, no socket.

/**
 * One axis (the rows or the columns): every id this tab knows in order,
 * deleted ones included as tombstones that keep their place, so that an
 * insert "after" a row deleted meanwhile lands where that row stood, as the
 * server places it.
 */
export class Axis {
  constructor(ids = [], gone = new Set()) {
    this.ids = ids;
    this.gone = gone;
    this.index = null; // id -> index in this.ids, built on demand
  }

  clone() {
    return new Axis([...this.ids], new Set(this.gone));
  }

  has(id) {
    return this.indexOf(id) >= 0;
  }

  indexOf(id) {
    if (this.index === null) this.index = new Map(this.ids.map((each, i) => [each, i]));
    const found = this.index.get(id);
    return found === undefined ? -1 : found;
  }

  live() {
    return this.gone.size ? this.ids.filter((id) => !this.gone.has(id)) : [...this.ids];
  }

  splice(at, ids) {
    this.ids.splice(at, 0, ...ids);
    this.index = null;
  }

  // A local insert: after an id (a tombstone too), or at the top for null.
  // Ids already present were applied from the ledger meanwhile: skip them.
  insertAfter(after, ids) {
    const fresh = ids.filter((id) => !this.has(id));
    if (!fresh.length) return;
    let at = 0;
    if (after !== null && after !== undefined) {
      const anchor = this.indexOf(after);
      at = anchor < 0 ? this.ids.length : anchor + 1; // an anchor this tab never saw: the end
    }
    this.splice(at, fresh);
  }

  // A remote insert: `position` is exact among the live ids; `after` only
  // settles where among the tombstones of that gap the new ids go.
  insertAt(position, after, ids) {
    const fresh = ids.filter((id) => !this.has(id));
    if (!fresh.length) return;
    let lo = 0;
    let hi = this.ids.length;
    let seen = 0;
    for (let i = 0; i < this.ids.length; i++) {
      if (this.gone.has(this.ids[i])) continue;
      if (seen === position - 1) lo = i + 1;
      if (seen === position) {
        hi = i;
        break;
      }
      seen += 1;
    }
    if (position > seen) lo = hi = this.ids.length; // past the end: news from a server ahead of us
    let at = lo;
    const anchor = after === null || after === undefined ? -1 : this.indexOf(after);
    if (anchor >= lo - 1 && anchor < hi) at = anchor + 1;
    this.splice(at, fresh);
  }

  remove(ids) {
    for (const id of ids) if (this.has(id)) this.gone.add(id);
  }
}
