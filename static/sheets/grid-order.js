// Turning one order of rows (or columns) into another in the grid, in
// place: which ids stay, the runs to delete and to insert, and the
// library's undo steps moved with their cells. Pure helpers of grid-binding.js.

// Which ids of `before` stay in place on the way to `after` (no id repeats
// in either): the others are deleted, then every id of `after` not kept is
// inserted. A move (which the model never makes on purpose) comes out as a
// delete and an insert.
export function keptIds(before, after) {
  const wanted = new Set(after);
  const survivors = before.filter((id) => wanted.has(id));
  const surviving = new Set(survivors);
  const order = after.filter((id) => surviving.has(id));
  const kept = new Set();
  let j = 0;
  for (const id of survivors) {
    if (j < order.length && order[j] === id) {
      kept.add(id);
      j += 1;
    }
  }
  return kept;
}

// Delete the ids of `ids` not in `kept`, in runs, from the bottom up, so that positions above stay valid.
export function removeRuns(ids, kept, remove) {
  let end = ids.length;
  for (let i = ids.length - 1; i >= -1; i--) {
    if (i >= 0 && !kept.has(ids[i])) continue;
    if (end - (i + 1) > 0) remove(i + 1, end - (i + 1));
    end = i;
  }
}

// Insert the ids of `wanted` not in `kept`, in runs, from the top down; `current` tracks the grid.
export function insertRuns(wanted, kept, current, insert) {
  let at = 0;
  while (at < wanted.length) {
    if (kept.has(wanted[at])) {
      at += 1;
      continue;
    }
    let end = at;
    while (end < wanted.length && !kept.has(wanted[end])) end += 1;
    insert(at, end - at);
    current.splice(at, 0, ...wanted.slice(at, end));
    at = end;
  }
}

// The library keeps undo steps by position: move them with their cells, and
// forget those of deleted cells. where(x, y) -> {row, col} now, or null.
export function remapHistory(history, where) {
  for (const step of history || []) {
    if (step.action !== "setValue") continue;
    step.records = step.records.flatMap((record) => {
      const at = where(record.x, record.y);
      return at === null ? [] : [{ ...record, x: at.col, y: at.row }];
    });
    if (step.selection) {
      const from = where(step.selection[0], step.selection[1]);
      const to = where(step.selection[2], step.selection[3]);
      step.selection = from && to ? [from.col, from.row, to.col, to.row] : null;
    }
  }
}
