"""The Orthanc ids become required and unique, and one study at most claims a UID (step 3)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("clinical", "0003_fill_study_identity")]

    operations = [
        migrations.AlterField(
            model_name="study",
            name="orthanc_study_id",
            field=models.CharField(max_length=64, unique=True),
        ),
        migrations.AlterField(
            model_name="study",
            name="claimed_uid",
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name="series",
            name="orthanc_series_id",
            field=models.CharField(max_length=64, unique=True),
        ),
    ]
