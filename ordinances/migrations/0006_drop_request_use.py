from django.db import migrations


class Migration(migrations.Migration):
    """
    Request.use was a join on agency and technology with no column of its own; the status
    board no longer needs it. Only the model state changes: there is nothing in the database.
    """

    dependencies = [
        ("ordinances", "0005_process_as_data"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveField(model_name="request", name="use")],
            database_operations=[],
        ),
    ]
