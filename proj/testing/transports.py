"""The two transports of ``ProtocolClient``: a real websocket, and channels' in-process communicator.

- ``WebsocketTransport``: the ``websockets`` package against a running
  server (daphne, uvicorn, nginx in front), authenticated as a browser is:
  the session cookie and an ``Origin`` header. ``open_client`` opens one on
  a server object (anything with ``ws_url(path)`` and ``origin``, as
  proj.testing.servers' servers have) and puts a client on it.
- ``CommunicatorTransport``: a ``channels.testing.WebsocketCommunicator``
  that the caller made and connected (tests/sheets does, on the production
  ASGI stack); a frame that is not a message (a close) fails the read.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from proj.testing.protocol import DEFAULT_TIMEOUT, ProtocolClient

if TYPE_CHECKING:
    from channels.testing import WebsocketCommunicator

MAX_FRAME = 16 * 1024 * 1024  # as deploy/ configures daphne
OPEN_TIMEOUT = 30.0


class WebsocketServer(Protocol):
    """What a transport needs of a server: its websocket URLs and the Origin its pages send."""

    @property
    def origin(self) -> str: ...

    def ws_url(self, path: str) -> str: ...


class WebsocketTransport:
    """One connection of the ``websockets`` package; ``connection`` is there for what JSON cannot send."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, url: str, *, origin: str, sessionid: str | None = None, cookie: str | None = None,
                   timeout: float = OPEN_TIMEOUT, max_size: int | None = MAX_FRAME,
                   **options: Any) -> WebsocketTransport:
        """Open ``url`` with the session cookie (or a whole ``cookie`` header) and ``origin``.

        No proxy and no compression (as daphne serves); ``options`` go to
        ``websockets.connect`` (e.g. ``ping_interval=None``, ``ssl``, ``host``).
        """
        cookie = cookie or (f"sessionid={sessionid}" if sessionid else None)
        settings: dict[str, Any] = {"proxy": None, "compression": None, **options}
        connection = await connect(
            url, origin=Origin(origin), additional_headers={"Cookie": cookie} if cookie else {},
            max_size=max_size, open_timeout=timeout, **settings,
        )
        return cls(connection)

    async def send(self, message: str | bytes) -> None:
        await self.connection.send(message)

    async def receive(self, timeout: float | None) -> str | bytes:
        # Cancelling a pending websockets recv() loses no message.
        return await asyncio.wait_for(self.connection.recv(), timeout)

    async def close(self) -> None:
        await self.connection.close()

    def abort(self) -> None:
        """Drop the TCP connection without a close frame, as a dead network would."""
        self.connection.transport.abort()

    async def close_code(self, timeout: float | None = DEFAULT_TIMEOUT) -> int | None:
        """Read until the server closes the socket and return its close code (None: dropped without one)."""
        try:
            while True:
                await asyncio.wait_for(self.connection.recv(), timeout)
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None


class CommunicatorTransport:
    """A channels ``WebsocketCommunicator``, in this process and on this event loop."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator

    async def send(self, message: str | bytes) -> None:
        if isinstance(message, str):
            await self.communicator.send_to(text_data=message)
        else:
            await self.communicator.send_to(bytes_data=message)

    async def receive(self, timeout: float | None) -> str | bytes:
        # A timeout here cancels the application (asgiref's communicator does).
        message: str | bytes = await self.communicator.receive_from(timeout=timeout)
        return message

    async def close(self) -> None:
        await self.communicator.disconnect()


async def open_websocket(server: WebsocketServer, path: str, *, sessionid: str | None, origin: str | None = None,
                         **options: Any) -> WebsocketTransport:
    """Open ``path`` on ``server`` as a page of that server would (its Origin unless ``origin`` is given)."""
    return await WebsocketTransport.open(server.ws_url(path), origin=origin or server.origin, sessionid=sessionid,
                                         **options)


async def open_client(server: WebsocketServer, path: str, *, sessionid: str | None, origin: str | None = None,
                      name: str = "client", timeout: float | None = DEFAULT_TIMEOUT, raise_errors: bool = False,
                      **options: Any) -> ProtocolClient:
    """Open ``path`` on ``server`` and return a ``ProtocolClient`` on that socket.

    ``timeout`` bounds the handshake and is the client's wait; ``options``
    go to ``WebsocketTransport.open`` (``max_size``, ``ping_interval``, ...).
    """
    transport = await open_websocket(server, path, sessionid=sessionid, origin=origin, timeout=timeout, **options)
    return ProtocolClient(transport, name=name, timeout=timeout, raise_errors=raise_errors)
