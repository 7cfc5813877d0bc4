"""A sheet's first rows and columns belong to its stream (ledger 0006): the fold of its ledger starts there."""

from django.db import migrations, models


def copy_shape(apps, schema_editor):
    Stream = apps.get_model("ledger", "Stream")
    for sheet in apps.get_model("sheets", "Sheet").objects.all():
        Stream.objects.filter(pk=sheet.stream_id).update(rows=sheet.rows, cols=sheet.cols)


def copy_shape_back(apps, schema_editor):
    Sheet = apps.get_model("sheets", "Sheet")
    for stream in apps.get_model("ledger", "Stream").objects.all():
        Sheet.objects.filter(stream_id=stream.pk).update(rows=stream.rows, cols=stream.cols)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0006_stream_shape"),
        ("sheets", "0002_streams"),
    ]

    operations = [
        # Nullable first, so that going back can re-add them empty and fill them before they are required.
        migrations.AlterField(model_name="sheet", name="rows", field=models.PositiveIntegerField(null=True)),
        migrations.AlterField(model_name="sheet", name="cols", field=models.PositiveIntegerField(null=True)),
        migrations.RunPython(copy_shape, copy_shape_back),
        migrations.RemoveField(model_name="sheet", name="rows"),
        migrations.RemoveField(model_name="sheet", name="cols"),
    ]
