"""Real server processes for live tests, browser tests and benchmarks, and a stdlib HTTP client that logs in.

- ``DaphneServer`` (``UvicornServer``: the same served by uvicorn; both in
  ``SERVER_CLASSES``) is one process on 127.0.0.1 that keeps its port across
  ``start``/``stop``/``kill``/``restart``; ``base_url``, ``url(path)``,
  ``ws_url(path)`` and ``origin`` say where it answers. ``start`` waits until
  it answers HTTP; a process that exits or does not answer in time raises
  ``ServerFailed`` with the tail of its log (``LOG_TAIL_CHARS``).
- ``DaphneServers(base_env=..., log_dir=..., stash=[])`` starts ``n`` of them
  with ``start(n, env=..., server="daphne"|"uvicorn")`` and stops them all
  with ``stop_all()``. Several processes need ``REDIS_URL``: the in-memory
  channel layer does not cross processes.
- ``server_env()`` is the environment that points a process at this test
  run's database (``database_url`` of the test connection), Redis,
  ``SECRET_KEY`` and var dir, with ``ALLOWED_HOSTS=127.0.0.1,localhost``,
  ``DEBUG=0`` and non-secure cookies (plain HTTP).
- ``HttpSession(base_url)`` is a cookie-keeping HTTP client that follows no
  redirect; ``login(base_url, username, password)`` logs in through the
  login form and returns the sessionid. A browser context can skip the form
  with the cookie ``{"name": "sessionid", "value": sessionid, "url": server.base_url}``.
- ``wait_until(check, timeout=..., what=...)`` is the one sync poll for a
  condition another process brings about; ``free_port()`` a free TCP port.
- ``SERVERS_KEY`` is the pytest stash key under which a test's servers (or
  anything with ``name``, ``log_path`` and ``log_tail()``) are kept, so that
  tests/servers.py's report hook attaches their logs to a failing test.

The pytest side (the ``daphne_servers`` fixture and that hook) is in
tests/servers.py; the websocket clients are proj/testing/protocol.py and
proj/testing/transports.py.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
DEFAULT_APP = "proj.asgi:application"
READY_PATH = "/accounts/login/"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
LOG_TAIL_CHARS = 20_000
SERVERS_KEY = pytest.StashKey[list["DaphneServer"]]()

__all__ = [
    "SERVERS_KEY",
    "DaphneServer",
    "DaphneServers",
    "HttpSession",
    "LocalEndpoint",
    "LoginFailed",
    "SERVER_CLASSES",
    "ServerFailed",
    "UvicornServer",
    "BASE_DIR",
    "LOG_TAIL_CHARS",
    "database_url",
    "free_port",
    "login",
    "process_env",
    "server_env",
    "wait_until",
]


class ServerFailed(RuntimeError):
    """A daphne process exited or did not become ready."""


def wait_until(check: Callable[[], object], *, timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll ``check()`` until it is truthy, failing with ``what`` once ``timeout`` has passed (the suite's one sync poll)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise ServerFailed(f"{what}: not true after {timeout}s")
        time.sleep(interval)


class LoginFailed(AssertionError):
    """The login form did not give a session."""


def free_port() -> int:
    """Return a TCP port that is free right now on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(settings_dict: Mapping[str, Any]) -> str:
    """Build a DATABASE_URL that points another process at this test database."""
    engine = settings_dict["ENGINE"]
    name = str(settings_dict["NAME"])
    if engine == "django.db.backends.sqlite3":
        if name == ":memory:" or name.startswith("file:"):
            raise ServerFailed("an in-memory SQLite test database cannot be shared with another process")
        return "sqlite:///" + str(Path(name).resolve())
    if engine != "django.db.backends.postgresql":
        raise ServerFailed(f"no DATABASE_URL scheme for {engine}")
    user = urllib.parse.quote(settings_dict.get("USER") or "", safe="")
    password = urllib.parse.quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{urllib.parse.quote(name, safe='')}"


class LocalEndpoint:
    """Where something listening on 127.0.0.1:``port`` answers, and the Origin its pages send."""

    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        """The Origin header a page served from here sends."""
        return self.base_url

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def url(self, path: str) -> str:
        return self.base_url + path


class DaphneServer(LocalEndpoint):
    """One daphne process on 127.0.0.1; it keeps its port across restarts."""

    def __init__(self, *, name: str, env: Mapping[str, str], log_path: Path, app: str = DEFAULT_APP) -> None:
        self.name = name
        self.env = dict(env)
        self.log_path = log_path
        self.app = app
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"<DaphneServer {self.name} {self.base_url} pid={self.pid}>"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def command(self) -> list[str]:
        """The command line that serves ``self.app`` on ``self.port``."""
        return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "-v", "1", self.app]

    def start(self, *, timeout: float = START_TIMEOUT) -> None:
        """Start the process (again) on this server's port and wait until it answers HTTP."""
        if self.running:
            raise ServerFailed(f"{self.name} is already running")
        command = self.command()
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {' '.join(command)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                command, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.wait_ready(timeout=timeout)

    def wait_ready(self, *, timeout: float = START_TIMEOUT) -> None:
        """Poll the login page until it answers 200, failing fast if the process exits."""
        deadline = time.monotonic() + timeout
        last_error = "no attempt yet"
        while time.monotonic() < deadline:
            if not self.running:
                raise ServerFailed(f"{self.name} exited with {self.proc and self.proc.returncode}\n{self.log_tail()}")
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                connection.request("GET", READY_PATH)
                status = connection.getresponse().status
                if status == 200:
                    return
                last_error = f"HTTP {status}"
            except OSError as exc:
                last_error = repr(exc)
            finally:
                connection.close()
            time.sleep(0.05)  # poll interval; the deadline above bounds the wait
        raise ServerFailed(f"{self.name} not ready after {timeout}s ({last_error})\n{self.log_tail()}")

    def stop(self, *, timeout: float = STOP_TIMEOUT) -> int | None:
        """Terminate with SIGTERM (SIGKILL if it lingers) and return the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        return self.proc.returncode

    def kill(self) -> None:
        """Kill the process with SIGKILL, as a crash would, and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT)

    def restart(self, *, timeout: float = START_TIMEOUT) -> None:
        self.stop()
        self.start(timeout=timeout)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        return self.log_text()[-chars:]


class UvicornServer(DaphneServer):
    """The same, served by uvicorn instead of daphne (the alternative server; see issue 5).

    ``websockets-sansio`` is uvicorn's implementation on the websockets
    package the project already depends on (its legacy ``websockets`` one
    warns of deprecation; ``wsproto`` is not installed). No lifespan: Channels'
    router does not speak it. The 16 MiB message limit is uvicorn's default,
    spelled out because daphne's differs (1 MiB) and deploy/ sets 16 MiB.
    Per-message deflate off, as daphne serves: uvicorn would otherwise
    compress every frame to a browser, a CPU cost daphne does not pay.
    """

    WS_MAX_SIZE = 16 * 1024 * 1024

    def __repr__(self) -> str:
        return f"<UvicornServer {self.name} {self.base_url} pid={self.pid}>"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(self.port),
                "--ws", "websockets-sansio", "--ws-max-size", str(self.WS_MAX_SIZE), "--lifespan", "off",
                "--ws-per-message-deflate", "false", "--timeout-graceful-shutdown", "5", self.app]


SERVER_CLASSES: dict[str, type[DaphneServer]] = {"daphne": DaphneServer, "uvicorn": UvicornServer}


class DaphneServers:
    """Factory behind the ``daphne_servers`` fixture: starts servers, stops them all at teardown."""

    def __init__(self, *, base_env: Mapping[str, str], log_dir: Path, stash: list[DaphneServer]) -> None:
        self.base_env = dict(base_env)
        self.log_dir = log_dir
        self.servers = stash

    def start(self, n: int = 1, *, env: Mapping[str, str] | None = None, app: str = DEFAULT_APP,
              timeout: float = START_TIMEOUT, server: str = "daphne") -> list[DaphneServer]:
        """Start ``n`` processes (``env`` overrides settings, e.g. rate limits) and wait until all answer.

        ``server`` is "daphne" or "uvicorn" (a key of SERVER_CLASSES).
        """
        server_class = SERVER_CLASSES[server]
        merged = {**self.base_env, **(env or {})}
        if n + len(self.servers) > 1 and not merged.get("REDIS_URL"):
            raise ServerFailed("several daphne processes need REDIS_URL: the in-memory channel layer is per process")
        started = []
        for _ in range(n):
            index = len(self.servers) + 1
            process = server_class(name=f"{server}-{index}", env=merged,
                                   log_path=self.log_dir / f"{server}-{index}.log", app=app)
            self.servers.append(process)
            try:
                process.start(timeout=timeout)
            except ServerFailed:
                # Another run may have taken the port between free_port() and
                # the server's bind; anything else fails the test as it is.
                if process.running or "Address already in use" not in process.log_tail():
                    raise
                process.port = free_port()
                process.start(timeout=timeout)
            started.append(process)
        return started

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()


def process_env(*, database_url: str, redis_url: str, secret_key: str, var_dir: Path | str,
                **extra: str) -> dict[str, str]:
    """Return this process's environment with the settings of a server on 127.0.0.1 over plain HTTP.

    ``extra`` adds or overrides settings (a channel layer, rate limits).
    """
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="proj.settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY=secret_key,
        LEDGERSHEET_VAR_DIR=str(var_dir),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DEBUG="0",
        # Plain HTTP: a Secure cookie would never be sent back to the server.
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def server_env() -> dict[str, str]:
    """Return the environment that points a daphne process at this test run's database and Redis."""
    from django.conf import settings
    from django.db import connection

    return process_env(database_url=database_url(connection.settings_dict), redis_url=settings.REDIS_URL,
                       secret_key=settings.SECRET_KEY, var_dir=settings.VAR_DIR)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class HttpSession:
    """A plain HTTP client with its own cookie jar; no redirects are followed, so a test sees them."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def request(self, method: str, path: str, data: Mapping[str, str] | None = None,
                timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
        """Send one request and return (status, headers, body), 4xx/5xx and 3xx included."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base_url + path, data=body, method=method)
        try:
            with self.opener.open(req, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, dict(exc.headers), exc.read()

    def get_json(self, path: str, timeout: float = 10.0) -> Any:
        """GET a JSON endpoint that must answer 200."""
        status, _, body = self.request("GET", path, timeout=timeout)
        if status != 200:
            raise AssertionError(f"GET {path} answered {status}: {body[:500]!r}")
        return json.loads(body)

    def cookie(self, name: str) -> str | None:
        return next((cookie.value for cookie in self.cookies if cookie.name == name), None)

    @property
    def sessionid(self) -> str | None:
        return self.cookie("sessionid")

    def login(self, username: str, password: str) -> str:
        """Log in through Django's form (GET for the CSRF token, then POST) and return the sessionid."""
        status, _, page = self.request("GET", "/accounts/login/")
        if status != 200:
            raise LoginFailed(f"GET /accounts/login/ answered {status}")
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if match is None:
            raise LoginFailed("the login form has no CSRF token")
        status, headers, _ = self.request("POST", "/accounts/login/", {
            "csrfmiddlewaretoken": match.group(1).decode(), "username": username, "password": password, "next": "/",
        })
        sessionid = self.sessionid
        if status != 302 or sessionid is None:
            raise LoginFailed(f"login of {username!r} answered {status} without a session cookie")
        return sessionid


def login(base_url: str, username: str, password: str) -> str:
    """Log ``username`` in on ``base_url`` and return the sessionid cookie value."""
    return HttpSession(base_url).login(username, password)
