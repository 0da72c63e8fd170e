# The request feed of one status (`?status=expired`) reads its entries' keys from an index,
# newest submitted first, rather than every newer request of other statuses.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("ordinances", "0024_search_common_words")]

    operations = [
        migrations.AddIndex(
            model_name="request",
            index=models.Index(fields=["status", "-submitted_at", "-id"], name="request_status_submitted"),
        ),
    ]
