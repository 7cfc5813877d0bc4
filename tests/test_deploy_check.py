"""The production environment of deploy/env.example passes `check --deploy`."""

import os
import pwd
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def production_environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "REDIS_URL", "DATABASE_URL"}}
    for line in (ROOT / "deploy" / "env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    env["SECRET_KEY"] = "x7#Kq" * 12  # long and varied, as check --deploy demands
    env["DATABASE_URL"] = ""  # the check needs no database server
    env["REDIS_URL"] = ""
    return env


def test_check_deploy_is_clean_with_the_example_production_environment():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=production_environment(), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


PLAIN_LINE = re.compile(r"[A-Z_][A-Z0-9_]*=[^\s'\"$`\\;&|()<>]*")


def test_the_example_environment_reads_the_same_in_systemd_and_sh():
    # systemd's EnvironmentFile and sh's "." (supervisor, deploy/manage.sh)
    # agree only on plain KEY=value lines.
    lines = [line for line in (ROOT / "deploy" / "env.example").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert [line for line in lines if not PLAIN_LINE.fullmatch(line)] == []


def test_manage_sh_runs_check_deploy_clean_with_the_example_environment_read_by_sh(tmp_path):
    example = (ROOT / "deploy" / "env.example").read_text()
    example = re.sub(r"(?m)^SECRET_KEY=.*$", "SECRET_KEY=" + "x7Kq-" * 12, example)
    example = re.sub(r"(?m)^(DATABASE_URL|REDIS_URL)=.*$", r"\1=", example)  # no servers needed
    env_file = tmp_path / "env"
    env_file.write_text(example)
    # Only what sh itself needs comes from outside; the rest is the file's.
    outside = {"PATH": os.environ["PATH"], "LEDGERSHEET_APP": str(ROOT), "LEDGERSHEET_ENV": str(env_file),
               "LEDGERSHEET_USER": pwd.getpwuid(os.getuid()).pw_name,
               "LEDGERSHEET_VAR_DIR": os.environ.get("LEDGERSHEET_VAR_DIR", str(tmp_path / "var"))}
    result = subprocess.run(
        [str(ROOT / "deploy" / "manage.sh"), "check", "--deploy", "--fail-level", "WARNING"],
        cwd=tmp_path, env=outside, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
