"""The grid page's pure state (static/sheets/model.js), unit-tested with Node's built-in test runner."""

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
MODULES = ("model.js", "axis.js")


def test_the_grid_model_passes_its_node_unit_tests(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed; `make setup` needs it for the grid library anyway")
    # model.js imports axis.js: both as ES modules, whatever package.json above says.
    (tmp_path / "package.json").write_text(json.dumps({"type": "module"}))
    for module in MODULES:
        shutil.copy(SHEETS / module, tmp_path / module)
    shutil.copy(HERE / "model.test.mjs", tmp_path / "model.test.mjs")
    result = subprocess.run([node, "--test", str(tmp_path / "model.test.mjs")], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) > 0 and "# fail 0" in result.stdout, result.stdout
