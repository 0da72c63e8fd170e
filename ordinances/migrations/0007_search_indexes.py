import operator
from functools import reduce

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations
from django.db.models import F, Func, TextField, Value

# A snapshot of ordinances.search as of this migration: its configuration, its punctuation
# rule and each kind's fields with their weights, in order. The site search's query
# (`ordinances.search.document`) must build exactly this expression for PostgreSQL to use
# the index; tests/test_search.py checks the plan.
CONFIG = "simple"
NON_WORD = "[[:punct:][:space:]]+"
DOCUMENTS = {
    # model: (index, fields)
    "ordinance": (
        "ordinance_search_doc",
        (("title", "A"), ("summary", "B"), ("jurisdiction", "B"), ("full_text", "C"), ("file_number", "A")),
    ),
    "agency": ("agency_search_doc", (("name", "A"), ("description", "B"))),
    "technology": (
        "technology_search_doc",
        (("name", "A"), ("description", "B"), ("vendors", "B"), ("civil_liberties_concerns", "C")),
    ),
    "request": (
        "request_search_doc",
        (("title", "A"), ("purpose", "B"), ("justification", "C"), ("reference", "A")),
    ),
}


def _index(name, fields):
    vectors = [
        SearchVector(
            Func(
                F(field),
                Value(NON_WORD),
                Value(" "),
                Value("g"),
                function="regexp_replace",
                output_field=TextField(),
            ),
            config=CONFIG,
            weight=weight,
        )
        for field, weight in fields
    ]
    return GinIndex(reduce(operator.add, vectors), name=name)


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite searches with a regular expression per word, which no index serves.
    for model_name, (name, fields) in DOCUMENTS.items():
        schema_editor.add_index(apps.get_model("ordinances", model_name), _index(name, fields))


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model_name, (name, fields) in DOCUMENTS.items():
        schema_editor.remove_index(apps.get_model("ordinances", model_name), _index(name, fields))


class Migration(migrations.Migration):
    """
    GIN indexes for the site search (`ordinances.search`), one per searched table, on the
    weighted full-text document the search query matches with `@@`. PostgreSQL only; the
    model state does not change, so the indexes are not in any model's Meta.
    """

    dependencies = [
        ("ordinances", "0006_drop_request_use"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
