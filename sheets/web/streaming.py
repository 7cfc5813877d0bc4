"""Streaming a download a chunk at a time, under WSGI and ASGI alike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest

C = TypeVar("C")
T = TypeVar("T", str, bytes)

# One step: the chunk at a cursor and the next cursor, None after the last chunk.
Step = Callable[[C], tuple[T, C | None]]


def _chunks(step: Step[C, T], cursor: C | None) -> Iterator[T]:
    while cursor is not None:
        chunk, cursor = step(cursor)
        yield chunk


async def _achunks(step: Step[C, T], cursor: C | None) -> AsyncIterator[T]:
    while cursor is not None:
        chunk, cursor = await sync_to_async(step)(cursor)
        yield chunk


def chunks(request: HttpRequest, step: Step[C, T], first: C) -> Iterator[T] | AsyncIterator[T]:
    """The chunks ``step`` makes from ``first`` on, as the server wants them.

    Under ASGI (daphne) Django would read a synchronous iterator into a list
    before sending a byte, so a million-row download gets an asynchronous
    one there, each step run in the sync thread. Each step is its own query,
    so no cursor or transaction has to outlive a thread hop.
    """
    return _achunks(step, first) if isinstance(request, ASGIRequest) else _chunks(step, first)
