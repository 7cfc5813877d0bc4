"""A production-shaped stack the fault tests can break: nginx, two daphne processes on unix sockets, Redis, PostgreSQL.

Everything runs from one throwaway directory under /tmp and on ports picked
here, so a test can SIGKILL a daphne, stop Redis or stop the PostgreSQL
cluster without touching the servers the rest of the suite shares.

- ``PostgresCluster``: its own ``initdb`` cluster (run as the ``postgres``
  user when the tests run as root, since initdb refuses root).
- ``RedisServer``: ``redis-server`` in the foreground, no persistence, so a
  restart really loses every group membership.
- ``UnixDaphne``: ``daphne -u <sock>``, as deploy/ runs it.
- ``Nginx``: a config generated from deploy/nginx-ledgersheet.conf's shape
  (upstream of the two sockets, ``/ws/`` with Upgrade/Connection and read
  timeouts, ``proxy_next_upstream error timeout``). It adds one test-only
  header, ``X-Upstream``, so a client can tell which process it reached.

Each service has ``name``, ``log_path`` and ``log_tail()``, the shape
tests/servers.py's report hook reads (under proj.testing.servers.SERVERS_KEY),
so a failing test shows their logs.
"""

from __future__ import annotations

import http.client
import os
import pwd
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import redis

from proj.testing.servers import (
    BASE_DIR,
    LOG_TAIL_CHARS,
    LocalEndpoint,
    ServerFailed,
    free_port,
    process_env,
    wait_until,
)

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
READY_PATH = "/accounts/login/"
NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")


def postgres_bin() -> Path:
    """Return the newest installed PostgreSQL server's bin directory (or $PG_BIN)."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not candidates:
        raise ServerFailed("no PostgreSQL server under /usr/lib/postgresql (set PG_BIN)")
    return candidates[-1].parent


class Service:
    """A logged subprocess owned by a test."""

    def __init__(self, *, name: str, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self, command: Sequence[str], *, env: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        if self.running:
            raise ServerFailed(f"{self.name} is already running")
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {' '.join(command)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                list(command), cwd=BASE_DIR, env=dict(env) if env is not None else None, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, **kwargs,
            )

    def alive(self) -> bool:
        """Return True while the process runs; fail with its log if it exited."""
        if not self.running:
            code = self.proc.returncode if self.proc else None
            raise ServerFailed(f"{self.name} exited with {code}\n{self.log_tail()}")
        return True

    def signal_and_reap(self, sig: signal.Signals) -> None:
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> None:
        self.signal_and_reap(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self.signal_and_reap(signal.SIGKILL)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        return self.log_text()[-chars:]


class PostgresCluster(Service):
    """A throwaway PostgreSQL cluster on its own port and socket directory."""

    def __init__(self, root: Path) -> None:
        super().__init__(name="postgres", log_path=root / "postgres.log")
        self.root = root
        self.data = root / "pgdata"
        self.sockets = root / "pgsock"
        self.port = free_port()
        self.bin = postgres_bin()
        self.as_postgres: dict[str, Any] = {}
        if os.geteuid() == 0:
            # initdb and postgres refuse to run as root.
            account = pwd.getpwnam("postgres")
            self.as_postgres = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
            self.log_path.touch()
            os.chown(self.log_path, account.pw_uid, account.pw_gid)

    def url(self, dbname: str = "ledgersheet") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str, timeout: float = START_TIMEOUT) -> None:
        env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": "postgres", "LC_ALL": "C.UTF-8"}
        with self.log_path.open("ab") as log:
            subprocess.run([str(self.bin / args[0]), *args[1:]], check=True, env=env, stdout=log, stderr=log,
                           stdin=subprocess.DEVNULL, timeout=timeout, cwd=self.root, **self.as_postgres)

    def create(self) -> None:
        """initdb a trust-auth cluster, start it and create the ``ledgersheet`` database."""
        for path in (self.data, self.sockets):
            path.mkdir(mode=0o700)
            if self.as_postgres:
                os.chown(path, self.as_postgres["user"], self.as_postgres["group"])
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync",
                  "--no-instructions")
        self.start()
        self._run("createdb", "ledgersheet")

    def start(self) -> None:
        # The cluster is disposable: durability settings off for speed.
        options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-o", options, "-w", "-t", "30", "start")

    def stop(self) -> None:
        """Stop with ``-m fast``: open sessions are cut and new connections refused."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def accepts_connections(self) -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", self.port)) == 0


class RedisServer(Service):
    """redis-server in the foreground on its own port, without persistence."""

    def __init__(self, root: Path) -> None:
        super().__init__(name="redis", log_path=root / "redis.log")
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.spawn(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                    "--appendonly", "no"])
        wait_until(lambda: self.alive() and self.ping(), timeout=START_TIMEOUT, what="redis answers PING")

    def groups(self) -> dict[str, list[str]]:
        """Return the channels of every channels-redis group (keys ``asgi:group:*``)."""
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5, decode_responses=True)
        try:
            return {key: cast(list[str], client.zrange(key, 0, -1)) for key in client.scan_iter("asgi:group:*")}
        finally:
            client.close()

    def group_members(self) -> int:
        return sum(len(channels) for channels in self.groups().values())

    def ping(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket, to probe a daphne that nginx would reach."""

    def __init__(self, path: Path, timeout: float = 2.0) -> None:
        super().__init__("127.0.0.1", timeout=timeout)
        self.socket_path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


class UnixDaphne(Service):
    """One daphne process listening on a unix socket, as deploy/'s systemd unit runs it."""

    def __init__(self, root: Path, index: int, env: Mapping[str, str]) -> None:
        super().__init__(name=f"daphne-{index}", log_path=root / f"daphne-{index}.log")
        self.socket_path = root / f"daphne-{index}.sock"
        self.env = dict(env)

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the process without waiting for it (to start several at once)."""
        # A SIGKILLed daphne leaves its socket and Twisted's lock behind.
        self.socket_path.unlink(missing_ok=True)
        self.socket_path.with_name(self.socket_path.name + ".lock").unlink(missing_ok=True)
        self.spawn([sys.executable, "-m", "daphne", "-u", str(self.socket_path), "-v", "1",
                    "proj.asgi:application"], env=self.env)

    def wait_ready(self) -> None:
        wait_until(lambda: self.alive() and self.answers(), timeout=START_TIMEOUT, what=f"{self.name} answers HTTP")

    def answers(self) -> bool:
        connection = UnixHTTPConnection(self.socket_path)
        try:
            connection.request("GET", READY_PATH)
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()


NGINX_CONF = """\
# Generated by tests/live/faultenv.py after deploy/nginx-ledgersheet.conf.
{user}
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log info;
events {{ worker_connections 512; }}

http {{
    access_log {root}/nginx-access.log;
    client_body_temp_path {root}/nginx-tmp/body;
    proxy_temp_path {root}/nginx-tmp/proxy;
    fastcgi_temp_path {root}/nginx-tmp/fastcgi;
    uwsgi_temp_path {root}/nginx-tmp/uwsgi;
    scgi_temp_path {root}/nginx-tmp/scgi;

    upstream ledgersheet_daphne {{
{servers}
    }}

    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ""      close;
    }}

    server {{
        listen 127.0.0.1:{port};
        server_name 127.0.0.1;
        client_max_body_size 2m;

        location /ws/ {{
            proxy_pass http://ledgersheet_daphne;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 120s;
            proxy_send_timeout 120s;
            proxy_next_upstream error timeout;
            # Test only: which daphne(s) this handshake tried, last one answered.
            add_header X-Upstream $upstream_addr always;
        }}

        location / {{
            proxy_pass http://ledgersheet_daphne;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


class Nginx(Service, LocalEndpoint):
    """Debian's nginx in the foreground with a generated config in front of the daphne sockets."""

    def __init__(self, root: Path, sockets: Sequence[Path]) -> None:
        super().__init__(name="nginx", log_path=root / "nginx-error.log")
        self.root = root
        self.port = free_port()
        self.conf = root / "nginx.conf"
        (root / "nginx-tmp").mkdir(exist_ok=True)
        # Root's workers must reach root's sockets; without root, nginx
        # ignores a user directive with a warning, so leave it out.
        user = "user root;" if os.geteuid() == 0 else ""
        servers = "\n".join(f"        server unix:{path} fail_timeout=2s;" for path in sockets)
        self.conf.write_text(NGINX_CONF.format(user=user, root=root, port=self.port, servers=servers))

    def start(self) -> None:
        if not Path(NGINX).exists():
            raise ServerFailed(f"{NGINX} is missing: apt-get install nginx (.ci/run does)")
        self.spawn([NGINX, "-p", str(self.root), "-e", str(self.log_path), "-c", str(self.conf),
                    "-g", "daemon off;"])
        wait_until(lambda: self.alive() and self.answers(), timeout=START_TIMEOUT, what="nginx proxies HTTP")

    def answers(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request("GET", READY_PATH)
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()


def app_env(*, database_url: str, redis_url: str, var_dir: Path, extra: Mapping[str, str] = {}) -> dict[str, str]:
    """Return the environment of a daphne or manage.py process of the fault stack."""
    return process_env(database_url=database_url, redis_url=redis_url, secret_key="fault-tests-only",
                       var_dir=var_dir, **extra)


def manage(env: Mapping[str, str], *args: str, timeout: float = 120.0) -> str:
    """Run ``manage.py`` with ``env`` and return its output; fail with it on a non-zero exit."""
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=dict(env), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise ServerFailed(f"manage.py {' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done.stdout
