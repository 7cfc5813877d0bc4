"""The bench's own world: a fresh PostgreSQL database, a Redis DB number, daphne processes.

Everything is created at the start of a run and removed at its end, so a run
never touches the development or test databases of anyone else.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import redis

from tests.servers import BASE_DIR, DaphneServer, ServerFailed, free_port

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = os.environ.get("BENCH_DATABASE", "ledgersheet_bench")
PG_BASE = PG_ADMIN_URL.rsplit("/", 1)[0]
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
BASELINE_APP = "bench.baseline.asgi:application"
OURS_APP = "proj.asgi:application"

# As deployed (deploy/env.example keeps connections for 60 s), and with the
# per-connection limits out of the way: the bench measures throughput, not
# the rate limiter or the per-user connection cap.
SERVER_SETTINGS = {
    "DATABASE_CONN_MAX_AGE": "60",
    "SHEETS_RATE_LIMIT_PER_SECOND": "1000000",
    "SHEETS_RATE_LIMIT_BURST": "1000000",
    "SHEETS_MAX_CONNECTIONS_PER_USER": "1000000",
    "SHEETS_IDLE_TIMEOUT_SECONDS": "0",
    "CHANNEL_LAYER_CAPACITY": "100000",
}


def database_url() -> str:
    return f"{PG_BASE}/{DB_NAME}"


def _recreate_database() -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def _drop_database() -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


class BenchDaphne(DaphneServer):
    """A daphne process that may take extra command-line options (e.g. a larger websocket message limit)."""

    def __init__(self, *, extra_args: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.extra_args = extra_args

    def start(self, *, timeout: float = 30.0) -> None:
        if self.running:
            raise ServerFailed(f"{self.name} is already running")
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "-v", "1",
                   *self.extra_args, self.app]
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {' '.join(command)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                command, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.wait_ready(timeout=timeout)


class BenchEnv:
    """Settings shared by the bench process and every daphne it starts."""

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.servers: list[DaphneServer] = []
        self.env = dict(os.environ)
        self.env.update(
            DJANGO_SETTINGS_MODULE="proj.settings",
            DATABASE_URL=database_url(),
            REDIS_URL=REDIS_URL,
            SECRET_KEY="bench-only-secret-key",
            LEDGERSHEET_VAR_DIR=str(var_dir),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            DEBUG="0",
            SESSION_COOKIE_SECURE="0",
            CSRF_COOKIE_SECURE="0",
            PYTHONUNBUFFERED="1",
            **SERVER_SETTINGS,
        )

    def start_daphne(self, app: str = OURS_APP, *, name: str | None = None,
                     extra_args: list[str] | None = None) -> DaphneServer:
        """Start one daphne process on a free port and wait until it answers HTTP."""
        name = name or f"daphne-{len(self.servers) + 1}"
        server = BenchDaphne(name=name, env=self.env, log_path=self.var_dir / f"{name}.log", app=app,
                             extra_args=extra_args or [])
        self.servers.append(server)
        try:
            server.start()
        except ServerFailed:
            if server.running or "Address already in use" not in server.log_tail():
                raise
            server.port = free_port()
            server.start()
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()


@contextmanager
def _exclusive(resource: str) -> Iterator[None]:
    """Hold a machine-wide lock on ``resource`` (waiting for any other run that holds it)."""
    digest = hashlib.sha256(resource.encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"ledgersheet-bench-{digest}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another bench run that uses {resource}", file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@contextmanager
def bench_env() -> Iterator[BenchEnv]:
    """Create the database and Redis DB, set up Django here, and tear everything down afterwards."""
    # Each run drops the database and flushes the Redis DB: two runs on the
    # same ones (a smoke test in two pytest sessions) must take turns.
    with ExitStack() as stack:
        for resource in sorted({f"postgres {PG_BASE}/{DB_NAME}", f"redis {REDIS_URL}"}):
            stack.enter_context(_exclusive(resource))
        with _bench_env() as env:
            yield env


@contextmanager
def _bench_env() -> Iterator[BenchEnv]:
    var_dir = Path(tempfile.mkdtemp(prefix="ledgersheet-bench-"))
    env = BenchEnv(var_dir)
    _recreate_database()
    flush = redis.Redis.from_url(REDIS_URL)
    flush.flushdb()
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=BASE_DIR, env=env.env, check=True,
        )
        for key in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "LEDGERSHEET_VAR_DIR",
                    "ALLOWED_HOSTS", "DEBUG", *SERVER_SETTINGS):
            os.environ[key] = env.env[key]
        import django

        django.setup()
        yield env
    finally:
        env.stop_all()
        from django.db import connections

        connections.close_all()
        flush.flushdb()
        flush.close()
        _drop_database()
        if os.environ.get("BENCH_KEEP_LOGS"):
            print(f"daphne logs kept in {var_dir}", file=sys.stderr)
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
