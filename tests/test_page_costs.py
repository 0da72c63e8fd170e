"""
What every public page no longer pays for (issue 9): work that depends only on the code and
the language is done once per process, the freshness query is compiled (and, on PostgreSQL,
planned) once per connection, and rows link to records without reversing each URL. Each
test pins a saving and checks that the page still says the same.
"""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys
from unittest import mock

import pytest
from django import forms
from django.conf import settings
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse, translate_url
from django.utils import timezone, translation
from django.utils.http import parse_http_date

from ordinances import filters, freshness, models
from ordinances.models import Agency, Request
from ordinances.templatetags import uswds

pytestmark = pytest.mark.django_db

LANGUAGES = [code for code, _name in settings.LANGUAGES]


def test_a_list_reverses_no_url_per_row(client, make_request):
    for _ in range(3):
        make_request("submitted")
    client.get("/requests/")
    with mock.patch.object(models, "reverse", wraps=models.reverse) as reversed_urls:
        content = client.get("/requests/").content.decode()
    assert reversed_urls.call_count == 0
    for req in Request.objects.all():
        assert f'href="{reverse("ordinances:request_detail", args=[req.reference])}"' in content


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_record_links_where_reverse_would_in_every_language(make_request, language):
    req = make_request("submitted")
    with translation.override(language):
        assert req.get_absolute_url() == reverse("ordinances:request_detail", args=[req.reference])
        assert req.agency.get_absolute_url() == reverse("ordinances:agency_detail", args=[req.agency.slug])
        assert req.technology.get_absolute_url() == reverse(
            "ordinances:technology_detail", args=[req.technology.slug]
        )
        assert req.ordinance.get_absolute_url() == reverse(
            "ordinances:ordinance_detail", args=[req.ordinance.slug]
        )


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_choice_label_is_django_s_own_in_every_language(language):
    req = Request(status=Request.Status.IN_REVIEW, kind=Request.Kind.EXCEPTION)
    with translation.override(language):
        expected_status = str(dict(Request.Status.choices)[Request.Status.IN_REVIEW])
        assert req.get_status_display() == expected_status
        assert req.get_kind_display() == str(dict(Request.Kind.choices)[Request.Kind.EXCEPTION])
    assert Request(status="no_such_status").get_status_display() == "no_such_status"


def test_the_frame_of_a_page_is_rendered_once_per_language_and_section(client):
    uswds._render_chrome.cache_clear()
    first = client.get("/requests/")
    again = client.get("/requests/")
    elsewhere = client.get("/agencies/")
    rendered = [template.name for template in first.templates]
    assert "partials/site_nav.html" in rendered
    assert "partials/site_footer.html" in rendered
    assert "partials/site_nav.html" not in [template.name for template in again.templates]
    # Another section: its own navigation, the same footer.
    assert "partials/site_nav.html" in [template.name for template in elsewhere.templates]
    assert "partials/site_footer.html" not in [template.name for template in elsewhere.templates]
    assert 'href="/agencies/" aria-current="page"' in elsewhere.content.decode()
    assert 'href="/agencies/" aria-current' not in again.content.decode()


def test_the_frame_follows_the_language(client):
    client.get("/requests/")
    content = client.get("/es/requests/").content.decode()
    assert 'href="/es/requests/" aria-current="page"' in content
    assert 'value="es" lang="es" aria-current="true"' in content


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "path", ["/", "/requests/", "/how-it-works/", "/agencies/some-agency/", "/calendar.ics"]
)
def test_a_page_in_another_language_is_where_translate_url_says(rf, language, path):
    address = path if language == settings.LANGUAGE_CODE else f"/{language}{path}"
    with translation.override(language):
        request = rf.get(address)
        request.resolver_match = resolve(address)
        for code in LANGUAGES:
            assert uswds.path_in_language(request, code) == translate_url(address, code)


def test_a_page_names_its_translations_without_resolving_its_address_again(client):
    with (
        mock.patch("ordinances.templatetags.discovery.translate_url") as head_meta,
        mock.patch("ordinances.templatetags.uswds.translate_url") as switcher,
    ):
        content = client.get("/es/requests/?status=approved").content.decode()
    assert head_meta.call_count == switcher.call_count == 0
    assert (
        '<link rel="alternate" hreflang="en" href="http://testserver/requests/?status=approved">' in content
    )
    assert '<input type="hidden" name="next" value="/requests/?status=approved">' in content


def test_a_filter_form_renders_no_template_per_option(client):
    response = client.get("/requests/?status=approved")
    names = [template.name for template in response.templates]
    assert "django/forms/widgets/select_option.html" not in names
    assert '<option value="approved" selected>' in response.content.decode()


def normalized(html: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


@pytest.mark.parametrize(
    "widget",
    [
        forms.Select(choices=[("", "Any"), ("a", "A & B"), ("b", 'Say "b"')], attrs={"class": "usa-select"}),
        forms.Select(choices=[("Group", [("x", "X"), ("y", "Y")]), ("z", "Z")], attrs={"disabled": True}),
        forms.NullBooleanSelect(),
    ],
)
def test_a_select_is_the_html_django_writes(widget):
    attrs = {"id": "id_field", "aria-describedby": "hint"}
    django_html = widget.render("field", "a", attrs)
    ours = widget.render("field", "a", attrs, renderer=filters.FILTER_FORM_RENDERER)
    assert ours == filters.select_html(widget.get_context("field", "a", attrs)["widget"])
    assert normalized(ours) == normalized(django_html)


def test_the_freshness_query_is_compiled_once_and_run_as_one_query(make_request):
    freshness.latest()
    make_request("submitted")
    with (
        mock.patch.object(SQLCompiler, "as_sql", autospec=True, side_effect=SQLCompiler.as_sql) as compiled,
        CaptureQueriesContext(connection) as queries,
    ):
        changes = freshness.latest()
    assert compiled.call_count == 0
    assert len(queries.captured_queries) == 1
    assert changes.requests == Request.objects.public().latest("updated_at").updated_at


def test_last_modified_moves_with_a_change_after_the_query_was_prepared(client, make_request):
    make_request("submitted")
    client.get("/agencies/")
    later = (timezone.now() + datetime.timedelta(hours=2)).replace(microsecond=0)
    Agency.objects.update(updated_at=later)
    response = client.get("/agencies/")
    assert parse_http_date(response["Last-Modified"]) == int(later.timestamp())


@pytest.mark.skipif(
    not settings.DATABASES["default"].get("OPTIONS", {}).get("prepare_threshold"),
    reason="prepared statements are PostgreSQL's, off with DATABASE_PREPARED_STATEMENTS=0",
)
def test_a_query_a_connection_runs_again_and_again_is_planned_once_on_postgresql(client, make_request):
    make_request("submitted")
    # psycopg prepares a query once a connection has run it `prepare_threshold` times.
    for _ in range(settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"] + 2):
        assert client.get("/agencies/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        prepared = [statement for (statement,) in cursor.fetchall()]
    # The freshness query (every public answer) and the agency list's own page of rows.
    assert any("ordinances_ordinancechange" in statement for statement in prepared)
    assert any('FROM "ordinances_agency"' in statement for statement in prepared)


@pytest.mark.skipif(
    not settings.DATABASES["default"].get("OPTIONS", {}).get("prepare_threshold"),
    reason="prepared statements are PostgreSQL's, off with DATABASE_PREPARED_STATEMENTS=0",
)
def test_a_new_connection_keeps_as_many_prepared_statements_as_the_pages_run():
    from django.db import connections

    from ordinances.apps import PREPARED_MAX

    new = connections.create_connection("default")
    try:
        new.ensure_connection()
        assert new.connection.prepared_max == PREPARED_MAX
    finally:
        new.close()


@pytest.mark.parametrize(("value", "prepared"), [("", True), ("0", False), ("1", True)])
def test_prepared_statements_on_postgresql_follow_the_environment(value, prepared):
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://portal@db.example:5432/portal",
        "DATABASE_PREPARED_STATEMENTS": value,
    }
    code = "from portal import settings; print(settings.DATABASES['default']['OPTIONS'])"
    shown = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ("'server_side_binding': True" in shown) is prepared
    assert ("'prepare_threshold': 5" in shown) is prepared
