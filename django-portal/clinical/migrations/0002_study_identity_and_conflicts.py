"""A study is its Orthanc resource; a StudyInstanceUID is claimed by one study (schema, step 1).

The UID columns stop being unique (two patients' studies may share one) and gain an index; the
claim and conflict fields arrive empty. 0003 fills them, 0004 makes the identities required.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("clinical", "0001_initial")]

    operations = [
        migrations.AlterField(
            model_name="study",
            name="study_uid",
            field=models.CharField(db_index=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="series",
            name="series_uid",
            field=models.CharField(db_index=True, max_length=64),
        ),
        migrations.AddField(
            model_name="study",
            name="claimed_uid",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="study",
            name="conflict_with",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="conflicts",
                to="clinical.study",
            ),
        ),
        migrations.AddField(
            model_name="study",
            name="conflict_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="study",
            name="conflict_reviewed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
