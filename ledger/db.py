"""Reading several tables as of one moment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def one_snapshot(*, brief: bool = True) -> Iterator[None]:
    """Run the block's reads against one snapshot of the database.

    A head and the rows it accounts for must come from one snapshot, or a
    commit between the two reads would show rows newer (or older) than the
    head. On PostgreSQL a REPEATABLE READ READ ONLY transaction gives that
    without blocking anyone, and inside it ``.iterator()`` streams through
    a server-side cursor. On SQLite a transaction is a snapshot too, but
    atomic() begins IMMEDIATE there (settings) and holds the write lock:
    right for a brief read, wrong for a long one, which passes
    ``brief=False``, runs outside a transaction and must itself allow for
    a commit in the middle. Inside an outer transaction (tests) the
    isolation level can no longer be set, and the outer one decides.
    """
    outermost = not connection.in_atomic_block
    if connection.vendor == "postgresql" or brief:
        with transaction.atomic():
            if outermost and connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield
    else:
        yield


@contextmanager
def pipelined() -> Iterator[None]:
    """On PostgreSQL, send the block's statements without waiting for the answers that nobody reads yet.

    A single-cell append is about ten short statements, and on a local
    server each one's round trip costs more than its work. In psycopg's
    pipeline mode a statement goes out at once and its answer is read at
    the next fetch or sync: BEGIN travels with the first read, and the
    writes that return nothing with COMMIT. The statements still run in
    order in the block's transaction, and an error still raises, at the
    latest when the block ends. What the block must not do: rely on a
    statement's row count before the next fetch (Model.save() of an
    existing row, update_or_create), which pipeline mode reports late.
    Elsewhere (SQLite, a libpq without pipeline mode) the block runs as is.
    """
    if connection.vendor != "postgresql":
        yield
        return
    import psycopg

    connection.ensure_connection()
    raw = connection.connection
    if not isinstance(raw, psycopg.Connection) or not psycopg.Pipeline.is_supported():
        yield
        return
    with raw.pipeline():
        yield
