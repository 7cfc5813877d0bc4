"""The systemd units, the supervisor config, the tmpfiles entry and the nginx upstream agree with each other."""

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "systemd" / "ledgersheet-daphne@.service"
MIGRATE_UNIT = DEPLOY / "systemd" / "ledgersheet-migrate.service"
SUPERVISOR = DEPLOY / "supervisor" / "ledgersheet.conf"
TMPFILES = DEPLOY / "tmpfiles" / "ledgersheet.conf"
NGINX_SITE = DEPLOY / "nginx-ledgersheet.conf"


def unit_directives(path: Path) -> dict[str, list[str]]:
    """[Service] directives of a unit file, continuation lines joined; a key may repeat."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    directives: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
        elif section == "[Service]":
            key, _, value = line.partition("=")
            directives.setdefault(key, []).append(value)
    return directives


def supervisor_program() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=None)
    parser.read_string(SUPERVISOR.read_text())
    return parser["program:ledgersheet-daphne"]


def systemd_daphne_argv(instance: int) -> list[str]:
    (exec_start,) = unit_directives(UNIT)["ExecStart"]
    return shlex.split(exec_start.replace("%i", str(instance)))


def supervisor_daphne_argv(process_num: int) -> list[str]:
    command = shlex.split(supervisor_program()["command"].replace("%(process_num)d", str(process_num)))
    assert command[:2] == ["/bin/sh", "-c"]
    script = command[2]
    # The wrapper only loads the environment file, then execs daphne.
    prologue, _, daphne = script.partition("exec ")
    assert prologue.strip() == "set -a; . /etc/ledgersheet/env; set +a;"
    return shlex.split(daphne)


def test_supervisor_starts_daphne_exactly_as_the_systemd_unit_does():
    for number in (1, 2):
        assert supervisor_daphne_argv(number) == systemd_daphne_argv(number)


def test_both_process_managers_run_as_the_same_user_in_the_same_place_with_the_same_environment():
    service, program = unit_directives(UNIT), supervisor_program()
    assert service["User"] == [program["user"]] == ["ledgersheet"]
    assert service["WorkingDirectory"] == [program["directory"]] == ["/srv/ledgersheet"]
    assert service["EnvironmentFile"] == ["/etc/ledgersheet/env"]
    assert service["UMask"] == ["0002"] and program["umask"] == "002"
    assert service["KillSignal"] == ["SIGTERM"] and program["stopsignal"] == "TERM"
    assert service["TimeoutStopSec"] == [program["stopwaitsecs"]]
    assert unit_directives(MIGRATE_UNIT)["EnvironmentFile"] == ["/etc/ledgersheet/env"]


def test_nginx_upstream_lists_the_socket_of_every_supervised_process():
    program = supervisor_program()
    first, count = int(program["numprocs_start"]), int(program["numprocs"])
    sockets = re.findall(r"server unix:(\S+?)[\s;]", NGINX_SITE.read_text())
    expected = []
    for number in range(first, first + count):
        argv = supervisor_daphne_argv(number)
        expected.append(argv[argv.index("--unix-socket") + 1])
    assert sockets == expected == ["/run/ledgersheet/daphne-1.sock", "/run/ledgersheet/daphne-2.sock"]


def test_tmpfiles_makes_the_socket_directory_the_unit_would_make():
    service = unit_directives(UNIT)
    entries = {fields[1]: fields for fields in (line.split() for line in TMPFILES.read_text().splitlines())
               if fields and not fields[0].startswith("#")}
    kind, _, mode, user, group, _ = entries["/run/" + service["RuntimeDirectory"][0]]
    assert (kind, mode, user, group) == ("d", service["RuntimeDirectoryMode"][0], service["User"][0], service["Group"][0])
    log_directory = str(Path(supervisor_program()["stdout_logfile"]).parent)
    assert entries[log_directory][0] == "d"


def test_the_socket_wait_escapes_the_shell_dollar_from_systemd():
    # systemd expands $NAME itself; "$$" reaches the shell as "$".
    (wait,) = unit_directives(UNIT)["ExecStartPost"]
    assert re.search(r"(?<!\$)\$\(", wait) is None
    assert "$$(seq" in wait


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_units(tmp_path):
    # verify wants an instance name for the template, and complains (without
    # failing) about binaries that exist only on the deployed box.
    shutil.copy(UNIT, tmp_path / "ledgersheet-daphne@1.service")
    shutil.copy(MIGRATE_UNIT, tmp_path / "ledgersheet-migrate.service")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", "ledgersheet-daphne@1.service", "ledgersheet-migrate.service"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    complaints = [line for line in result.stderr.splitlines() if "is not executable" not in line
                  and "No such file or directory" not in line]
    assert not [line for line in complaints if "Unknown" in line or "Invalid" in line or "Failed" in line], result.stderr
