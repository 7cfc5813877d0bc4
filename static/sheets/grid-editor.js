// The cell editor SlickGrid opens: a plain input. Typed over (a printable
// key on a selected cell) it starts empty and the arrow keys commit and
// move, as in Excel; opened with Enter, F2 or a double-click it starts with
// the cell's value, the caret at its end, and the arrows move the caret.
// It knows the ids of the cell it edits, so a commit lands on its row even
// when rows moved while it was open.

const ARROWS_HOME_END = [35, 36, 37, 39];

/** binding: the GridView; its next `startText` (or null) and `target()` describe the editor to open. */
export function editorClass(binding) {
  return class CellEditor {
    constructor(args) {
      this.args = args;
      this.target = binding.editorTarget(args.grid.getActiveCell());
      this.typedOver = binding.startText !== null;
      this.keyCaptureList = this.typedOver ? [] : ARROWS_HOME_END;
      this.input = document.createElement("input");
      this.input.type = "text";
      this.input.className = "ls-editor";
      this.input.spellcheck = false;
      args.container.replaceChildren(this.input);
      binding.editorOpened(this);
    }

    destroy() {
      this.input.remove();
      binding.editorClosed(this);
    }

    focus() {
      this.input.focus({ preventScroll: true });
    }

    loadValue() {
      if (this.original !== undefined) return; // a value arriving while it is open waits (GridView.show)
      this.original = binding.valueOf(this.target.rowId, this.target.colId);
      const text = this.typedOver ? binding.startText : this.original;
      binding.startText = null;
      this.input.value = text;
      this.focus();
      this.input.setSelectionRange(text.length, text.length);
    }

    text() {
      return this.input.value;
    }

    setText(text, caret) {
      this.input.value = text;
      this.focus();
      const at = caret ?? text.length;
      this.input.setSelectionRange(at, at);
    }

    serializeValue() {
      return this.input.value;
    }

    applyValue() {} // the model holds values; GridView turns the commit into an edit

    isValueChanged() {
      return this.input.value !== this.original;
    }

    validate() {
      return { valid: true, msg: null };
    }
  };
}
