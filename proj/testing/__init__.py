"""Ledgersheet's test harness, as channels ships channels.testing: shared by tests/, bench/ and deploy/smoke.py.

- ``protocol``: the sheet websocket protocol from the client's side: the
  frames (``subscribe_frame``, ``ping_frame``, ``operation_frame`` over
  ``OPERATIONS``, ``edit_frame``, ``change``, ``decode_frame``) and
  ``ProtocolClient``, which sends them and waits for a frame, a state or an
  ack against a deadline, over any ``Transport``.
- ``transports``: ``WebsocketTransport`` (the ``websockets`` package, with the
  session cookie and Origin; ``open_websocket``, ``open_client``) and
  ``CommunicatorTransport`` (channels' in-process ``WebsocketCommunicator``).
- ``servers``: daphne and uvicorn processes for live tests and benchmarks,
  ``HttpSession``/``login``, ``server_env`` (imported from there: it needs pytest).

This package imports neither Django nor pytest, so a script outside the
test suite (deploy/smoke.py) can use the client.
"""

from proj.testing.protocol import (
    DEFAULT,
    DEFAULT_TIMEOUT,
    OPERATIONS,
    Change,
    ErrorFrame,
    Frame,
    ProtocolClient,
    Transport,
    change,
    decode_frame,
    edit_frame,
    new_client_event_id,
    operation_frame,
    ping_frame,
    seqs_in,
    sheet_path,
    subscribe_frame,
)
from proj.testing.transports import (
    MAX_FRAME,
    CommunicatorTransport,
    WebsocketTransport,
    open_client,
    open_websocket,
)

__all__ = [
    "DEFAULT",
    "DEFAULT_TIMEOUT",
    "MAX_FRAME",
    "OPERATIONS",
    "Change",
    "CommunicatorTransport",
    "ErrorFrame",
    "Frame",
    "ProtocolClient",
    "Transport",
    "WebsocketTransport",
    "change",
    "decode_frame",
    "edit_frame",
    "new_client_event_id",
    "open_client",
    "open_websocket",
    "operation_frame",
    "ping_frame",
    "seqs_in",
    "sheet_path",
    "subscribe_frame",
]
