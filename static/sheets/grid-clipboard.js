// Copy and paste as Excel, Google Sheets and LibreOffice do: tab-separated
// values, one line a row, fields with a tab, a newline or a quote wrapped in
// quotes (doubled inside). Pure helpers plus the document listeners that
// the grid view binds while the grid has the focus.

/** A block of values -> TSV text. */
export function formatTsv(rows) {
  const field = (value) => (/[\t\n\r"]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
  return rows.map((row) => row.map(field).join("\t")).join("\n");
}

/** TSV text -> a block of values (rows of fields); a trailing newline adds no row. */
export function parseTsv(text) {
  const rows = [];
  let row = [];
  let field = "";
  let i = 0;
  let quoted = false;
  let atFieldStart = true;
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (ch === '"') quoted = false;
      else field += ch;
      i += 1;
      continue;
    }
    if (ch === '"' && atFieldStart) {
      quoted = true;
      atFieldStart = false;
      i += 1;
    } else if (ch === "\t") {
      row.push(field);
      field = "";
      atFieldStart = true;
      i += 1;
    } else if (ch === "\n" || ch === "\r") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      atFieldStart = true;
      i += ch === "\r" && text[i + 1] === "\n" ? 2 : 1;
    } else {
      field += ch;
      atFieldStart = false;
      i += 1;
    }
  }
  if (!atFieldStart || field !== "" || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/**
 * Listen for the browser's copy and paste while `active()` (the grid has
 * the focus, no editor is open): copy() -> rows of values to put on the
 * clipboard (or null), paste(rows) with the block read from it.
 */
export function bindClipboard({ active, copy, paste }) {
  document.addEventListener("copy", (event) => {
    if (!active()) return;
    const rows = copy();
    if (!rows) return;
    event.clipboardData.setData("text/plain", formatTsv(rows));
    event.preventDefault();
  });
  document.addEventListener("paste", (event) => {
    if (!active()) return;
    const text = event.clipboardData?.getData("text/plain") ?? "";
    event.preventDefault();
    if (text !== "") paste(parseTsv(text));
  });
}
