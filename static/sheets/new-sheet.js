// The New sheet page. Without this module the form posts to the page, which
// answers when the whole file is imported, with nothing to watch meanwhile.
// With it, a sheet from a file goes to POST /api/sheets/ by XMLHttpRequest
// (fetch cannot report upload progress) so that the page can show the
// upload, then the import (the catalog's `importing` list counts the rows
// committed so far), and a refusal in place, its JSON error as the message,
// with the form left as it was to try again. A blank sheet still posts the
// plain form: it is made at once.

const POLL_MS = 1000; // docs/protocol.md: rows_imported moves a chunk at a time

const form = document.getElementById("new-sheet");
const errorBox = document.getElementById("new-sheet-error");
const progressBox = document.getElementById("import-progress");
const bar = document.getElementById("import-bar");
const progressText = document.getElementById("import-text");
const submit = form.querySelector("button[type=submit]");
const numbers = new Intl.NumberFormat();

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

// fraction null: a bar that moves without saying how far (nothing to count yet).
function showProgress(message, fraction) {
  progressBox.hidden = false;
  progressText.textContent = message;
  if (fraction === null) bar.removeAttribute("value");
  else bar.value = Math.round(Math.min(1, fraction) * 100);
}

function usable() {
  progressBox.hidden = true;
  submit.disabled = false;
  form.removeAttribute("aria-busy");
}

// Call onEntry with the caller's entry in the catalog's `importing` list
// for this name, once a second until the returned function is called. The
// entry appears only once the server has the whole file and its first
// chunk has committed; until then there is nothing to show.
function watchImport(name, onEntry) {
  let timer = null;
  let stopped = false;
  const poll = async () => {
    try {
      const response = await fetch(form.dataset.apiUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) {
        const { importing = [] } = await response.json();
        const entry = importing.find((item) => item.name === name);
        if (entry && !stopped) onEntry(entry);
      }
    } catch {
      // A poll that did not get through: the next one may, and the upload's own answer decides anyway.
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  };
  timer = setTimeout(poll, POLL_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function refusal(xhr, importFailed) {
  let body = null;
  try {
    body = JSON.parse(xhr.responseText);
  } catch {
    // Not the API's JSON: a proxy's page (nginx's 413, say) or a crash.
  }
  if (body && typeof body.error === "string") return body.error;
  if (importFailed) {
    return "the import failed part way; that name cannot be used again: import the file under another name";
  }
  if (xhr.status === 413) return "the file is too big for the server to take";
  return `the server answered ${xhr.status} ${xhr.statusText}`.trim();
}

function upload(name, title, file) {
  const data = new FormData();
  data.append("name", name);
  data.append("title", title);
  data.append("file", file, file.name);
  const xhr = new XMLHttpRequest();
  let counting = false; // the catalog has given a row count: upload events no longer say anything new
  let importFailed = false;
  const stopWatching = watchImport(name, (entry) => {
    if (entry.state === "failed") {
      importFailed = true;
      return;
    }
    counting = true;
    const { rows_imported: done, row_count: total } = entry;
    showProgress(`Importing: ${numbers.format(done)} of ${numbers.format(total)} rows`, total ? done / total : null);
  });
  xhr.open("POST", form.dataset.apiUrl);
  xhr.setRequestHeader("Accept", "application/json");
  // A session request to the API needs the CSRF token in this header (docs/protocol.md, section 10).
  xhr.setRequestHeader("X-CSRFToken", form.elements.namedItem("csrfmiddlewaretoken").value);
  xhr.upload.addEventListener("progress", (event) => {
    if (counting || !event.lengthComputable) return;
    const fraction = event.total ? event.loaded / event.total : 1;
    showProgress(`Uploading: ${Math.round(fraction * 100)}%`, fraction);
  });
  // The whole file is sent: the server reads and judges it, then appends its cells a chunk at a time.
  xhr.upload.addEventListener("load", () => {
    if (!counting) showProgress("Importing…", null);
  });
  xhr.addEventListener("load", () => {
    stopWatching();
    if (xhr.status === 201) {
      const sheet = JSON.parse(xhr.responseText);
      showProgress("Imported: opening the sheet…", 1);
      window.location.assign(form.dataset.gridUrl.replace("__name__", encodeURIComponent(sheet.name)));
      return;
    }
    usable();
    showError(`Not imported: ${refusal(xhr, importFailed).replace(/\.$/, "")}.`);
  });
  const lost = () => {
    stopWatching();
    usable();
    showError("Not imported: the connection to the server was lost before it answered. Try again.");
  };
  xhr.addEventListener("error", lost);
  xhr.addEventListener("abort", lost);
  xhr.send(data);
}

form.addEventListener("submit", (event) => {
  const file = form.elements.namedItem("file").files[0];
  errorBox.hidden = true;
  submit.disabled = true; // one click, one sheet
  form.setAttribute("aria-busy", "true");
  if (!file) return; // a blank sheet: the plain form post
  event.preventDefault();
  showProgress("Uploading: 0%", 0);
  const field = (name) => form.elements.namedItem(name).value.trim();
  upload(field("name"), field("title"), file);
});

// Back from the grid (the page restored from the cache): the form is usable again.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) usable();
});
