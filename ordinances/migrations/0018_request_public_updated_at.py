"""
`Request.public_updated_at`: when the public record last changed, stored so the feeds of an
agency and of a technology take their newest requests from an index instead of computing
the time for every request first. Filled here from the timeline, as the feeds computed it.
"""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce


def backfill(apps, schema_editor):
    Event = apps.get_model("ordinances", "Event")
    Request = apps.get_model("ordinances", "Request")
    latest_public = (
        Event.objects.filter(request=OuterRef("pk"), is_public=True)
        .order_by("-created_at", "-pk")
        .values("created_at")[:1]
    )
    Request.objects.update(
        public_updated_at=Coalesce(
            Subquery(latest_public, output_field=models.DateTimeField()), F("submitted_at"), F("created_at")
        )
    )


class Migration(migrations.Migration):
    dependencies = [("ordinances", "0017_emergency_use_recent_index")]

    operations = [
        migrations.AddField(
            model_name="request",
            name="public_updated_at",
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="request",
            index=models.Index(
                condition=models.Q(("status", "draft"), _negated=True),
                fields=["agency", "-public_updated_at", "-id"],
                name="request_agency_public_upd",
            ),
        ),
        migrations.AddIndex(
            model_name="request",
            index=models.Index(
                condition=models.Q(("status", "draft"), _negated=True),
                fields=["-public_updated_at", "-id"],
                name="request_public_updated",
            ),
        ),
    ]
