"""What the ledger's and the projections' management commands share: which streams a NAME argument means."""

from __future__ import annotations

from django.core.management.base import CommandError

from ledger.selectors import streams_named


def streams_of(name: str | None) -> list[tuple[int, str, int]]:
    """Return (pk, name, head) of every sheet's stream, or of the one named; CommandError if there is none such."""
    streams = list(streams_named(name).values_list("pk", "name", "head"))
    if name is not None and not streams:
        raise CommandError(f"no sheet named {name!r}")
    return streams
