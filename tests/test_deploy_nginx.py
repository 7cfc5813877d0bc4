"""The shipped nginx site is valid nginx configuration (nginx -t), as an operator would check it."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is installed by .ci/run")
def test_the_nginx_site_passes_nginx_t(tmp_path):
    (tmp_path / "logs").mkdir()
    config = tmp_path / "nginx.conf"
    config.write_text(
        "pid nginx.pid;\n"
        f"error_log {tmp_path}/logs/error.log;\n"
        "events {}\n"
        "http {\n"
        f"    access_log off;\n"
        f"    client_body_temp_path {tmp_path}/body;\n"
        f"    include {ROOT}/deploy/nginx-ledgersheet.conf;\n"
        "}\n"
    )
    result = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
