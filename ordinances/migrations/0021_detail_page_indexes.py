# The detail pages of an agency and of a technology read their sections through indexes:
# the requests pending or approved (the status board, the conditions of approvals) from
# covering indexes, a technology's latest annual reports a year at a time, the few demo rows apart.
from django.db import migrations, models

PUBLIC_ANNUAL_REPORT = models.Q(
    ("submitted_at__isnull", False), ("overdue_since__isnull", False), _connector="OR"
)


class Migration(migrations.Migration):
    dependencies = [("ordinances", "0020_annual_report_year_agency")]

    operations = [
        migrations.AddIndex(
            model_name="request",
            index=models.Index(
                fields=["agency", "status"],
                include=("technology", "is_demo", "created_at", "id"),
                name="request_agency_telling",
            ),
        ),
        migrations.AddIndex(
            model_name="request",
            index=models.Index(
                fields=["technology", "status"],
                include=("agency", "is_demo", "created_at", "id"),
                name="request_technology_telling",
            ),
        ),
        migrations.AddIndex(
            model_name="annualreport",
            index=models.Index(
                condition=PUBLIC_ANNUAL_REPORT, fields=["technology", "-year"], name="annual_report_tech_year"
            ),
        ),
        migrations.AddIndex(
            model_name="annualreport",
            index=models.Index(
                condition=models.Q(("is_demo", True)), fields=["-year"], name="annual_report_demo"
            ),
        ),
        migrations.AddIndex(
            model_name="emergencyuse",
            index=models.Index(
                condition=models.Q(("is_demo", True)), fields=["-used_on", "-id"], name="emergency_use_demo"
            ),
        ),
    ]
