# The filtered request lists read as many rows as they show: the expired requests (the oldest
# of the history) in the list's and the API's orders, and the request feed of an agency or a
# technology, newest submitted first.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("ordinances", "0022_list_growth")]

    operations = [
        migrations.AddIndex(
            model_name="request",
            index=models.Index(
                condition=models.Q(("status", "expired")),
                fields=["-created_at", "-id"],
                name="request_expired_created",
            ),
        ),
        migrations.AddIndex(
            model_name="request",
            index=models.Index(
                condition=models.Q(("status", "expired")),
                fields=["-reference"],
                name="request_expired_reference",
            ),
        ),
        migrations.AddIndex(
            model_name="request",
            index=models.Index(
                condition=models.Q(("status", "draft"), _negated=True),
                fields=["agency", "-submitted_at", "-id"],
                name="request_agency_submitted",
            ),
        ),
        migrations.AddIndex(
            model_name="request",
            index=models.Index(
                condition=models.Q(("status", "draft"), _negated=True),
                fields=["technology", "-submitted_at", "-id"],
                name="request_technology_submitted",
            ),
        ),
    ]
