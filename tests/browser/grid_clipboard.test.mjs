// Unit tests of static/sheets/grid-clipboard.js (TSV as Excel, Google Sheets and LibreOffice write it).
import assert from "node:assert/strict";
import { test } from "node:test";

import { formatTsv, parseTsv } from "./grid-clipboard.js";

test("plain rows and fields, CRLF or LF, a trailing newline adds no row", () => {
  assert.deepEqual(parseTsv("a\tb\r\nc\td\r\n"), [["a", "b"], ["c", "d"]]);
  assert.deepEqual(parseTsv("a\tb\nc\td"), [["a", "b"], ["c", "d"]]);
  assert.deepEqual(parseTsv("one"), [["one"]]);
  assert.deepEqual(parseTsv(""), []);
});

test("empty fields are kept, at either end of a row", () => {
  assert.deepEqual(parseTsv("\tx\t\n\t\t"), [["", "x", ""], ["", "", ""]]);
});

test("quoted fields hold tabs, newlines and doubled quotes", () => {
  assert.deepEqual(parseTsv('"a\tb"\t"two\nlines"\n"say ""hi"""'), [["a\tb", "two\nlines"], ['say "hi"']]);
});

test("a quote inside an unquoted field is a quote", () => {
  assert.deepEqual(parseTsv('5" pipe\tx'), [['5" pipe', "x"]]);
});

test("format quotes only what needs it, and parse reads it back", () => {
  const block = [["plain", "a\tb"], ['say "hi"', "two\nlines"], ["", "=1+2"]];
  const text = formatTsv(block);
  assert.equal(text, 'plain\t"a\tb"\n"say ""hi"""\t"two\nlines"\n\t=1+2');
  assert.deepEqual(parseTsv(text), block);
});
