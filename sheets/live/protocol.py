"""Parsing the websocket's own frames (docs/protocol.md, "Client frames"): subscribe, ping, and the frame itself.

Operation messages (edit, insert_rows, …) are parsed by sheets.writes.operations,
which the HTTP API shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sheets.writes.operations import ProtocolError, decode_message, is_int


@dataclass(frozen=True, slots=True)
class Subscribe:
    since: int


@dataclass(frozen=True, slots=True)
class Ping:
    # How many gaps the client saw in the live stream since its last ping (a metric only).
    gaps: int = 0


def decode_frame(text: str | None, data: bytes | None) -> dict[str, Any]:
    """Return the JSON object of a text frame with a string "type"."""
    if text is None:
        raise ProtocolError("invalid_message", "binary frames are not supported; send JSON text frames")
    return decode_message(text)


def parse_subscribe(message: dict[str, Any]) -> Subscribe:
    since = message.get("since")
    if not is_int(since) or since < 0:
        raise ProtocolError("invalid_message", '"since" must be a non-negative integer')
    return Subscribe(since=since)


def parse_ping(message: dict[str, Any]) -> Ping:
    gaps = message.get("gaps")
    # Anything else in "gaps" is ignored: it only feeds a metric.
    return Ping(gaps=gaps if is_int(gaps) and 0 < gaps <= 1_000_000 else 0)
