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
