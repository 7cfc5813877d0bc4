"""A stream knows the shape it starts with (its first rows' and columns' implicit ids); cell events by id get an index."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("ledger", "0005_event_types")]

    operations = [
        migrations.AddField(model_name="stream", name="rows", field=models.PositiveIntegerField(default=0)),
        migrations.AddField(model_name="stream", name="cols", field=models.PositiveIntegerField(default=0)),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["stream", "row_id", "col_id", "seq"], name="ledger_event_cell_id"),
        ),
    ]
