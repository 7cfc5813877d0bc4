"""The grid's TSV clipboard format (static/sheets/grid-clipboard.js), unit-tested with Node's test runner."""

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


def test_the_clipboard_format_passes_its_node_unit_tests(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed; `make setup` needs it for the grid library anyway")
    (tmp_path / "package.json").write_text(json.dumps({"type": "module"}))
    shutil.copy(SHEETS / "grid-clipboard.js", tmp_path / "grid-clipboard.js")
    shutil.copy(HERE / "grid_clipboard.test.mjs", tmp_path / "grid_clipboard.test.mjs")
    result = subprocess.run([node, "--test", str(tmp_path / "grid_clipboard.test.mjs")], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) > 0 and "# fail 0" in result.stdout, result.stdout
