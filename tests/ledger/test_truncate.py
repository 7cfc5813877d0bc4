"""TRUNCATE must be refused too; it needs committed rows (no pending FK checks in the transaction)."""

import pytest
from django.db import DatabaseError, connection, transaction

from ledger.models import Event
from tests.conftest import edit

pytestmark = pytest.mark.postgres


def test_postgres_refuses_truncate(committed_db, make_sheet, make_user):
    user = make_user()
    sheet = make_sheet(editors=[user])
    edit(sheet, user, (0, 0, "original"))
    with pytest.raises(DatabaseError, match="immutable"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("TRUNCATE ledger_event CASCADE")
    assert Event.objects.filter(stream__sheet=sheet).count() == 1
