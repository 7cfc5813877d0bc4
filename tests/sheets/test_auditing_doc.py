"""The ten-line verifier printed in docs/auditing.md really verifies an export, and really catches an edit."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import edit

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "auditing.md"


def snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


def run_snippet(tmp_path: Path, csv_text: str) -> subprocess.CompletedProcess[str]:
    script, export = tmp_path / "verify_export.py", tmp_path / "export.csv"
    script.write_text(snippet(), encoding="utf-8")
    export.write_text(csv_text, encoding="utf-8", newline="")
    return subprocess.run([sys.executable, str(script), str(export)], capture_output=True, text=True, timeout=60)


@pytest.fixture
def exported(client, make_sheet, make_user):
    alice = make_user()
    sheet = make_sheet(editors=[alice])
    edit(sheet, alice, (0, 0, "plain"), (1, 1, 'quote " comma , newline\n end'))
    edit(sheet, alice, (0, 0, "ünïcödé ✓ 😀"))
    edit(sheet, alice, (2, 3, ""))
    sheet.refresh_from_db()
    client.force_login(alice)
    response = client.get(f"/sheets/{sheet.name}/history/", {"format": "csv"})
    return sheet, b"".join(response.streaming_content).decode("utf-8")


def test_the_documented_snippet_verifies_an_export_and_prints_the_head(tmp_path, exported):
    sheet, text = exported
    result = run_snippet(tmp_path, text)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"chain intact, head 4 {sheet.stream.head_hash}"


def test_the_documented_snippet_names_an_altered_row(tmp_path, exported):
    _, text = exported
    result = run_snippet(tmp_path, text.replace("ünïcödé", "unicode", 1))
    assert result.returncode != 0
    assert "seq 3: altered" in result.stderr
