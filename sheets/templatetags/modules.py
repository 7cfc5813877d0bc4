"""``{% module_preloads "sheets/grid.js" %}``: a modulepreload link for every module an entry module imports.

A page's ES modules are found one level of imports at a time: the browser
reads grid.js before it asks for what grid.js imports, and so on, each level
a round trip even from its cache. Listing the whole import graph in the
page's head lets the browser ask for every module at once. The graph is read
from the static files themselves (relative ``import … from "./x.js"`` and
``export … from``), so it never falls behind the code; a module that is not
found is left out (the browser then finds it the slow way).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import PurePosixPath

from django import template
from django.conf import settings
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

register = template.Library()

# `import x from "./a.js"`, `import "./a.js"`, `export { y } from "../b.js"`; not `import("./c.js")`.
_IMPORT = re.compile(r"""\b(?:from|import)\s*["'](\.{1,2}/[^"']+)["']""")


def _imports(path: str) -> list[str]:
    found = finders.find(path)
    if not found:
        return []
    with open(found, encoding="utf-8") as source:
        text = source.read()
    folder = PurePosixPath(path).parent
    resolved = []
    for relative in _IMPORT.findall(text):
        parts: list[str] = []
        for part in (folder / relative).parts:
            if part == "..":
                if parts:
                    parts.pop()
            elif part != ".":
                parts.append(part)
        resolved.append("/".join(parts))
    return resolved


def module_graph(entry: str) -> list[str]:
    """Every static path ``entry`` imports, directly or not, in the order first met (``entry`` itself not)."""
    seen = {entry}
    order: list[str] = []
    todo = [entry]
    while todo:
        for path in _imports(todo.pop(0)):
            if path not in seen:
                seen.add(path)
                order.append(path)
                todo.append(path)
    return order


_cached_graph = lru_cache(maxsize=None)(module_graph)


@register.simple_tag
def module_preloads(entry: str) -> SafeString:
    # Read once per process, but on every page while developing (the modules change under `make run`).
    paths = module_graph(entry) if settings.DEBUG else _cached_graph(entry)
    return format_html_join("\n", '<link rel="modulepreload" href="{}">', ((static(path),) for path in paths))
