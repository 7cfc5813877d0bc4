"""Cells are keyed by their row's and column's ids; the order of rows and columns is a read model of its own.

Every existing cell is at the position it had when its sheet was created
(no structure event existed before this), so its ids are the implicit ids
of that position: ``r{row}``, ``c{col}`` (docs/architecture.md, decision 12).
Snapshots are a cache in a new form: the old ones are dropped, and time
travel takes new ones as it goes.
"""

import django.db.models.deletion
from django.db import migrations, models


def ids_from_positions(apps, schema_editor):
    table = schema_editor.quote_name(apps.get_model("projections", "Cell")._meta.db_table)
    q = schema_editor.quote_name
    schema_editor.execute(
        f"UPDATE {table} SET row_id = 'r' || CAST({q('row')} AS TEXT), col_id = 'c' || CAST({q('col')} AS TEXT)"
    )


def positions_from_ids(apps, schema_editor):
    table = schema_editor.quote_name(apps.get_model("projections", "Cell")._meta.db_table)
    q = schema_editor.quote_name
    schema_editor.execute(
        f"UPDATE {table} SET {q('row')} = CAST(SUBSTR(row_id, 2) AS INTEGER), {q('col')} = CAST(SUBSTR(col_id, 2) AS INTEGER)"
    )


def drop_snapshots(apps, schema_editor):
    apps.get_model("projections", "ProjectionSnapshot").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0006_stream_shape"),
        ("projections", "0004_streams"),
    ]

    operations = [
        migrations.RunPython(drop_snapshots, migrations.RunPython.noop),
        migrations.AddField(model_name="cell", name="row_id", field=models.CharField(max_length=36, null=True)),
        migrations.AddField(model_name="cell", name="col_id", field=models.CharField(max_length=36, null=True)),
        migrations.RemoveConstraint(model_name="cell", name="projections_cell_unique"),
        # Nullable first, so that going back can fill them again before they are required.
        migrations.AlterField(model_name="cell", name="row", field=models.IntegerField(null=True)),
        migrations.AlterField(model_name="cell", name="col", field=models.IntegerField(null=True)),
        migrations.RunPython(ids_from_positions, positions_from_ids),
        migrations.AlterField(model_name="cell", name="row_id", field=models.CharField(max_length=36)),
        migrations.AlterField(model_name="cell", name="col_id", field=models.CharField(max_length=36)),
        migrations.RemoveField(model_name="cell", name="row"),
        migrations.RemoveField(model_name="cell", name="col"),
        migrations.AddConstraint(
            model_name="cell",
            constraint=models.UniqueConstraint(fields=("stream", "row_id", "col_id"), name="projections_cell_unique_id"),
        ),
        migrations.AlterModelOptions(name="cell", options={"ordering": ["stream_id", "row_id", "col_id"]}),
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("axis", models.CharField(max_length=1)),
                ("seq", models.BigIntegerField()),
                ("hash", models.CharField(max_length=64)),
                ("count", models.PositiveIntegerField()),
                ("runs", models.JSONField()),
                (
                    "stream",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="orders",
                        to="ledger.stream",
                    ),
                ),
            ],
            options={
                "ordering": ["stream_id", "axis"],
                "constraints": [models.UniqueConstraint(fields=("stream", "axis"), name="projections_order_unique")],
            },
        ),
    ]
