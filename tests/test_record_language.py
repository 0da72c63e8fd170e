"""
Records say which language staff wrote them in, and pages in another language mark that text
with `lang` (WCAG 3.1.2, Language of Parts): a Somali page reading an English request title
tells the screen reader it is English; an English page reading an English title adds nothing.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest
from django.conf import settings
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from ordinances import process, workflow
from ordinances.models import Agency, Ordinance, Request

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def in_somali(name: str, *args: object) -> str:
    with translation.override("so"):
        return reverse(name, args=args)


def elements_marked(content: str, language: str) -> list[str]:
    """The tag names of the elements marked `lang="<language>"`, in page order."""
    return re.findall(rf'<(\w+)[^>]*\slang="{language}"', content)


# ---------------------------------------------------------------------------
# The filters
# ---------------------------------------------------------------------------


def render(source: str, **context: object) -> str:
    return Template("{% load portal %}" + source).render(Context(context))


def test_lang_attr_renders_nothing_when_the_record_is_in_the_active_language():
    assert render("<p{{ record|lang_attr }}>", record=Agency(language="en")) == "<p>"


def test_lang_attr_renders_the_records_language_when_it_differs_from_the_active_one():
    with translation.override("so"):
        assert render("<p{{ record|lang_attr }}>", record=Agency(language="en")) == '<p lang="en">'


def test_lang_text_wraps_escaped_text_in_a_span_when_the_languages_differ():
    agency = Agency(language="es", name="Policía <Sur>")

    assert render("{{ a.name|lang_text:a }}", a=agency) == '<span lang="es">Policía &lt;Sur&gt;</span>'


def test_lang_text_leaves_empty_text_empty_so_templates_can_still_test_it():
    source = "{% with v=name|lang_text:a %}{% if v %}yes{% else %}no{% endif %}{% endwith %}"

    assert render(source, name="", a=Agency(language="es")) == "no"


# ---------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------


def test_the_somali_request_page_marks_the_request_title_and_purpose_as_english(client, make_request):
    req = make_request("submitted")

    content = page(client, in_somali("ordinances:request_detail", req.reference))

    assert '<h1><span lang="en">Drone for search and rescue</span>' in content
    assert '<p lang="en">Find missing people in the river gorge.</p>' in content


def test_the_english_request_page_does_not_mark_english_text_again(client, make_request):
    req = make_request("approved_with_conditions")

    content = page(client, req.get_absolute_url())

    # Only the page's own <html lang> and the language switcher's English button.
    assert elements_marked(content, "en") == ["html", "button"]


def test_a_spanish_request_on_the_english_page_carries_lang_es(client, make_request):
    req = make_request("submitted", language="es", title="Dron de búsqueda", purpose="Buscar personas.")

    content = page(client, req.get_absolute_url())

    assert '<h1><span lang="es">Dron de búsqueda</span>' in content
    assert '<p lang="es">Buscar personas.</p>' in content


def test_a_decision_takes_the_language_of_its_request(make_request):
    req = make_request("approved_with_conditions", language="es")

    assert req.decision.language == "es"


def test_the_conditions_of_a_spanish_request_carry_lang_es_on_the_english_page(client, make_request):
    req = make_request("approved_with_conditions", language="es")

    content = page(client, req.get_absolute_url())

    assert '<td data-label="Condition" lang="es">Publish an annual report</td>' in content


def test_a_timeline_note_on_the_somali_page_is_marked_as_the_requests_language(client, make_request):
    req = make_request("withdrawn")

    content = page(client, in_somali("ordinances:request_detail", req.reference))

    assert '<p class="timeline__note" lang="en">No longer needed.</p>' in content


def test_the_somali_request_list_marks_titles_agencies_and_technologies(client, make_request):
    make_request("submitted")

    content = page(client, in_somali("ordinances:request_list"))

    assert '<span lang="en">Drone for search and rescue</span>' in content
    assert 'lang="en">Agency A Police</a>' in content
    assert 'lang="en">Test drone</a>' in content


def test_the_somali_agency_page_marks_its_name_and_description(client, agency_a):
    agency_a.description = "The city's police."
    agency_a.save()

    content = page(client, in_somali("ordinances:agency_detail", agency_a.slug))

    assert '<h1><span lang="en">Agency A Police</span>' in content
    assert '<p class="usa-intro" lang="en">The city&#x27;s police.</p>' in content


def test_the_somali_ordinance_page_marks_its_summary(client, ordinance):
    content = page(client, in_somali("ordinances:ordinance_detail", ordinance.slug))

    assert '<div class="usa-prose" lang="en"><p>A test ordinance.</p></div>' in content


def test_a_somali_search_result_marks_the_records_title_and_snippet(client, make_request):
    make_request("submitted")

    content = page(client, in_somali("ordinances:search") + "?q=gorge")

    assert 'lang="en">Drone for search and rescue</a>' in content
    assert '<p class="usa-collection__description" lang="en">' in content


# ---------------------------------------------------------------------------
# The review workspace
# ---------------------------------------------------------------------------


def test_the_admin_saves_an_agencys_language(client, clerk, agency_a):
    client.force_login(clerk)
    data = {"name": agency_a.name, "slug": agency_a.slug, "kind": agency_a.kind, "covered": "on"}

    response = client.post(
        reverse("admin:ordinances_agency_change", args=[agency_a.pk]), {**data, "language": "es"}
    )

    assert response.status_code == 302
    agency_a.refresh_from_db()
    assert agency_a.language == "es"


def test_a_liaisons_draft_saves_its_language_from_the_admin_add_form(
    client, liaison_a, agency_a, drone, ordinance
):
    client.force_login(liaison_a)
    data = {
        "kind": Request.Kind.APPROVAL,
        "agency": agency_a.pk,
        "technology": drone.pk,
        "ordinance": ordinance.pk,
        "title": "Dron para puentes",
        "purpose": "Inspeccionar puentes.",
        "language": "es",
    }

    response = client.post(reverse("admin:ordinances_request_add"), data)

    assert response.status_code == 302
    assert Request.objects.get(title="Dron para puentes").language == "es"


def test_the_agency_changes_its_drafts_language_through_the_workflow(make_request, liaison_a):
    draft = make_request("draft")

    workflow.update_draft(draft, by=liaison_a, fields={"language": "so"})

    draft.refresh_from_db()
    assert draft.language == "so"
    assert draft.events.last().data == {"fields": ["language"]}


# ---------------------------------------------------------------------------
# Downloads and feeds
# ---------------------------------------------------------------------------


def test_the_requests_download_includes_the_language_code_and_its_name(client, make_request):
    make_request("submitted", language="es")

    response = client.get(reverse("ordinances:download", kwargs={"dataset": "requests", "fmt": "csv"}))
    (row,) = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))

    assert (row["language"], row["language_label"]) == ("es", "Spanish")


@pytest.mark.parametrize("dataset", ["ordinances", "agencies", "technologies", "requests"])
def test_every_dataset_has_a_language_column_listing_the_portals_languages(dataset):
    from ordinances.downloads import DATASETS

    column = next(c for c in DATASETS[dataset].columns if c.name == "language")

    assert [code for code, _label in column.choices] == [code for code, _name in settings.LANGUAGES]


def test_the_agencies_json_download_gives_each_agencys_language(client, agency_a):
    response = client.get(reverse("ordinances:download", kwargs={"dataset": "agencies", "fmt": "json"}))

    (row,) = json.loads(b"".join(response.streaming_content))
    assert row["language"] == "en"


def test_the_somali_request_feed_marks_an_english_entry_title_with_xml_lang(client, make_request):
    make_request("submitted")

    feed = ET.fromstring(client.get(in_somali("ordinances:request_feed")).content)
    title = feed.find(f"{ATOM}entry/{ATOM}title")

    assert title is not None and title.get(XML_LANG) == "en"


def test_the_english_request_feed_leaves_english_entry_titles_unmarked(client, make_request):
    make_request("submitted")

    feed = ET.fromstring(client.get(reverse("ordinances:request_feed")).content)
    title = feed.find(f"{ATOM}entry/{ATOM}title")

    assert title is not None and title.get(XML_LANG) is None


def test_the_somali_request_feed_marks_the_agency_name_in_an_entrys_summary(client, make_request):
    make_request("submitted")

    feed = ET.fromstring(client.get(in_somali("ordinances:request_feed")).content)
    summary = feed.find(f"{ATOM}entry/{ATOM}summary")

    assert summary is not None and '<span lang="en">Agency A Police</span>' in (summary.text or "")


# ---------------------------------------------------------------------------
# Process files
# ---------------------------------------------------------------------------


def minimal_law(**ordinance: object) -> dict:
    return {
        "format_version": 1,
        "ordinance": {
            "file_number": "LANG-1",
            "slug": "lang-1",
            "title": "Ordenanza",
            "jurisdiction": "Testville",
            "status": "adopted",
            "summary": "Un resumen.",
            **ordinance,
        },
        "rules": [{"category": "drones", "rule": "approval_required"}],
        "steps": [{"kind": "publication"}],
    }


def test_a_process_file_without_a_language_loads_an_english_ordinance():
    ordinance, _created, _changes = process.load(minimal_law())

    assert ordinance.language == "en"


def test_a_process_file_sets_the_ordinances_language_and_dumps_it_back():
    ordinance, _created, _changes = process.load(minimal_law(language="es"))

    assert Ordinance.objects.get(pk=ordinance.pk).language == "es"
    assert process.snapshot(ordinance)["ordinance"]["language"] == "es"


def test_a_process_file_with_a_language_the_portal_lacks_is_refused_naming_the_field():
    errors = process.validate(minimal_law(language="fr"))

    assert errors and errors[0].startswith("ordinance.language:")


def test_the_schemas_languages_are_the_portals_languages():
    enum = process.schema()["$defs"]["ordinance"]["properties"]["language"]["enum"]

    assert enum == [code for code, _name in settings.LANGUAGES]
