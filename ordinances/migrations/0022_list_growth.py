# Lists whose cost grew with the city's history: the public requests of each agency under
# each ordinance are counted as they become public (by the workflow from now on, here once
# for those already on the record); the violations list, and the home page's open comment
# periods and hearings ahead, read their rows in order from indexes.
import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count


def count_public_requests(apps, schema_editor):
    Request = apps.get_model("ordinances", "Request")
    PublicRequestCount = apps.get_model("ordinances", "PublicRequestCount")
    counted = (
        Request.objects.exclude(status="draft")
        .order_by()
        .values_list("agency_id", "ordinance_id")
        .annotate(n=Count("*"))
    )
    PublicRequestCount.objects.bulk_create(
        PublicRequestCount(agency_id=agency_id, ordinance_id=ordinance_id, count=n)
        for agency_id, ordinance_id, n in counted
    )


class Migration(migrations.Migration):
    dependencies = [("ordinances", "0021_detail_page_indexes")]

    operations = [
        migrations.CreateModel(
            name="PublicRequestCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("count", models.PositiveIntegerField(default=0)),
                (
                    "agency",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="ordinances.agency",
                    ),
                ),
                (
                    "ordinance",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="ordinances.ordinance",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["ordinance"], include=("count",), name="public_count_ordinance")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("agency", "ordinance"), name="one_count_per_agency_ordinance"
                    )
                ],
            },
        ),
        migrations.RunPython(count_public_requests, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="request",
            index=models.Index(
                condition=models.Q(("status", "public_comment")),
                fields=["comment_period_ends_on", "id"],
                name="request_open_comment",
            ),
        ),
        migrations.AddIndex(
            model_name="request",
            index=models.Index(
                condition=models.Q(("status", "hearing_scheduled")),
                fields=["hearing_at", "id"],
                name="request_hearing_ahead",
            ),
        ),
        migrations.AddIndex(
            model_name="violation",
            index=models.Index(
                condition=models.Q(("published_at__isnull", False)),
                fields=["-found_on", "-id"],
                name="violation_public_found",
            ),
        ),
    ]
