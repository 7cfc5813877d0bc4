"""Websocket fixtures: the production ASGI stack, logged-in communicators and frame helpers.

The consumer reads and writes the database from worker threads, so every
consumer test uses ``committed_db`` and uniquely named users and sheets.

The frame helpers (``receive``, ``receive_until``, ``subscribe``, ``ping``,
``send_edit``, ``cell``, ``seqs_in``) are proj.testing's ``ProtocolClient``
over a ``CommunicatorTransport``, one per call: a test holds the
communicator itself, as channels.testing hands it out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any
from unittest import mock

import pytest
import pytest_asyncio
from channels import DEFAULT_CHANNEL_LAYER
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from ledger.models import Event
from proj.testing import (
    CommunicatorTransport,
    ProtocolClient,
    change,
    seqs_in,  # noqa: F401  (the test modules import it from here)
)
from sheets.models import Sheet
from tests.conftest import edit, unique

# Generous: two cores are shared with other test runs, and a timeout only
# costs time when a test is failing anyway.
TIMEOUT = 10
ORIGIN = b"http://127.0.0.1"


def websocket_app() -> Any:
    """Return the websocket branch of proj.asgi: origin check, session auth, URL router."""
    from proj.asgi import application

    return application.application_mapping["websocket"]


def _session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


session_cookie = database_sync_to_async(_session_cookie)


@pytest.fixture
def member(committed_db: None) -> Callable[..., Awaitable[Any]]:
    """Make a user (awaitable) cheaply: no password hashing, the tests log in with force_login."""

    def make(**extra: Any) -> Any:
        return get_user_model().objects.create_user(username=unique("ws"), **extra)

    return database_sync_to_async(make)


@pytest.fixture
def ws_sheet(committed_db: None, make_sheet: Callable[..., Sheet]) -> Callable[..., Awaitable[Sheet]]:
    """``make_sheet`` from async code (awaitable), 20 x 5 unless told otherwise."""
    make = database_sync_to_async(make_sheet)

    async def make_small(*, rows: int = 20, cols: int = 5, **options: Any) -> Sheet:
        return await make(rows=rows, cols=cols, **options)

    return make_small


@pytest_asyncio.fixture
async def fresh_channel_layer() -> AsyncIterator[Any]:
    """Give each test its own channel layer object, closed at the end.

    Every test runs on a new event loop; a layer object shared across tests
    keeps asyncio locks and Redis pools bound to a loop that is gone.
    """
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    channel_layers.set(DEFAULT_CHANNEL_LAYER, layer)
    yield layer
    close_pools = getattr(layer, "close_pools", None)  # channels_redis only
    if close_pools is not None:
        await close_pools()


@pytest_asyncio.fixture
async def open_socket(
    committed_db: None, fresh_channel_layer: Any
) -> AsyncIterator[Callable[..., Awaitable[WebsocketCommunicator]]]:
    """Open communicators on the real websocket stack; disconnect them all at the end.

    Disconnecting waits for the consumer to finish, so a consumer that
    crashed during the test fails it here even if no assertion noticed.
    """
    opened: list[WebsocketCommunicator] = []

    async def open_(name: str, user: Any = None, *, origin: bytes | None = ORIGIN) -> WebsocketCommunicator:
        headers = [] if origin is None else [(b"origin", origin)]
        if user is not None:
            headers.append((b"cookie", await session_cookie(user)))
        communicator = WebsocketCommunicator(websocket_app(), f"/ws/sheet/{name}/", headers=headers)
        opened.append(communicator)
        return communicator

    yield open_
    for communicator in opened:
        await communicator.disconnect(timeout=TIMEOUT)


@pytest.fixture
def connect(open_socket: Callable[..., Awaitable[WebsocketCommunicator]]) -> Callable[..., Awaitable[WebsocketCommunicator]]:
    """Open a communicator as ``user`` on ``sheet`` and check the socket stays open."""

    async def connect_(sheet: Sheet, user: Any) -> WebsocketCommunicator:
        communicator = await open_socket(sheet.name, user)
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        return communicator

    return connect_


def _client(communicator: WebsocketCommunicator) -> ProtocolClient:
    """The protocol client on ``communicator``; every wait has TIMEOUT, error frames are returned like any other."""
    return ProtocolClient(CommunicatorTransport(communicator), timeout=TIMEOUT)


async def receive(communicator: WebsocketCommunicator) -> dict[str, Any]:
    """Return the next frame, failing if none comes within TIMEOUT."""
    return await _client(communicator).receive()


async def receive_until(communicator: WebsocketCommunicator, kind: str) -> list[dict[str, Any]]:
    """Return every frame up to and including the first of type ``kind``."""
    return await _client(communicator).receive_until(kind)


async def subscribe(communicator: WebsocketCommunicator, since: int = 0) -> list[dict[str, Any]]:
    """Subscribe and return the replay, ``caught_up`` included."""
    return await _client(communicator).subscribe(since)


async def ping(communicator: WebsocketCommunicator) -> list[dict[str, Any]]:
    """Ping and return the frames sent before the pong, the pong last."""
    client = _client(communicator)
    await client.send_ping()
    return await client.receive_until("pong")


async def send_edit(
    communicator: WebsocketCommunicator, *changes: dict[str, Any], client_event_id: str | None = None
) -> str:
    """Send one edit message and return its client_event_id."""
    return await _client(communicator).send_edit(changes, client_event_id)


async def answer(communicator: WebsocketCommunicator) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ack or error of one operation, with the events received before it (for an ack, its own events too)."""
    events: list[dict[str, Any]] = []
    while True:
        frame = await receive(communicator)
        if frame["type"] == "events":
            events.extend(frame["events"])
            continue
        if frame["type"] == "ack" and not events:
            events = (await receive(communicator))["events"]
        return frame, events


cell = change
"""cell(row, col, value, base_seq=None): one change of an edit, by position."""


def _ledger_of(sheet_id: int) -> tuple[int, list[int]]:
    head = Sheet.objects.values_list("stream__head", flat=True).get(pk=sheet_id)
    return head, list(Event.objects.filter(stream__sheet=sheet_id).order_by("seq").values_list("seq", flat=True))


ledger_of = database_sync_to_async(_ledger_of)
"""Return (head, seqs) of a sheet as stored: the check that an error wrote nothing."""

edit_async = database_sync_to_async(edit)
"""The conftest ``edit`` helper (the real append_edit, broadcast included) from async code."""


@contextlib.contextmanager
def broadcasts_lost() -> Iterator[None]:
    """Make edits inside the block announce their events on a layer that nobody listens on.

    This is what a dropped group message looks like to a connection (Redis
    over capacity, or restarted): the events are in the ledger, the
    announcement never arrives. Channels' own test hook swaps the layer;
    the process's hub keeps the one it was given, which is put back after.
    The hub's shortcut for announcements made in its own process, which no
    layer can lose, is off meanwhile.
    """
    listened = get_channel_layer()
    channel_layers.set(DEFAULT_CHANNEL_LAYER, InMemoryChannelLayer())
    try:
        with mock.patch("sheets.broadcast.announce.running_hub", return_value=None):
            yield
    finally:
        channel_layers.set(DEFAULT_CHANNEL_LAYER, listened)


async def wait_for(condition: Callable[[], Awaitable[bool]], *, timeout: float = TIMEOUT) -> None:
    """Poll an async condition until it holds, failing with its name after ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while not await condition():
                # The poll's interval (the conditions read state that has no event to await, such
                # as the group commit's queue); the timeout above bounds the wait.
                await asyncio.sleep(0.01)
    except TimeoutError as exc:
        raise AssertionError(f"{condition.__qualname__} did not hold within {timeout}s") from exc
