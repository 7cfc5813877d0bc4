"""The grid's windowed data source (static/sheets/window-source.js, window-runs.js), unit-tested with Node's test runner."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent
SHEETS = HERE.parents[1] / "static" / "sheets"
MODULES = ("window-source.js", "window-runs.js")


def test_the_window_source_passes_its_node_unit_tests(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed; `make setup` needs it for the grid library anyway")
    # The modules import each other as ./*.js: a package.json of type "module"
    # makes any Node from 18 on read them as ES modules, whatever the repo's says.
    (tmp_path / "package.json").write_text(json.dumps({"type": "module"}))
    for module in MODULES:
        shutil.copy(SHEETS / module, tmp_path / module)
    shutil.copy(HERE / "window_source.test.mjs", tmp_path / "window_source.test.mjs")
    result = subprocess.run([node, "--test", str(tmp_path / "window_source.test.mjs")], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) > 0 and "# fail 0" in result.stdout, result.stdout
