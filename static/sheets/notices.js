// The connection pill in the top bar and the toasts under it.

const STATUS_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  closed: "Disconnected",
};

// noun: what is pending, "edit" or "change" (when rows or columns are inserted or deleted too).
export function renderStatus(element, status, pending, noun = "edit") {
  element.className = `status status-${status}`;
  element.dataset.status = status;
  element.dataset.pending = String(pending);
  let text = STATUS_TEXT[status] ?? status;
  if (pending > 0) {
    const edits = pending === 1 ? `1 ${noun}` : `${pending} ${noun}s`;
    text += status === "live" ? ` · saving ${edits}` : ` · ${edits} waiting`;
  }
  element.textContent = text;
  element.title =
    status === "live"
      ? "Connected: edits are saved and other people's edits appear as they happen."
      : "Edits you make now are kept in this tab and sent when the connection is back.";
}

/**
 * Show a toast. kind: "error" | "warning" | "info". Errors stay until
 * dismissed; the others fade after `timeout` ms. `code` lands in
 * data-code so that people and tests can tell messages apart.
 */
export function showMessage(container, { kind = "info", title, text, code, timeout = 8000 }) {
  const box = document.createElement("div");
  box.className = `message message-${kind}`;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  if (code) box.dataset.code = code;
  const body = document.createElement("div");
  body.className = "message-body";
  if (title) {
    const strong = document.createElement("strong");
    strong.textContent = title;
    body.append(strong, " ");
  }
  body.append(text);
  const close = document.createElement("button");
  close.type = "button";
  close.className = "message-close";
  close.setAttribute("aria-label", "Dismiss");
  close.textContent = "×";
  close.addEventListener("click", () => box.remove());
  box.append(body, close);
  container.append(box);
  // Keep the stack short: the oldest notices go first.
  while (container.children.length > 5) container.firstElementChild.remove();
  if (kind !== "error" && timeout > 0) setTimeout(() => box.remove(), timeout);
  return box;
}
