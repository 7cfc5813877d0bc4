"""Give the ledger its own streams: each sheet's head moves to a stream of the same id and name.

The events keep every byte they were hashed with; only the column that
names their stream changes (sheet_id → stream_id) and points at
ledger_stream. On SQLite the schema changes below rebuild the table, which
drops its immutability triggers: they are installed again at the end.
"""

import importlib

import django.db.models.deletion
from django.core.management.color import no_style
from django.db import migrations, models

immutable_events = importlib.import_module("ledger.migrations.0002_immutable_events")

EVENT_INDEXES = [
    ("ledger_event_client_id", ["client_event_id"]),
    ("ledger_event_cell", ["row", "col", "seq"]),
    ("ledger_event_user", ["broadcaster", "seq"]),
    ("ledger_event_time", ["recorded_at"]),
]


def copy_heads(apps, schema_editor):
    Sheet = apps.get_model("sheets", "Sheet")
    Stream = apps.get_model("ledger", "Stream")
    Stream.objects.bulk_create(
        [
            Stream(id=sheet.id, name=sheet.name, head=sheet.head, head_hash=sheet.head_hash, created_at=sheet.created_at)
            for sheet in Sheet.objects.order_by("id")
        ]
    )
    # Ids were given explicitly: move PostgreSQL's sequence past them.
    with schema_editor.connection.cursor() as cursor:
        for statement in schema_editor.connection.ops.sequence_reset_sql(no_style(), [Stream]):
            cursor.execute(statement)


def copy_heads_back(apps, schema_editor):
    Sheet = apps.get_model("sheets", "Sheet")
    Stream = apps.get_model("ledger", "Stream")
    for stream in Stream.objects.all():
        Sheet.objects.filter(pk=stream.pk).update(head=stream.head, head_hash=stream.head_hash)


def reinstall_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        immutable_events.install(apps, schema_editor)


def _indexes(field):
    return [
        migrations.AddIndex(model_name="event", index=models.Index(fields=[field, *columns], name=name))
        for name, columns in EVENT_INDEXES
    ]


def _unindex():
    return [migrations.RemoveIndex(model_name="event", name=name) for name, _ in EVENT_INDEXES]


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0003_drop_redundant_sheet_index"),
        ("sheets", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Stream",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=64, unique=True)),
                ("head", models.BigIntegerField(default=0)),
                ("head_hash", models.CharField(default="0" * 64, max_length=64)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"ordering": ["name"]},
        ),
        migrations.RunPython(copy_heads, copy_heads_back),
        migrations.RemoveConstraint(model_name="event", name="ledger_event_unique_sheet_seq"),
        *_unindex(),
        migrations.AlterField(
            model_name="event",
            name="sheet",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="events", to="ledger.stream"
            ),
        ),
        migrations.RenameField(model_name="event", old_name="sheet", new_name="stream"),
        *_indexes("stream"),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.UniqueConstraint(fields=("stream", "seq"), name="ledger_event_unique_sheet_seq"),
        ),
        migrations.AlterModelOptions(name="event", options={"ordering": ["stream_id", "seq"]}),
        migrations.RunPython(reinstall_triggers, migrations.RunPython.noop),
    ]
