// The grid's keys beyond SlickGrid's own navigation: typing over a cell,
// F2 to edit with the value kept, Enter that commits and moves down,
// Delete to empty the selection, Ctrl+A, Ctrl+Z / Ctrl+Y, and copy and
// paste through the browser's clipboard events.

import { bindClipboard } from "./grid-clipboard.js";

function printable(e) {
  return e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey;
}

export function bindGridKeys(view) {
  const grid = view.grid;
  grid.onKeyDown.subscribe((event) => {
    const e = event.getNativeEvent ? event.getNativeEvent() : event;
    const stop = () => {
      event.stopImmediatePropagation();
      e.preventDefault();
    };
    if (view.editing) {
      if (e.key === "Enter" && !e.shiftKey && !e.altKey && !e.ctrlKey) {
        view.commitAndMoveDown();
        stop();
      }
      return;
    }
    if (view.typedAhead && e.key === "Enter") {
      view.typedAhead.commit = true;
      stop();
      return;
    }
    if (printable(e)) {
      if (view.edit("")) return; // the key's character lands in the editor, now focused
      view.typeAhead(e.key); // a row still loading: the keys wait for it (a read-only grid drops them)
      stop();
      return;
    }
    if (e.key === "F2" && view.options.canEdit) {
      view.edit(null);
      stop();
    } else if ((e.key === "Delete" || e.key === "Backspace") && !e.ctrlKey && !e.altKey) {
      view.clear();
      stop();
    } else if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.code === "KeyZ" || e.code === "KeyY")) {
      if (view.options.canEdit) view.history(e.code === "KeyZ" && !e.shiftKey);
      stop();
    } else if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.code === "KeyA") {
      view.setRange(0, 0, view.rows.length() - 1, view.colIds.length - 1);
      stop();
    }
  });
  bindClipboard({
    active: () => view.editing === null && view.element.contains(document.activeElement),
    copy: () => view.copyBlock(),
    paste: (block) => view.paste(block),
  });
}
