"""What a value must be for the ledger to store it on every backend."""

from __future__ import annotations


def is_storable(value: object) -> bool:
    """Return whether ``value`` is text that every backend and every frame can hold.

    PostgreSQL text cannot hold NUL, and UTF-8 (the hash's canonical form,
    every outgoing frame) cannot hold a lone surrogate, which JSON can spell
    ("\\ud800") and SQLite would take: refusing both keeps every backend and
    caller alike.
    """
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
