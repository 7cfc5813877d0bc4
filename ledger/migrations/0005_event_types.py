"""Events of every type in one table: a type, the canonical form's version, ids and the structure fields.

Existing events keep every byte they were hashed with: they are format 1,
cell edits, with their positions and no stored ids (docs/auditing.md). On
SQLite these changes rebuild the table, which drops its immutability
triggers: they are installed again at the end.
"""

import importlib

from django.db import migrations, models

immutable_events = importlib.import_module("ledger.migrations.0002_immutable_events")


def reinstall_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        immutable_events.remove(apps, schema_editor)
        immutable_events.install(apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0004_streams'),
    ]

    operations = [
        migrations.AddField(
            model_name='event',
            name='after',
            field=models.CharField(max_length=36, null=True),
        ),
        migrations.AddField(
            model_name='event',
            name='col_id',
            field=models.CharField(max_length=36, null=True),
        ),
        migrations.AddField(
            model_name='event',
            name='format',
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AddField(
            model_name='event',
            name='ids',
            field=models.TextField(null=True),
        ),
        migrations.AddField(
            model_name='event',
            name='positions',
            field=models.TextField(null=True),
        ),
        migrations.AddField(
            model_name='event',
            name='row_id',
            field=models.CharField(max_length=36, null=True),
        ),
        migrations.AddField(
            model_name='event',
            name='type',
            field=models.CharField(default='CellChanged', max_length=20),
        ),
        migrations.AlterField(
            model_name='event',
            name='col',
            field=models.IntegerField(null=True),
        ),
        migrations.AlterField(
            model_name='event',
            name='row',
            field=models.IntegerField(null=True),
        ),
        migrations.RunPython(reinstall_triggers, migrations.RunPython.noop),
    ]
