// Unit tests of the grid page's pure state (static/sheets/model.js), run by
// Node's built-in test runner from tests/browser/test_model_js.py.
import assert from "node:assert/strict";
import { test } from "node:test";

// test_model_js.py copies static/sheets/model.js and axis.js next to this file,
// with a package.json that makes them ES modules to any Node from 18 on.
import { Axis } from "./axis.js";
import { SheetModel, cellKey, cellName, columnName } from "./model.js";

const ROWS = (n) => Array.from({ length: n }, (_, i) => `r${i}`);
const COLS = (n) => Array.from({ length: n }, (_, i) => `c${i}`);

// A fresh sheet as the cells API describes it.
function sheet(rows = 5, cols = 3, cells = []) {
  const model = new SheetModel();
  model.load({ row_ids: ROWS(rows), col_ids: COLS(cols), cells });
  return model;
}

const changed = (seq, rowId, colId, value, id = "other") => ({
  seq, type: "CellChanged", row_id: rowId, col_id: colId, new_value: value, client_event_id: id, broadcaster: "bob",
});
const rowsInserted = (seq, row, after, rowIds, id = "other") => ({
  seq, type: "RowsInserted", row, after, row_ids: rowIds, client_event_id: id, broadcaster: "bob",
});
const rowsDeleted = (seq, rows, rowIds, id = "other") => ({
  seq, type: "RowsDeleted", rows, row_ids: rowIds, client_event_id: id, broadcaster: "bob",
});
const colsInserted = (seq, col, after, colIds, id = "other") => ({
  seq, type: "ColumnsInserted", col, after, col_ids: colIds, client_event_id: id, broadcaster: "carol",
});
const colsDeleted = (seq, cols, colIds, id = "other") => ({
  seq, type: "ColumnsDeleted", cols, col_ids: colIds, client_event_id: id, broadcaster: "carol",
});

// What the grid would show: {"B3": value} by position.
function shown(model) {
  const cells = {};
  model.rowIds().forEach((rowId, row) => {
    model.colIds().forEach((colId, col) => {
      const value = model.value(rowId, colId);
      if (value !== "") cells[cellName(row, col)] = value;
    });
  });
  return cells;
}

test("columns are named like a spreadsheet's and rows count from 1", () => {
  assert.deepEqual([0, 1, 25, 26, 27, 51, 52, 701, 702].map(columnName),
    ["A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]);
  assert.equal(cellName(0, 0), "A1");
  assert.equal(cellName(9, 27), "AB10");
});

test("an own edit shows over the server's value until its events are applied", () => {
  const model = sheet(3, 3, [{ row_id: "r0", col_id: "c0", value: "old", last_seq: 1 }]);
  model.addEdit("e1", [{ row_id: "r0", col_id: "c0", value: "mine" }]);
  assert.equal(model.value("r0", "c0"), "mine");
  model.acknowledge("e1", [2]);
  assert.deepEqual([...model.settle(1).cells], [], "the ack alone does not drop the edit: no flicker back to 'old'");
  assert.equal(model.value("r0", "c0"), "mine");
  model.applyEvents([changed(2, "r0", "c0", "mine", "e1")]);
  assert.deepEqual([...model.settle(2).cells], [cellKey("r0", "c0")]);
  assert.equal(model.layers.length, 0);
  assert.equal(model.value("r0", "c0"), "mine");
});

test("a later remote edit wins over an own edit once both are applied", () => {
  const model = sheet();
  model.addEdit("e1", [{ row_id: "r1", col_id: "c1", value: "mine" }]);
  model.acknowledge("e1", [1]);
  model.applyEvents([changed(1, "r1", "c1", "mine", "e1"), changed(2, "r1", "c1", "theirs")]);
  model.settle(2);
  assert.equal(model.value("r1", "c1"), "theirs");
});

test("a refused edit is dropped and the server's value shows again", () => {
  const model = sheet(3, 3, [{ row_id: "r0", col_id: "c0", value: "kept", last_seq: 3 }]);
  model.addEdit("e1", [{ row_id: "r0", col_id: "c0", value: "refused" }, { row_id: "r0", col_id: "c1", value: "also" }]);
  assert.deepEqual(model.reject("e1").changes.map((c) => c.value), ["refused", "also"]);
  assert.equal(model.value("r0", "c0"), "kept");
  assert.equal(model.value("r0", "c1"), "");
  assert.equal(model.reject("unknown"), null);
});

test("cells reported by a conflict replace older knowledge only", () => {
  const model = sheet();
  model.applyEvents([changed(5, "r0", "c0", "newer")]);
  const touched = model.applyServerCells([
    { row_id: "r0", col_id: "c0", row: 0, col: 0, value: "stale", last_seq: 4 },
    { row_id: "r2", col_id: "c2", row: 2, col: 2, value: "fresh", last_seq: 6 },
  ]);
  assert.deepEqual([...touched], [cellKey("r2", "c2")]);
  assert.equal(model.value("r0", "c0"), "newer");
  assert.equal(model.value("r2", "c2"), "fresh");
});

test("base_seq is what the user saw: the cell's seq, 0 if never edited, none while an own edit is unacknowledged", () => {
  const model = sheet();
  model.applyEvents([changed(7, "r3", "c1", "x")]);
  assert.equal(model.baseSeq("r3", "c1"), 7);
  assert.equal(model.baseSeq("r0", "c0"), 0);
  model.addEdit("e1", [{ row_id: "r3", col_id: "c1", value: "a" }, { row_id: "r4", col_id: "c1", value: "b" }]);
  assert.equal(model.baseSeq("r3", "c1"), undefined);
  model.acknowledge("e1", [8, 9]);
  assert.equal(model.baseSeq("r3", "c1"), 8);
  assert.equal(model.baseSeq("r4", "c1"), 9);
});

test("a remote insert above a pending edit moves the edit down with its row", () => {
  const model = sheet(5, 3);
  model.addEdit("e1", [{ row_id: "r3", col_id: "c1", value: "mine" }], [{ row: 3, col: 1 }]);
  assert.deepEqual(shown(model), { B4: "mine" });

  const { structure } = model.applyEvents([rowsInserted(1, 1, "r0", ["n1", "n2"])]);

  assert.equal(structure, true);
  assert.deepEqual(model.rowIds(), ["r0", "n1", "n2", "r1", "r2", "r3", "r4"]);
  assert.deepEqual(shown(model), { B6: "mine" }, "the edit follows its row, not its old position");
  assert.equal(model.rowPosition("r3"), 5);
  assert.equal(model.rowAt(1), "n1");
  // The server then commits the edit on r3: nothing moves again.
  model.acknowledge("e1", [2]);
  model.applyEvents([changed(2, "r3", "c1", "mine", "e1")]);
  model.settle(2);
  assert.deepEqual(shown(model), { B6: "mine" });
  assert.equal(model.layers.length, 0);
});

test("a remote insert at the top and at the end lands where the event's position says", () => {
  const model = sheet(2, 1);
  model.applyEvents([rowsInserted(1, 0, null, ["top"]), rowsInserted(2, 3, "r1", ["end"])]);
  assert.deepEqual(model.rowIds(), ["top", "r0", "r1", "end"]);
  model.applyEvents([colsInserted(3, 1, "c0", ["x"]), colsInserted(4, 0, null, ["y"])]);
  assert.deepEqual(model.colIds(), ["y", "c0", "x"]);
});

test("a remote delete of a row with a pending local edit removes the row, its cells, and remembers who deleted it", () => {
  const model = sheet(8, 3, [
    { row_id: "r6", col_id: "c0", value: "gone with its row", last_seq: 1 },
    { row_id: "r7", col_id: "c0", value: "moves up", last_seq: 2 },
  ]);
  model.addEdit("e1", [{ row_id: "r6", col_id: "c1", value: "typed" }, { row_id: "r2", col_id: "c1", value: "other" }],
    [{ row: 6, col: 1 }, { row: 2, col: 1 }]);

  model.applyEvents([rowsDeleted(3, [6], ["r6"])]);

  assert.deepEqual(model.rowIds(), ["r0", "r1", "r2", "r3", "r4", "r5", "r7"]);
  assert.deepEqual(shown(model), { B3: "other", A7: "moves up" }, "the deleted row's cells are gone, pending ones too");
  assert.equal(model.confirmed.has(cellKey("r6", "c0")), false);
  assert.deepEqual(model.deletedRows.get("r6"), { by: "bob", position: 6 });
  assert.equal(model.rowPosition("r6"), -1);
  // The server refuses the edit (no_such_row): the layer goes, what it saw stays readable.
  const layer = model.reject("e1");
  assert.deepEqual(layer.seen[0], { row: 6, col: 1 });
  assert.deepEqual(shown(model), { A7: "moves up" });
});

test("a remote column delete removes the column's cells and remembers it", () => {
  const model = sheet(2, 3, [{ row_id: "r0", col_id: "c1", value: "b" }, { row_id: "r0", col_id: "c2", value: "c" }]);
  model.applyEvents([colsDeleted(1, [1], ["c1"])]);
  assert.deepEqual(model.colIds(), ["c0", "c2"]);
  assert.deepEqual(shown(model), { B1: "c" });
  assert.deepEqual(model.deletedCols.get("c1"), { by: "carol", position: 1 });
});

test("rows inserted locally while offline can be typed into before any ack", () => {
  const model = sheet(3, 2, [{ row_id: "r1", col_id: "c0", value: "below" }]);
  model.addStructure("i1", { type: "insert_rows", after: "r0", row_ids: ["a", "b"] });
  assert.deepEqual(model.rowIds(), ["r0", "a", "b", "r1", "r2"]);
  assert.equal(model.rowAt(2), "b");
  model.addEdit("e1", [{ row_id: "b", col_id: "c1", value: "in a new row" }]);
  assert.deepEqual(shown(model), { B3: "in a new row", A4: "below" });
  assert.equal(model.baseSeq("a", "c0"), 0, "a new row's cells were never edited");
  assert.equal(model.pendingCount(), 2);
  // A remote insert at the top arrives meanwhile: the local rows and their text move down together.
  model.applyEvents([rowsInserted(1, 0, null, ["t"])]);
  assert.deepEqual(model.rowIds(), ["t", "r0", "a", "b", "r1", "r2"]);
  assert.deepEqual(shown(model), { B4: "in a new row", A5: "below" });
});

test("a structure layer stays through its ack and settles once its event is applied, without moving anything", () => {
  const model = sheet(3, 2);
  model.addStructure("i1", { type: "insert_rows", after: "r2", row_ids: ["n"] });
  model.addStructure("d1", { type: "delete_cols", col_ids: ["c0"] });
  assert.deepEqual(model.rowIds(), ["r0", "r1", "r2", "n"]);
  assert.deepEqual(model.colIds(), ["c1"]);

  model.acknowledge("i1", [1]);
  assert.equal(model.settle(0).structure, false, "an ack alone settles nothing");
  assert.deepEqual(model.rowIds(), ["r0", "r1", "r2", "n"]);
  // The event arrives: the layer is still there, applied twice it must not duplicate the row.
  model.applyEvents([rowsInserted(1, 3, "r2", ["n"], "i1")]);
  assert.deepEqual(model.rowIds(), ["r0", "r1", "r2", "n"]);
  assert.deepEqual(model.settle(1), { cells: new Set(), structure: true });
  assert.deepEqual(model.layers.map((l) => l.id), ["d1"]);
  assert.deepEqual(model.rowIds(), ["r0", "r1", "r2", "n"]);
  assert.deepEqual(model.colIds(), ["c1"]);

  model.applyEvents([colsDeleted(2, [0], ["c0"], "d1")]);
  model.acknowledge("d1", [2]);
  model.settle(2);
  assert.equal(model.layers.length, 0);
  assert.deepEqual(model.colIds(), ["c1"]);
});

test("a refused structure layer is dropped and the order is the server's again", () => {
  const model = sheet(3, 2);
  model.addStructure("d1", { type: "delete_rows", row_ids: ["r1"] });
  model.addStructure("i1", { type: "insert_cols", after: null, col_ids: ["x"] });
  assert.deepEqual(model.rowIds(), ["r0", "r2"]);
  assert.deepEqual(model.colIds(), ["x", "c0", "c1"]);
  assert.equal(model.reject("d1").kind, "delete_rows");
  assert.deepEqual(model.rowIds(), ["r0", "r1", "r2"]);
  assert.equal(model.reject("i1").kind, "insert_cols");
  assert.deepEqual(model.colIds(), ["c0", "c1"]);
});

test("a local insert after a row deleted remotely meanwhile goes where that row stood, as the server puts it", () => {
  const model = sheet(4, 1);
  model.addStructure("i1", { type: "insert_rows", after: "r1", row_ids: ["n"] });
  model.applyEvents([rowsDeleted(1, [1], ["r1"])]);
  assert.deepEqual(model.rowIds(), ["r0", "n", "r2", "r3"]);
  // The server commits it there: the event's position agrees with what was shown.
  model.acknowledge("i1", [2]);
  model.applyEvents([rowsInserted(2, 1, "r1", ["n"], "i1")]);
  model.settle(2);
  assert.deepEqual(model.rowIds(), ["r0", "n", "r2", "r3"]);
  assert.deepEqual(model.rows.ids, ["r0", "r1", "n", "r2", "r3"], "the deleted row stays as a tombstone");
});

test("local deletes hide rows with their pending edits; a local insert after them still finds its place", () => {
  const model = sheet(4, 1);
  model.addEdit("e1", [{ row_id: "r2", col_id: "c0", value: "x" }]);
  model.addStructure("d1", { type: "delete_rows", row_ids: ["r1", "r2"] });
  model.addStructure("i1", { type: "insert_rows", after: "r2", row_ids: ["n"] });
  assert.deepEqual(model.rowIds(), ["r0", "n", "r3"]);
  assert.deepEqual(shown(model), {});
});

test("a snapshot replaces the server's state and keeps own pending layers on top", () => {
  const model = sheet(3, 2, [{ row_id: "r0", col_id: "c0", value: "gone", last_seq: 1 }]);
  model.addStructure("i1", { type: "insert_rows", after: "r0", row_ids: ["mine"] });
  model.addEdit("e1", [{ row_id: "mine", col_id: "c1", value: "pending" }]);
  model.addEdit("e2", [{ row_id: "r2", col_id: "c0", value: "also pending" }]);

  const touched = model.load({
    row_ids: ["r0", "x", "r2"],
    col_ids: ["c0", "c1"],
    cells: [{ row_id: "x", col_id: "c0", row: 1, col: 0, value: "new", last_seq: 20000 }],
  });

  assert.deepEqual(new Set(touched), new Set([cellKey("r0", "c0"), cellKey("x", "c0")]));
  assert.deepEqual(model.rowIds(), ["r0", "mine", "x", "r2"]);
  assert.deepEqual(shown(model), { B2: "pending", A3: "new", A4: "also pending" });
  assert.equal(model.pendingCount(), 3);
});

test("an axis places remote inserts among tombstones by their anchor", () => {
  const axis = new Axis(["a", "b", "c"]);
  axis.remove(["b"]);
  axis.insertAt(1, "b", ["n"]);
  assert.deepEqual(axis.ids, ["a", "b", "n", "c"]);
  axis.insertAt(1, "a", ["m"]);
  assert.deepEqual(axis.ids, ["a", "m", "b", "n", "c"]);
  assert.deepEqual(axis.live(), ["a", "m", "n", "c"]);
  axis.insertAt(4, "c", ["z"]);
  assert.deepEqual(axis.live(), ["a", "m", "n", "c", "z"]);
});
