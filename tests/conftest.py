"""Shared fixtures: users, sheets and edits made through the real services."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError

from ledger.hashing import GENESIS_HASH, canonical_bytes, chain_hash
from ledger.serialization import record_of
from sheets.models import Role, Sheet
from sheets.services import create_sheet, grant
from sheets.writes.edits import AppendResult, Change, append_edit, append_one
from sheets.writes.structure import StructureRequest

PASSWORD = "correct-horse-battery"

# What each marker needs beyond a plain `pytest` (SQLite, in-memory layer);
# `make test` provides all of it. Without it a marked test is skipped, saying why.
_NEEDS = {
    "postgres": ("PostgreSQL: set DATABASE_URL (make test does)", lambda: _on_postgres()),
    "live": ("PostgreSQL and Redis: set DATABASE_URL and REDIS_URL (make test does)",
             lambda: _on_postgres() and bool(settings.REDIS_URL)),
    "browser": ("PostgreSQL and Redis: set DATABASE_URL and REDIS_URL (make test does)",
                lambda: _on_postgres() and bool(settings.REDIS_URL)),
}


def _on_postgres() -> bool:
    return bool(settings.DATABASES["default"]["ENGINE"].endswith("postgresql"))


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, (reason, available) in _NEEDS.items():
        if item.get_closest_marker(marker) is not None and not available():
            pytest.skip(f"needs {reason}")
_counter = itertools.count(1)


def unique(prefix: str) -> str:
    """Return a name no other test uses: committed data is never flushed (events are immutable)."""
    return f"{prefix}{next(_counter)}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def django_db_setup(request: pytest.FixtureRequest, django_test_environment: None, django_db_blocker: Any,
                    django_db_keepdb: bool, django_db_createdb: bool, django_db_modify_db_settings: None) -> Iterator[None]:
    """Create the test database for every run, even one made only of ``committed_db`` tests.

    pytest-django's own fixture creates it only when a collected test uses
    ``db`` or the ``django_db`` marker; a run of committed_db tests alone
    would otherwise read and write the development database.
    """
    from django.test.utils import setup_databases, teardown_databases

    verbosity = request.config.option.verbose
    with django_db_blocker.unblock():
        config = setup_databases(verbosity=verbosity, interactive=False, keepdb=django_db_keepdb and not django_db_createdb)
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            try:
                teardown_databases(config, verbosity=verbosity)
            except DatabaseError as exc:  # a connection left open by a thread; pytest-django warns too
                request.node.warn(pytest.PytestWarning(f"could not drop the test databases: {exc!r}"))


@pytest.fixture
def committed_db(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Database access without a wrapping transaction, for code that reads from other threads or processes.

    Tests using it create their own uniquely named users and sheets and clean
    nothing up: the ledger's triggers refuse the flush that Django's
    TransactionTestCase would do, exactly as they should.
    """
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def make_user() -> Callable[..., Any]:
    def make(username: str | None = None, **extra: Any) -> Any:
        return get_user_model().objects.create_user(username=username or unique("user"), password=PASSWORD, **extra)

    return make


@pytest.fixture
def alice(make_user: Callable[..., Any]) -> Any:
    """A user, the first of two (tests that need one more take ``bob``)."""
    return make_user()


@pytest.fixture
def bob(make_user: Callable[..., Any]) -> Any:
    return make_user()


@pytest.fixture
def make_sheet(make_user: Callable[..., Any]) -> Callable[..., Sheet]:
    def make(*, rows: int = 50, cols: int = 10, editors: Sequence[Any] = (), viewers: Sequence[Any] = (),
             name: str | None = None) -> Sheet:
        sheet = create_sheet(name=name or unique("sheet"), rows=rows, cols=cols)
        for user in editors:
            grant(sheet=sheet, username=user.username, role=Role.EDITOR)
        for user in viewers:
            grant(sheet=sheet, username=user.username, role=Role.VIEWER)
        return sheet

    return make


def edit(sheet: Sheet, user: Any, *changes: tuple[int, int, str] | Change,
         client_event_id: uuid.UUID | None = None) -> AppendResult:
    """Append through the one write path, as every test must."""
    return append_edit(
        sheet_id=sheet.pk,
        user=user,
        client_event_id=client_event_id or uuid.uuid4(),
        changes=[c if isinstance(c, Change) else Change(row=c[0], col=c[1], value=c[2]) for c in changes],
    )


def restructure(sheet: Sheet, user: Any, kind: str, ids: Sequence[str], after: str | None = None,
                client_event_id: uuid.UUID | None = None) -> AppendResult:
    """Insert or delete rows or columns (``kind`` an event type of ledger.hashing) through the one write path."""
    return append_one(sheet_id=sheet.pk, request=StructureRequest(
        user=user, client_event_id=client_event_id or uuid.uuid4(), type=kind, ids=tuple(ids), after=after,
    ))


def assert_hash_chain(sheet: Sheet, events: Sequence[Any]) -> None:
    """Recompute the sheet's hash chain from the stored events (seq order); the sheet's head_hash must end it."""
    prev_hash = GENESIS_HASH
    for event in events:
        assert event.prev_hash == prev_hash, f"{sheet.name}: chain broken before seq {event.seq}"
        canonical = canonical_bytes(record_of(event), sheet=sheet.name)
        assert event.hash == chain_hash(prev_hash, canonical), f"{sheet.name}: hash of seq {event.seq} does not verify"
        prev_hash = event.hash
    assert sheet.stream.head_hash == prev_hash, f"{sheet.name}: head_hash is not the hash of the last event"
