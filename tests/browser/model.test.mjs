// Unit tests of the grid page's pure state (static/sheets/model.js), run by
// Node's built-in test runner from tests/browser/test_model_js.py.
import assert from "node:assert/strict";
import { test } from "node:test";

// test_model_js.py copies static/sheets/model.js next to this file as model.mjs, so
// that any Node from 18 on reads it as an ES module.
import { SheetModel, cellName, columnName } from "./model.mjs";

const event = (seq, row, col, value, id = "other") => ({ seq, row, col, new_value: value, client_event_id: id });

test("columns are named like a spreadsheet's and rows count from 1", () => {
  assert.deepEqual([0, 1, 25, 26, 27, 51, 52, 701, 702].map(columnName),
    ["A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]);
  assert.equal(cellName(0, 0), "A1");
  assert.equal(cellName(9, 27), "AB10");
});

test("an own edit shows over the server's value until its events are applied", () => {
  const model = new SheetModel();
  model.loadCells([{ row: 0, col: 0, value: "old", last_seq: 1 }]);
  model.addLocal("e1", [{ row: 0, col: 0, value: "mine" }]);
  assert.equal(model.value(0, 0), "mine");
  model.acknowledge("e1", [2]);
  assert.deepEqual([...model.settle(1)], [], "the ack alone does not drop the edit: no flicker back to 'old'");
  assert.equal(model.value(0, 0), "mine");
  model.applyEvents([event(2, 0, 0, "mine", "e1")]);
  assert.deepEqual([...model.settle(2)], ["0,0"]);
  assert.equal(model.layers.length, 0);
  assert.equal(model.value(0, 0), "mine");
});

test("a later remote edit wins over an own edit once both are applied", () => {
  const model = new SheetModel();
  model.addLocal("e1", [{ row: 1, col: 1, value: "mine" }]);
  model.acknowledge("e1", [1]);
  model.applyEvents([event(1, 1, 1, "mine", "e1"), event(2, 1, 1, "theirs")]);
  model.settle(2);
  assert.equal(model.value(1, 1), "theirs");
});

test("a refused edit is dropped and the server's value shows again", () => {
  const model = new SheetModel();
  model.loadCells([{ row: 0, col: 0, value: "kept", last_seq: 3 }]);
  model.addLocal("e1", [{ row: 0, col: 0, value: "refused" }, { row: 0, col: 1, value: "also" }]);
  assert.deepEqual(model.reject("e1").map((c) => c.value), ["refused", "also"]);
  assert.equal(model.value(0, 0), "kept");
  assert.equal(model.value(0, 1), "");
  assert.deepEqual(model.reject("unknown"), []);
});

test("cells reported by a conflict replace older knowledge only", () => {
  const model = new SheetModel();
  model.applyEvents([event(5, 0, 0, "newer")]);
  const touched = model.applyServerCells([
    { row: 0, col: 0, value: "stale", last_seq: 4 },
    { row: 2, col: 2, value: "fresh", last_seq: 6 },
  ]);
  assert.deepEqual([...touched], ["2,2"]);
  assert.equal(model.value(0, 0), "newer");
  assert.equal(model.value(2, 2), "fresh");
});

test("base_seq is what the user saw: the cell's seq, 0 if never edited, none while an own edit is unacknowledged", () => {
  const model = new SheetModel();
  model.applyEvents([event(7, 3, 1, "x")]);
  assert.equal(model.baseSeq(3, 1), 7);
  assert.equal(model.baseSeq(0, 0), 0);
  model.addLocal("e1", [{ row: 3, col: 1, value: "a" }, { row: 4, col: 1, value: "b" }]);
  assert.equal(model.baseSeq(3, 1), undefined);
  model.acknowledge("e1", [8, 9]);
  assert.equal(model.baseSeq(3, 1), 8);
  assert.equal(model.baseSeq(4, 1), 9);
});

test("a snapshot replaces the server's cells and keeps own pending edits on top", () => {
  const model = new SheetModel();
  model.loadCells([{ row: 0, col: 0, value: "gone", last_seq: 1 }]);
  model.addLocal("e1", [{ row: 1, col: 0, value: "pending" }]);
  const touched = model.loadCells([{ row: 5, col: 5, value: "new", last_seq: 20000 }]);
  assert.deepEqual(new Set(touched), new Set(["0,0", "5,5"]));
  assert.equal(model.value(0, 0), "");
  assert.equal(model.value(5, 5), "new");
  assert.equal(model.value(1, 0), "pending");
});
