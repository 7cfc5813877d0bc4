"""Drop the index of ledger_event.sheet_id alone: every other index of the table starts with sheet_id.

Only the index is dropped. AlterField would have SQLite rebuild the table,
which would drop the triggers that keep events immutable.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0002_immutable_events'),
        ('sheets', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="sheet",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="events",
                        to="sheets.sheet",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    sql='DROP INDEX IF EXISTS "ledger_event_sheet_id_83ba9a00"',
                    reverse_sql='CREATE INDEX "ledger_event_sheet_id_83ba9a00" ON "ledger_event" ("sheet_id")',
                ),
            ],
        ),
    ]
