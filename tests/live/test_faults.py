"""Faults in production shape lose nothing: nginx, two daphne processes on unix sockets, Redis, PostgreSQL (issue 6).

``FaultStack`` puts tests/live/faultenv.py's services together: the
module's own PostgreSQL cluster and Redis server (so the tests can stop
them), two daphne processes on unix sockets behind a generated nginx config. Four grid-like clients (tests/live/gridclient.py),
two tabs each for two editors, type through nginx while a fault happens.
Every scenario ends with the same proof: every edit acknowledged, the
ledger gapless with each edit exactly once under its client_event_id and
the acked seqs, and every client's grid equal to the ledger.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from proj.testing.servers import SERVERS_KEY, HttpSession
from tests.live.conftest import LIVE_ENV
from tests.live.faultenv import Nginx, PostgresCluster, RedisServer, Service, UnixDaphne, app_env, manage
from tests.live.gridclient import GridClient

pytestmark = [pytest.mark.live, pytest.mark.asyncio, pytest.mark.timeout(180)]

PASSWORD = "fault-tests-password"
EDITORS = ("alice", "bob")
ROWS, COLS = 40, 8
OUTAGE = 5.0  # seconds a backend stays down: the scenario, not a synchronisation
SETTLE = 30.0
CRASH_MARKER = "Exception inside application"


# One `manage.py shell -c` for all of it: each Django start costs seconds.
DATA_SNIPPET = """
from django.contrib.auth import get_user_model
from sheets.models import Role
from sheets.services import create_sheet, grant
for username in {usernames!r}:
    get_user_model().objects.create_user(username=username, password={password!r})
for name in {sheets!r}:
    sheet = create_sheet(name=name, rows={rows!r}, cols={cols!r})
    for username in {usernames!r}:
        grant(sheet=sheet, username=username, role=Role.EDITOR)
"""


class FaultStack:
    """PostgreSQL and Redis (long-lived) behind two daphne processes and nginx (restarted per test)."""

    def __init__(self, root: Path, *, extra_env: Mapping[str, str]) -> None:
        self.root = root
        self.postgres = PostgresCluster(root)
        self.redis = RedisServer(root)
        self.env = app_env(database_url=self.postgres.url(), redis_url=self.redis.url, var_dir=root / "var",
                           extra=extra_env)
        self.daphnes = [UnixDaphne(root, index, self.env) for index in (1, 2)]
        self.nginx = Nginx(root, [daphne.socket_path for daphne in self.daphnes])

    @property
    def services(self) -> list[Service]:
        return [self.nginx, *self.daphnes, self.redis, self.postgres]

    def start_backends(self) -> None:
        """Create and start the cluster, start Redis, migrate."""
        self.postgres.create()
        self.redis.start()
        manage(self.env, "migrate", "--noinput", "-v0")

    def start_front(self) -> None:
        """Make sure the backends run, then start both daphne processes and nginx."""
        if not self.postgres.accepts_connections():
            self.postgres.start()
        if not self.redis.running:
            self.redis.start()
        for daphne in self.daphnes:
            daphne.launch()
        for daphne in self.daphnes:
            daphne.wait_ready()
        self.nginx.start()

    def stop_front(self) -> None:
        for service in (self.nginx, *self.daphnes):
            service.stop()

    def close(self) -> None:
        self.stop_front()
        self.redis.stop()
        self.postgres.destroy()
        shutil.rmtree(self.root, ignore_errors=True)

    def create_data(self, *, usernames: Sequence[str], password: str, sheets: Sequence[str], rows: int,
                    cols: int) -> None:
        """Create the users and the sheets, every user an editor of every sheet."""
        manage(self.env, "shell", "-c", DATA_SNIPPET.format(
            usernames=list(usernames), password=password, sheets=list(sheets), rows=rows, cols=cols))


@pytest.fixture(scope="module")
def stack() -> Iterator[FaultStack]:
    """PostgreSQL, Redis and the data, once for the module (initdb and migrate take seconds)."""
    root = Path(tempfile.mkdtemp(prefix="ls-fault-"))
    root.chmod(0o755)  # the postgres user reaches its cluster directory through it
    stack = FaultStack(root, extra_env=LIVE_ENV)
    try:
        stack.start_backends()
        stack.create_data(usernames=EDITORS, password=PASSWORD, sheets=("crash", "redis", "postgres"),
                          rows=ROWS, cols=COLS)
        yield stack
    finally:
        stack.close()


@pytest.fixture
def front(stack: FaultStack, request: pytest.FixtureRequest) -> Iterator[FaultStack]:
    """Fresh daphne processes and nginx for each test; every log goes into a failing test's report."""
    request.node.stash[SERVERS_KEY] = stack.services  # duck-typed: name, log_path, log_tail()
    stack.start_front()
    try:
        yield stack
    finally:
        stack.stop_front()


class Grids:
    """Two tabs for each editor on one sheet, all through nginx, plus an HTTP session to read the ledger."""

    def __init__(self, stack: FaultStack, sheet: str) -> None:
        self.stack = stack
        self.sheet = sheet
        self.http = HttpSession(stack.nginx.base_url)
        self.clients: list[GridClient] = []
        self._typing: list[asyncio.Task[None]] = []
        self._stop_typing = asyncio.Event()

    async def open(self) -> None:
        for username in EDITORS:
            session = HttpSession(self.stack.nginx.base_url)
            sessionid = await asyncio.to_thread(session.login, username, PASSWORD)
            for tab in (1, 2):
                self.clients.append(GridClient(
                    name=f"{username}-{tab}", ws_url=self.stack.nginx.ws_url(f"/ws/sheet/{self.sheet}/"),
                    origin=self.stack.nginx.origin, sessionid=sessionid,
                ))
        await asyncio.to_thread(self.http.login, EDITORS[0], PASSWORD)
        for client in self.clients:
            client.start()
        await eventually(lambda: all(c.ready.is_set() for c in self.clients), what="every client caught up",
                         state=lambda: self.clients)

    async def close(self) -> None:
        await self.stop_typing()
        await asyncio.gather(*(client.close() for client in self.clients))

    def start_typing(self, *, window: int = 4) -> None:
        """Each client edits a cell every ~30 ms while it has fewer than ``window`` edits pending."""
        self._stop_typing.clear()
        self._typing = [asyncio.create_task(self._type(client, k, window)) for k, client in enumerate(self.clients)]

    async def _type(self, client: GridClient, k: int, window: int) -> None:
        i = 0
        while not self._stop_typing.is_set():
            if len(client.pending) < window:
                cell = ((i * 3 + k * 5) % ROWS, (i + k) % COLS)
                changes = [(*cell, f"{client.name}#{i}")]
                if i % 5 == 0:  # some edits change two cells, which must land as consecutive seqs
                    changes.append(((cell[0] + 1) % ROWS, cell[1], f"{client.name}#{i}b"))
                client.edit(changes)
                i += 1
            # The typing pace of the workload, not a wait for a condition.
            await asyncio.sleep(0.03)

    async def stop_typing(self) -> None:
        self._stop_typing.set()
        await asyncio.gather(*self._typing)
        self._typing = []

    def acked(self) -> int:
        return sum(len(client.acks) for client in self.clients)

    async def head(self) -> int:
        page = await asyncio.to_thread(self.http.get_json, f"/api/sheets/{self.sheet}/events/?limit=1")
        return int(page["head"])

    async def ledger(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Return every event (hash fields dropped, as on the websocket) and the cells, from the HTTP API."""
        events: list[dict[str, Any]] = []
        after: int | None = 0
        while after is not None:
            page = await asyncio.to_thread(
                self.http.get_json, f"/api/sheets/{self.sheet}/events/?after={after}&limit=1000")
            events += [{k: v for k, v in e.items() if k not in {"prev_hash", "hash"}} for e in page["events"]]
            after = page["next_after"]
        cells = await asyncio.to_thread(self.http.get_json, f"/api/sheets/{self.sheet}/cells/")
        assert cells["head"] == len(events), f"cells at head {cells['head']}, events up to {len(events)}"
        return events, cells["cells"]

    async def settle_and_check(self) -> list[dict[str, Any]]:
        """Stop typing, let every pending edit land, and prove nothing was lost or duplicated."""
        await self.stop_typing()
        await eventually(lambda: not any(c.pending for c in self.clients), timeout=SETTLE, what="every edit acked",
                         state=lambda: self.clients)
        head = await self.head()
        # The clients' pings bring each grid to the head.
        await eventually(lambda: all(c.last_seq >= head for c in self.clients), timeout=SETTLE,
                         what=f"every grid at the head {head}", state=lambda: self.clients)
        events, cells = await self.ledger()

        assert {c.name: c.violations for c in self.clients} == {c.name: [] for c in self.clients}
        assert {c.name: c.stats["stuck"] for c in self.clients} == {c.name: 0 for c in self.clients}, "no pong lost"
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        made = {cid: (client, changes) for client in self.clients for cid, changes in client.edits.items()}
        seqs_of: dict[str, list[int]] = {}
        for event in events:
            seqs_of.setdefault(event["client_event_id"], []).append(event["seq"])
        assert set(seqs_of) == set(made), "the ledger holds exactly the edits the clients made"
        for cid, (client, changes) in made.items():
            assert seqs_of[cid] == client.acks[cid], f"{client.name}'s edit {cid} is in the ledger once, as acked"
            assert [(e["row"], e["col"], e["new_value"]) for e in events if e["client_event_id"] == cid] == changes
        for client in self.clients:
            assert client.applied == events, f"{client.name}'s replica differs from the ledger"
            assert client.cells() == cells, f"{client.name}'s grid differs from the ledger's cells"
        return events

    def crashes(self) -> int:
        """Count consumer crashes in the daphne logs."""
        return sum(daphne.log_text().count(CRASH_MARKER) for daphne in self.stack.daphnes)


async def eventually(predicate: Callable[[], bool], *, timeout: float = 15.0, what: str, interval: float = 0.05,
                     state: Callable[[], object] = lambda: "") -> None:
    """Poll ``predicate`` until it holds; fail with ``what`` and ``state()`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}; {state()}")
        # The poll's interval: the clients' state has no event to await, and the deadline bounds the wait.
        await asyncio.sleep(interval)


async def outage(seconds: float = OUTAGE) -> None:
    """Let the fault last ``seconds`` on the monotonic clock (the scenario's length, not a wait for a state)."""
    await asyncio.sleep(seconds)


@pytest_asyncio.fixture
async def open_grids(front: FaultStack) -> AsyncIterator[Callable[[str], Awaitable[Grids]]]:
    """Open the four clients on a sheet; close them at teardown."""
    opened: list[Grids] = []

    async def open_on(sheet: str) -> Grids:
        grids = Grids(front, sheet)
        opened.append(grids)
        await grids.open()
        return grids

    try:
        yield open_on
    finally:
        for grids in opened:
            await grids.close()


def on(grids: Grids, daphne: UnixDaphne) -> list[GridClient]:
    """Return the clients whose current connection nginx sent to ``daphne``."""
    return [client for client in grids.clients if client.upstream == f"unix:{daphne.socket_path}"]


async def test_clients_of_a_sigkilled_daphne_fail_over_and_resend_their_pending_edits_exactly_once(
    open_grids: Callable[[str], Awaitable[Grids]],
) -> None:
    grids = await open_grids("crash")
    doomed, survivor = grids.stack.daphnes
    victims, others = on(grids, doomed), on(grids, survivor)
    assert victims and others and len(victims) + len(others) == len(grids.clients), "nginx spreads the clients"
    grids.start_typing()
    await eventually(lambda: grids.acked() >= 40, what="edits flowing")

    # A burst each victim has sent, most of it still unacked when the process dies.
    burst = {client.name: [client.edit([(row, 0, f"{client.name} burst {row}")]) for row in range(10)]
             for client in victims}
    await eventually(lambda: all(c.sends[burst[c.name][-1]] for c in victims), interval=0.002, what="bursts sent")
    doomed.kill()
    unacked = {cid for client in victims for cid in client.pending if client.sends[cid]}
    acked_at_kill = grids.acked()

    assert unacked, "the victims had edits in flight when their process died"
    await eventually(lambda: all(c.ready.is_set() and c.upstream == f"unix:{survivor.socket_path}" for c in victims),
                     what="the victims reconnected through nginx to the survivor and caught up", state=lambda: victims)
    await eventually(lambda: grids.acked() >= acked_at_kill + 40, what="editing goes on through the survivor")
    await grids.settle_and_check()
    resent = {cid for client in victims for cid in unacked if client.sends[cid] >= 2}
    assert resent, "pending edits were resent with their original client_event_id"
    assert {c.name: c.stats["connects"] for c in others} == {c.name: 1 for c in others}
    assert all(c.stats["connects"] >= 2 for c in victims)


async def test_edits_commit_while_redis_is_down_and_live_delivery_resumes_when_it_is_back(
    open_grids: Callable[[str], Awaitable[Grids]],
) -> None:
    grids = await open_grids("redis")
    redis = grids.stack.redis
    grids.start_typing()
    await eventually(lambda: grids.acked() >= 20, what="edits flowing")
    connects, crashes = {c.name: c.stats["connects"] for c in grids.clients}, grids.crashes()

    redis.stop()
    started = time.monotonic()
    # An edit acked just after the stop may have been committed before it;
    # one first made after the stop was committed while Redis was down.
    made_before = {client.name: set(client.edits) for client in grids.clients}

    def acked_since_stop() -> dict[str, int]:
        return {c.name: sum(cid not in made_before[c.name] for cid in c.acks) for c in grids.clients}

    await eventually(lambda: all(acked_since_stop().values()), timeout=OUTAGE,
                     what="every client had an edit made after the stop acked (edits kept being committed "
                          "while Redis was down)", state=acked_since_stop)
    head_early = await grids.head()
    await eventually(lambda: all(c.last_seq > head_early for c in grids.clients), timeout=OUTAGE,
                     what=f"every grid caught up past {head_early} on edits made during the outage",
                     state=lambda: {c.name: c.last_seq for c in grids.clients})
    # The rest of the fault: Redis stays down OUTAGE seconds in all (the scenario, not a wait).
    await outage(OUTAGE - (time.monotonic() - started))
    redis.start()

    assert grids.crashes() == crashes, "no consumer crashed"
    assert {c.name: c.stats["connects"] for c in grids.clients} == connects, "no connection was dropped"
    await grids.settle_and_check()

    # Live delivery is back: once each process's hub is in the sheet's
    # group again (the restarted Redis forgot the groups; a group holds one
    # member per process, not one per socket), and with the clients' pings
    # off, a group message or the hub's head check brings a new edit to
    # every client.
    await eventually(lambda: redis.group_members() == len(grids.stack.daphnes), timeout=10,
                     what="every process rejoined the sheet's group", state=redis.groups)
    for client in grids.clients:
        client.pinging = False
    await eventually(lambda: not any(c.ping_outstanding for c in grids.clients), what="no pong outstanding")
    head = await grids.head()
    writer = on(grids, grids.stack.daphnes[0])[0]
    writer.edit([(0, 0, "after the Redis restart")])
    await eventually(lambda: all(c.last_seq == head + 1 for c in grids.clients), timeout=10,
                     what="a live events frame reached every client", state=lambda: grids.clients)
    for client in grids.clients:
        client.pinging = True
    await grids.settle_and_check()


async def test_edits_answered_unavailable_while_postgres_is_down_land_exactly_once_after(
    open_grids: Callable[[str], Awaitable[Grids]],
) -> None:
    grids = await open_grids("postgres")
    postgres = grids.stack.postgres
    grids.start_typing(window=8)
    await eventually(lambda: grids.acked() >= 20, what="edits flowing")
    connects, crashes = {c.name: c.stats["connects"] for c in grids.clients}, grids.crashes()

    postgres.stop()
    started = time.monotonic()
    await eventually(lambda: all(c.stats["error:unavailable"] for c in grids.clients), timeout=OUTAGE,
                     what="every client was told unavailable", state=lambda: grids.clients)
    await outage(OUTAGE - (time.monotonic() - started))
    pending_during = {client.name: len(client.pending) for client in grids.clients}
    postgres.start()

    assert all(pending_during.values()), f"every client kept edits pending: {pending_during}"
    await grids.settle_and_check()
    assert {c.name: c.stats["connects"] for c in grids.clients} == connects, "no connection was dropped"
    assert grids.crashes() == crashes, "no consumer crashed"
