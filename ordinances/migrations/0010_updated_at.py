# Agencies, technologies, the inventory and sources keep when they were last saved, so
# `ordinances.freshness` can tell when they changed however they were written (the admin,
# `import_atlas`, `seed_demo`, a shell). Existing rows take the moment of the migration.

import django.utils.timezone
from django.db import migrations, models


def updated_at() -> models.DateTimeField:
    return models.DateTimeField(auto_now=True, default=django.utils.timezone.now)


class Migration(migrations.Migration):
    dependencies = [
        ("ordinances", "0009_source_archived_url"),
    ]

    operations = [
        migrations.AddField(model_name=name, name="updated_at", field=updated_at(), preserve_default=False)
        for name in ("agency", "source", "technology", "technologyuse")
    ]
