"""Drop the index of projections_cell.sheet_id alone: every other index of the table starts with sheet_id.

Only the index is dropped. AlterField would have SQLite rebuild the table,
which this one-index change does not need.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('projections', '0002_snapshots'),
        ('sheets', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="cell",
                    name="sheet",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="cells",
                        to="sheets.sheet",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    sql='DROP INDEX IF EXISTS "projections_cell_sheet_id_1d217b12"',
                    reverse_sql='CREATE INDEX "projections_cell_sheet_id_1d217b12" ON "projections_cell" ("sheet_id")',
                ),
            ],
        ),
    ]
