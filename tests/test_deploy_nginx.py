"""The shipped nginx site is valid nginx configuration (nginx -t), as an operator would check it."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SITE = ROOT / "deploy" / "nginx-ledgersheet.conf"


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for the site's ssl_ lines, as docs/deployment.md makes one for a trial."""
    certificate, key = directory / "fullchain.pem", directory / "privkey.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=sheets.example.com",
         "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True, timeout=60,
    )
    return certificate, key


@pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is installed by .ci/run")
def test_the_nginx_site_passes_nginx_t(tmp_path):
    (tmp_path / "logs").mkdir()
    certificate, key = self_signed_certificate(tmp_path)
    site = SITE.read_text()
    assert "/etc/ledgersheet/tls/fullchain.pem" in site and "/etc/ledgersheet/tls/privkey.pem" in site
    site = site.replace("/etc/ledgersheet/tls/fullchain.pem", str(certificate))
    site = site.replace("/etc/ledgersheet/tls/privkey.pem", str(key))
    (tmp_path / "site.conf").write_text(site)
    config = tmp_path / "nginx.conf"
    config.write_text(
        "pid nginx.pid;\n"
        f"error_log {tmp_path}/logs/error.log;\n"
        "events {}\n"
        "http {\n"
        f"    access_log off;\n"
        f"    client_body_temp_path {tmp_path}/body;\n"
        f"    include {tmp_path}/site.conf;\n"
        "}\n"
    )
    result = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def locations(site: str) -> dict[str, str]:
    """Each location block's body by its path (the blocks hold no nested braces)."""
    return {match[1].strip(): match[2] for match in re.finditer(r"location\s+([^{]+)\{([^}]*)\}", site)}


def test_every_proxied_location_tells_django_the_host_and_scheme():
    # Without Host, Django sees the upstream's name ("ledgersheet_daphne") and
    # answers 400; without X-Forwarded-Proto it redirects https requests to https.
    proxied = {path: body for path, body in locations(SITE.read_text()).items() if "proxy_pass" in body}
    assert set(proxied) == {"/ws/", "= /metrics", "/"}
    for path, body in proxied.items():
        assert "proxy_set_header Host $http_host;" in body, path
        assert "proxy_set_header X-Forwarded-Proto $scheme;" in body, path


def test_plain_http_only_redirects_to_https():
    servers = SITE.read_text().split("server {")[1:]
    plain = [server for server in servers if re.search(r"listen 80;", server)]
    assert len(plain) == 1
    assert "return 301 https://$host$request_uri;" in plain[0]
    assert "proxy_pass" not in plain[0]
