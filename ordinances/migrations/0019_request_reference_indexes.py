# The API's request list in reference order, by agency, technology, and agency, status and year.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("ordinances", "0018_request_public_updated_at")]

    operations = [
        migrations.AddIndex(
            model_name="request",
            index=models.Index(fields=["agency", "-reference"], name="request_agency_reference"),
        ),
        migrations.AddIndex(
            model_name="request",
            index=models.Index(fields=["technology", "-reference"], name="request_technology_reference"),
        ),
        migrations.AddIndex(
            model_name="request",
            index=models.Index(
                fields=["agency", "status", "submitted_at"], name="request_agency_status_submit"
            ),
        ),
    ]
