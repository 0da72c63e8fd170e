# The annual reports list a year at a time (`ordinances.report_pages`).
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("ordinances", "0019_request_reference_indexes")]

    operations = [
        # The public annual reports list a year at a time (`ordinances.report_pages`).
        migrations.AddIndex(
            model_name="annualreport",
            index=models.Index(
                condition=models.Q(
                    ("submitted_at__isnull", False), ("overdue_since__isnull", False), _connector="OR"
                ),
                fields=["year", "agency"],
                name="annual_report_year_agency",
            ),
        ),
    ]
