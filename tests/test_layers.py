"""The layers of docs/architecture.md (decision 13), as .importlinter states them, hold, and would catch a breach."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("proj", "sheets", "projections", "ledger")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree)},
    )


def test_the_tree_keeps_every_layer_contract():
    result = lint_imports(BASE_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def copy_of_the_apps(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(BASE_DIR / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(BASE_DIR / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def test_the_ledger_importing_the_application_breaks_the_contract(tmp_path):
    tree = copy_of_the_apps(tmp_path)
    with (tree / "ledger" / "hashing.py").open("a") as module:
        module.write("\nfrom sheets.models import Sheet  # noqa: E402,F401\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "ledger is not allowed to import sheets" in result.stdout
    assert "ledger.hashing -> sheets.models" in result.stdout


def test_the_write_path_importing_the_socket_breaks_the_contract(tmp_path):
    tree = copy_of_the_apps(tmp_path)
    with (tree / "sheets" / "writes" / "edits.py").open("a") as module:
        module.write("\nfrom sheets.live import consumer  # noqa: E402,F401\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "sheets.writes is not allowed to import sheets.live" in result.stdout
