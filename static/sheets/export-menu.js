// The grid page's Export menu: a <details> of plain download links, which
// works without this module. A download does not leave the page, so
// nothing would close the menu after a choice; close it then, and on a
// click elsewhere or Escape, as the cell context menu closes.

const menu = document.getElementById("export-menu");

if (menu) {
  const close = () => {
    menu.open = false;
  };
  // A tick later, so that the click still starts the download of the link it landed on.
  menu.querySelectorAll("a[download]").forEach((link) => link.addEventListener("click", () => setTimeout(close)));
  document.addEventListener("mousedown", (event) => {
    if (menu.open && !menu.contains(event.target)) close();
  }, true);
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !menu.open) return;
    // The grid below must not take this Escape as its own (leaving an editor, say).
    event.preventDefault();
    event.stopPropagation();
    close();
    menu.querySelector("summary").focus();
  }, true);
}
