// The sheet as this tab knows it: the server's confirmed cells plus this
// tab's own edits that the ledger has not folded in yet. Pure: no DOM, no
// socket; grid.js feeds it frames and user edits and re-renders the cells
// it names.

export function cellKey(row, col) {
  return `${row},${col}`;
}

export function parseKey(key) {
  const [row, col] = key.split(",");
  return [Number(row), Number(col)];
}

// "A".."Z", "AA".. as in every spreadsheet; the protocol stays 0-based.
export function columnName(col) {
  let name = "";
  for (let n = col + 1; n > 0; n = Math.floor((n - 1) / 26)) {
    name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  }
  return name;
}

export function cellName(row, col) {
  return `${columnName(col)}${row + 1}`;
}

export class SheetModel {
  constructor() {
    // key -> {value, seq}: the server's state as of the last applied seq.
    this.confirmed = new Map();
    // This tab's edits in the order they were made. A layer stays until its
    // events have been applied (seqs known and <= lastSeq) or the server
    // refused it, so the grid never flickers back to the old value between
    // the ack and the events frame.
    this.layers = [];
  }

  value(row, col) {
    const key = cellKey(row, col);
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const change = this.layers[i].byKey.get(key);
      if (change) return change.value;
    }
    return this.confirmedValue(row, col);
  }

  confirmedValue(row, col) {
    const cell = this.confirmed.get(cellKey(row, col));
    return cell ? cell.value : "";
  }

  // The seq the user's view of the cell is based on, for the edit's base_seq.
  // Undefined when this tab's own unacknowledged edit of the cell is still in
  // flight: its seq is unknown, and the user did see their own value.
  baseSeq(row, col) {
    const key = cellKey(row, col);
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i];
      if (!layer.byKey.has(key)) continue;
      if (!layer.seqs) return undefined;
      return layer.seqOf(key);
    }
    const cell = this.confirmed.get(key);
    return cell ? cell.seq : 0;
  }

  // Replace everything the server said so far; own layers stay on top.
  loadCells(cells) {
    const touched = new Set(this.confirmed.keys());
    this.confirmed.clear();
    for (const cell of cells) {
      const key = cellKey(cell.row, cell.col);
      this.confirmed.set(key, { value: cell.value, seq: cell.last_seq });
      touched.add(key);
    }
    return touched;
  }

  // Apply contiguous events (the connection checked the order); return the keys whose display may have changed.
  applyEvents(events) {
    const touched = new Set();
    for (const event of events) {
      const key = cellKey(event.row, event.col);
      this.confirmed.set(key, { value: event.new_value, seq: event.seq });
      touched.add(key);
    }
    return touched;
  }

  // Set cells whose current state the server reported (a conflict); older news never wins.
  applyServerCells(cells) {
    const touched = new Set();
    for (const cell of cells) {
      const key = cellKey(cell.row, cell.col);
      const known = this.confirmed.get(key);
      if (!known || known.seq <= cell.last_seq) {
        this.confirmed.set(key, { value: cell.value, seq: cell.last_seq });
        touched.add(key);
      }
    }
    return touched;
  }

  addLocal(id, changes) {
    this.layers.push(new Layer(id, changes));
  }

  acknowledge(id, seqs) {
    const layer = this.layers.find((l) => l.id === id);
    if (layer) layer.seqs = seqs;
  }

  // Drop a refused edit and return its changes, so the grid shows the server's values again.
  reject(id) {
    const index = this.layers.findIndex((l) => l.id === id);
    if (index < 0) return [];
    const [layer] = this.layers.splice(index, 1);
    return layer.changes;
  }

  hasLocal(key) {
    return this.layers.some((layer) => layer.byKey.has(key));
  }

  // Drop the layers whose events are all applied; the confirmed state now shows them.
  settle(lastSeq) {
    const touched = new Set();
    this.layers = this.layers.filter((layer) => {
      if (!layer.seqs || Math.max(...layer.seqs) > lastSeq) return true;
      for (const key of layer.byKey.keys()) touched.add(key);
      return false;
    });
    return touched;
  }
}

class Layer {
  constructor(id, changes) {
    this.id = id;
    this.changes = changes;
    this.seqs = null;
    this.byKey = new Map();
    for (const change of changes) this.byKey.set(cellKey(change.row, change.col), change);
  }

  // Seqs are consecutive and follow the order of the changes (PROTOCOL 3.2).
  seqOf(key) {
    let seq;
    this.changes.forEach((change, i) => {
      if (cellKey(change.row, change.col) === key) seq = this.seqs[i];
    });
    return seq;
  }
}
