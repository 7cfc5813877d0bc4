// The grid's context menu: a list of items {title, shortcut?, tooltip?,
// onclick} and {type: "line"} separators, drawn at the mouse, closed by a
// click elsewhere, Escape, or choosing an item.

export class ContextMenu {
  constructor() {
    this.element = document.createElement("div");
    this.element.className = "ls-menu";
    this.element.setAttribute("role", "menu");
    this.element.hidden = true;
    document.body.append(this.element);
    document.addEventListener("mousedown", (event) => {
      if (!this.element.hidden && !this.element.contains(event.target)) this.close();
    }, true);
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !this.element.hidden) {
        event.preventDefault();
        event.stopPropagation();
        this.close();
      }
    }, true);
  }

  get isOpen() {
    return !this.element.hidden;
  }

  open(items, x, y) {
    const nodes = [];
    for (const item of items) {
      if (item.type === "line") {
        if (nodes.length && !nodes[nodes.length - 1].classList.contains("ls-menu-line")) {
          const line = document.createElement("hr");
          line.className = "ls-menu-line";
          nodes.push(line);
        }
        continue;
      }
      const link = document.createElement("a");
      link.setAttribute("role", "menuitem");
      link.tabIndex = -1;
      const title = document.createElement("span");
      title.className = "ls-menu-title";
      title.textContent = item.title;
      link.append(title);
      if (item.shortcut) {
        const key = document.createElement("kbd");
        key.className = "ls-menu-shortcut";
        key.textContent = item.shortcut;
        link.append(key);
      }
      if (item.tooltip) link.title = item.tooltip;
      link.addEventListener("click", (event) => {
        event.preventDefault();
        this.close();
        item.onclick?.();
      });
      nodes.push(link);
    }
    if (nodes.length && nodes[nodes.length - 1].tagName === "HR") nodes.pop();
    if (!nodes.length) return;
    this.element.replaceChildren(...nodes);
    this.element.hidden = false;
    const box = this.element.getBoundingClientRect();
    const left = Math.min(x, window.innerWidth - box.width - 4);
    const top = Math.min(y, window.innerHeight - box.height - 4);
    this.element.style.left = `${Math.max(0, left) + window.scrollX}px`;
    this.element.style.top = `${Math.max(0, top) + window.scrollY}px`;
  }

  close() {
    this.element.hidden = true;
    this.element.replaceChildren();
  }
}
