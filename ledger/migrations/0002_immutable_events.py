"""Refuse UPDATE, DELETE and TRUNCATE of ledger events in the database itself.

The application never changes an event, but "never" must hold for a bug, a
shell session or a careless admin too: the database refuses, whoever asks.
Someone who can drop the trigger can still rewrite rows; the hash chain
(ledger/hashing.py, verify_ledger) is what catches that.
"""

from django.db import migrations

POSTGRES_INSTALL = [
    """
    CREATE OR REPLACE FUNCTION ledger_event_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'ledger events are immutable: % refused on ledger_event', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER ledger_event_immutable_rows
        BEFORE UPDATE OR DELETE ON ledger_event
        FOR EACH ROW EXECUTE FUNCTION ledger_event_refuse_change()
    """,
    """
    CREATE TRIGGER ledger_event_immutable_truncate
        BEFORE TRUNCATE ON ledger_event
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_event_refuse_change()
    """,
]
POSTGRES_REMOVE = [
    "DROP TRIGGER IF EXISTS ledger_event_immutable_truncate ON ledger_event",
    "DROP TRIGGER IF EXISTS ledger_event_immutable_rows ON ledger_event",
    "DROP FUNCTION IF EXISTS ledger_event_refuse_change()",
]
# SQLite has no TRUNCATE: "DELETE FROM t" without WHERE is its truncate, and
# a DELETE trigger disables that shortcut, so the trigger below covers it.
SQLITE_INSTALL = [
    """
    CREATE TRIGGER ledger_event_immutable_update BEFORE UPDATE ON ledger_event
    BEGIN SELECT RAISE(ABORT, 'ledger events are immutable: UPDATE refused on ledger_event'); END
    """,
    """
    CREATE TRIGGER ledger_event_immutable_delete BEFORE DELETE ON ledger_event
    BEGIN SELECT RAISE(ABORT, 'ledger events are immutable: DELETE refused on ledger_event'); END
    """,
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS ledger_event_immutable_update",
    "DROP TRIGGER IF EXISTS ledger_event_immutable_delete",
]
STATEMENTS = {
    "postgresql": (POSTGRES_INSTALL, POSTGRES_REMOVE),
    "sqlite": (SQLITE_INSTALL, SQLITE_REMOVE),
}


def _run(schema_editor, index: int) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in STATEMENTS:
        raise NotImplementedError(f"no immutability triggers for database vendor {vendor!r}")
    for statement in STATEMENTS[vendor][index]:
        schema_editor.execute(statement, params=None)


def install(apps, schema_editor) -> None:
    _run(schema_editor, 0)


def remove(apps, schema_editor) -> None:
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(install, remove)]
