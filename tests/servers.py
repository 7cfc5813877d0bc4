"""Real daphne processes for live and browser tests, and a stdlib HTTP client that logs in.

How to use it (tests/live does exactly this; tests/browser can do the same):

    # tests/<dir>/conftest.py
    from tests.servers import daphne_servers, pytest_runtest_makereport  # noqa: F401

    def test_something(daphne_servers, make_sheet, make_user):
        alice = make_user()                              # password: tests.conftest.PASSWORD
        sheet = make_sheet(editors=[alice])
        first, second = daphne_servers.start(2)          # list[DaphneServer], both answering HTTP
        first.base_url                                   # "http://127.0.0.1:<port>"; first.url("/sheets/x/")
        sessionid = login(first.base_url, alice.username, PASSWORD)   # or HttpSession(...).login(...)
        first.ws_url(f"/ws/sheet/{sheet.name}/")         # "ws://127.0.0.1:<port>/ws/sheet/.../"
        second.kill()                                    # SIGKILL, as a crash; second.stop() is SIGTERM
        second.start()                                   # the same port again, waits until ready

- ``daphne_servers`` depends on ``committed_db``: the processes read the test
  database that pytest-django created, so everything a test creates must be
  committed (never use the ``db`` fixture with it). Its ``start(n, env=...)``
  returns ``n`` ready servers (``env`` overrides settings for those
  processes, e.g. ``SHEETS_RATE_LIMIT_BURST``); teardown stops every one.
- Each process gets the test database (``DATABASE_URL`` rebuilt from the test
  connection), this process's ``REDIS_URL``, ``SECRET_KEY`` and var dir,
  ``ALLOWED_HOSTS=127.0.0.1,localhost``, ``DEBUG=0`` and non-secure cookies
  (plain HTTP; static files come from WhiteNoise). Several processes need
  ``REDIS_URL``: the in-memory layer does not cross processes, so asking
  for more than one without it is an error; one process works on SQLite.
- A browser context can skip the login form by adding the cookie
  ``{"name": "sessionid", "value": sessionid, "url": server.base_url}``.
- Importing ``pytest_runtest_makereport`` into the conftest attaches the log
  of every server in ``item.stash[SERVERS_KEY]`` to the report of a failing
  test (``daphne_servers`` fills it; a longer-lived server built with
  ``DaphneServers(base_env=server_env(), ...)`` can be put there too). A server that exits or does
  not answer in time fails the test with its log in the message.
- Websocket clients (``WsClient``, ``SheetClient``) live in tests/live/clients.py.
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
from collections.abc import Callable, Generator, Iterator, Mapping
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
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
    "LoginFailed",
    "SERVER_CLASSES",
    "ServerFailed",
    "UvicornServer",
    "daphne_servers",
    "database_url",
    "free_port",
    "login",
    "pytest_runtest_makereport",
    "server_env",
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


class DaphneServer:
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
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        """The Origin header a page served by this server sends."""
        return self.base_url

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def url(self, path: str) -> str:
        return self.base_url + path

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


def server_env() -> dict[str, str]:
    """Return the environment that points a daphne process at this test run's database and Redis."""
    from django.conf import settings
    from django.db import connection

    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="proj.settings",
        DATABASE_URL=database_url(connection.settings_dict),
        REDIS_URL=settings.REDIS_URL,
        SECRET_KEY=settings.SECRET_KEY,
        LEDGERSHEET_VAR_DIR=str(settings.VAR_DIR),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DEBUG="0",
        # Plain HTTP: a Secure cookie would never be sent back to the server.
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def daphne_servers(committed_db: None, request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaphneServers]:
    """Start real daphne processes on the test database with ``daphne_servers.start(n)``."""
    stash: list[DaphneServer] = []
    request.node.stash[SERVERS_KEY] = stash
    log_dir = tmp_path_factory.mktemp("daphne")
    servers = DaphneServers(base_env=server_env(), log_dir=log_dir, stash=stash)
    try:
        yield servers
    finally:
        servers.stop_all()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach every daphne log of a failing test to its report."""
    report = yield
    if report.failed:
        for server in item.stash.get(SERVERS_KEY, []):
            report.sections.append((f"{server.name} log ({server.log_path})", server.log_tail()))
    return report


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
