"""Cells and snapshots belong to the ledger's stream of their sheet (same ids: see ledger 0004)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0004_streams"),
        ("projections", "0003_drop_redundant_sheet_index"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="cell", name="projections_cell_unique"),
        migrations.RemoveConstraint(model_name="projectionsnapshot", name="projections_snapshot_unique"),
        migrations.AlterField(
            model_name="cell",
            name="sheet",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="cells", to="ledger.stream"
            ),
        ),
        migrations.AlterField(
            model_name="projectionsnapshot",
            name="sheet",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="snapshots", to="ledger.stream"
            ),
        ),
        migrations.RenameField(model_name="cell", old_name="sheet", new_name="stream"),
        migrations.RenameField(model_name="projectionsnapshot", old_name="sheet", new_name="stream"),
        migrations.AddConstraint(
            model_name="cell",
            constraint=models.UniqueConstraint(fields=("stream", "row", "col"), name="projections_cell_unique"),
        ),
        migrations.AddConstraint(
            model_name="projectionsnapshot",
            constraint=models.UniqueConstraint(fields=("stream", "seq"), name="projections_snapshot_unique"),
        ),
        migrations.AlterModelOptions(name="cell", options={"ordering": ["stream_id", "row", "col"]}),
        migrations.AlterModelOptions(name="projectionsnapshot", options={"ordering": ["stream_id", "seq"]}),
    ]
