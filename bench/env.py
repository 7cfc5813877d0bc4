"""The bench's own world: a fresh PostgreSQL database, a Redis DB number, server processes.

Everything is created at the start of a run and removed at its end, so a run
never touches the development or test databases of anyone else.

BENCH_SERVER=daphne|uvicorn (default daphne) picks the ASGI server and
BENCH_CHANNEL_LAYER=core|pubsub (default core) channels-redis' layer, for
ours and the baseline alike, so both levers of issue 5 compare in one run.
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

from proj.testing.servers import (
    BASE_DIR,
    SERVER_CLASSES,
    DaphneServer,
    ServerFailed,
    UvicornServer,
    free_port,
    process_env,
)

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = os.environ.get("BENCH_DATABASE", "ledgersheet_bench")
PG_BASE = PG_ADMIN_URL.rsplit("/", 1)[0]
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SERVER = os.environ.get("BENCH_SERVER", "daphne")
CHANNEL_LAYER = os.environ.get("BENCH_CHANNEL_LAYER", "core")
if SERVER not in SERVER_CLASSES:
    raise SystemExit(f"BENCH_SERVER must be one of {', '.join(SERVER_CLASSES)}, got {SERVER!r}")
if CHANNEL_LAYER not in ("core", "pubsub"):
    raise SystemExit(f"BENCH_CHANNEL_LAYER must be core or pubsub, got {CHANNEL_LAYER!r}")
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


def describe() -> dict[str, str]:
    """What served this run, for the JSON line: the server and the channel layer."""
    return {"server": SERVER, "channel_layer": CHANNEL_LAYER}


def label() -> str:
    """The same, for table headers."""
    return f"{SERVER}, {CHANNEL_LAYER} channel layer"


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

    def command(self) -> list[str]:
        *command, app = super().command()
        return [*command, *self.extra_args, app]


# daphne's options a bench passes, and uvicorn's equivalent (uvicorn has one
# limit for a message, none for a frame).
_UVICORN_OPTIONS = {"--websocket-max-message-size": "--ws-max-size", "--websocket-max-frame-size": None}


class BenchUvicorn(UvicornServer):
    """A uvicorn process; a bench's daphne options are translated, and it starts at daphne's 1 MiB limit.

    The benches are written against daphne's defaults (catchup records what
    happens at 1 MiB before it widens the limit), so uvicorn starts there too.
    """

    WS_MAX_SIZE = 1024 * 1024

    def __init__(self, *, extra_args: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.extra_args = []
        for option, value in zip(extra_args[::2], extra_args[1::2], strict=True):
            if option not in _UVICORN_OPTIONS:
                raise ServerFailed(f"no uvicorn equivalent of daphne's {option}")
            if (translated := _UVICORN_OPTIONS[option]) is not None:
                self.extra_args += [translated, value]

    def command(self) -> list[str]:
        *command, app = super().command()
        # A later --ws-max-size overrides the default one (click keeps the last).
        return [*command, *self.extra_args, app]


BENCH_SERVER_CLASSES: dict[str, type[BenchDaphne] | type[BenchUvicorn]] = {
    "daphne": BenchDaphne, "uvicorn": BenchUvicorn,
}


class BenchEnv:
    """Settings shared by the bench process and every daphne it starts."""

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.servers: list[DaphneServer] = []
        self.env = process_env(database_url=database_url(), redis_url=REDIS_URL, secret_key="bench-only-secret-key",
                               var_dir=var_dir, CHANNEL_LAYER=CHANNEL_LAYER, **SERVER_SETTINGS)

    def start_daphne(self, app: str = OURS_APP, *, name: str | None = None,
                     extra_args: list[str] | None = None) -> DaphneServer:
        """Start one server process (BENCH_SERVER: daphne or uvicorn) on a free port and wait until it answers HTTP.

        ``extra_args`` are daphne options; under uvicorn they are translated.
        """
        name = name or f"{SERVER}-{len(self.servers) + 1}"
        server = BENCH_SERVER_CLASSES[SERVER](name=name, env=self.env, log_path=self.var_dir / f"{name}.log",
                                              app=app, extra_args=extra_args or [])
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
                    "ALLOWED_HOSTS", "DEBUG", "CHANNEL_LAYER", *SERVER_SETTINGS):
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
            print(f"server logs kept in {var_dir}", file=sys.stderr)
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
