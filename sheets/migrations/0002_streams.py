"""A sheet's head lives in its ledger stream (ledger 0004 made one per sheet, with the sheet's id)."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import F


def link_streams(apps, schema_editor):
    apps.get_model("sheets", "Sheet").objects.update(stream_id=F("id"))


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0004_streams"),
        ("sheets", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="sheet",
            name="stream",
            field=models.OneToOneField(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="sheet", to="ledger.stream"
            ),
        ),
        migrations.RunPython(link_streams, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="sheet",
            name="stream",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT, related_name="sheet", to="ledger.stream"
            ),
        ),
        migrations.RemoveField(model_name="sheet", name="head"),
        migrations.RemoveField(model_name="sheet", name="head_hash"),
    ]
