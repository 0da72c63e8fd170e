"""
Language access: English at the root, Spanish, Somali and Hmong under their prefixes, every
string translated, dates written the way each language writes them.

The catalogs are compiled by `make test` (see the Makefile's `%.mo` rule).
"""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import translation

from ordinances.models import Request

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ["es", "so", "hmn"]
SOURCES = ["manage.py", "portal", "ordinances", "templates", "locale"]


def statistics(po: Path) -> str:
    """msgfmt's own count of translated, fuzzy and untranslated messages in a catalog."""
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr.strip()


@pytest.fixture(scope="module")
def fresh_catalogs(tmp_path_factory) -> Path:
    """The catalogs as `makemessages` would leave them now, made in a copy of the sources."""
    copy = tmp_path_factory.mktemp("messages")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy(source, copy / name)
    command = [
        sys.executable,
        "manage.py",
        "makemessages",
        "--no-obsolete",
        *(f"-l{code}" for code in LANGUAGES),
    ]
    subprocess.run(command, cwd=copy, check=True, capture_output=True)
    return copy / "locale"


@pytest.mark.parametrize("code", LANGUAGES)
def test_makemessages_finds_no_untranslated_string(fresh_catalogs, code):
    counts = statistics(fresh_catalogs / code / "LC_MESSAGES" / "django.po")

    assert "untranslated" not in counts
    assert "fuzzy" not in counts


@pytest.mark.parametrize("code", LANGUAGES)
def test_committed_catalog_compiles_with_its_placeholders_intact(code):
    counts = statistics(ROOT / "locale" / code / "LC_MESSAGES" / "django.po")

    assert re.search(r"^\d+ translated messages?\.$", counts, re.MULTILINE)


@pytest.mark.parametrize(("code", "plural_forms"), [("so", "nplurals=2;"), ("hmn", "nplurals=1;")])
def test_languages_django_lacks_declare_their_plural_rules(code, plural_forms):
    header = (ROOT / "locale" / code / "LC_MESSAGES" / "django.po").read_text()

    assert f'"Plural-Forms: {plural_forms}' in header


@pytest.mark.parametrize("code", LANGUAGES)
def test_status_values_are_shown_in_the_language_of_the_prefix(client, make_request, code):
    make_request(to="approved")
    with translation.override(code):
        label = str(Request.Status.APPROVED.label)

    response = client.get(f"/{code}/requests/")

    assert label != "Approved"
    assert label in response.content.decode()


@pytest.mark.parametrize("code", ["en", *LANGUAGES])
def test_page_declares_its_language(client, db, code):
    prefix = "" if code == "en" else f"/{code}"

    response = client.get(f"{prefix}/")

    assert f'<html lang="{code}"' in response.content.decode()


def render_when(value: datetime.date | datetime.datetime, code: str) -> str:
    with translation.override(code):
        return Template("{% load portal %}{{ value|when }}").render(Context({"value": value}))


def test_english_dates_read_day_month_year():
    assert (
        render_when(datetime.date(2021, 2, 12), "en") == '<time datetime="2021-02-12">12 February 2021</time>'
    )


def test_english_times_read_with_a_twelve_hour_clock():
    moment = datetime.datetime(2021, 2, 12, 18, 0, tzinfo=ZoneInfo("America/Chicago"))

    assert ">12 February 2021, 6:00 p.m.</time>" in render_when(moment, "en")


def test_spanish_dates_use_spanish_month_names():
    assert ">12 de febrero de 2021</time>" in render_when(datetime.date(2021, 2, 12), "es")


@pytest.mark.parametrize("code", ["so", "hmn"])
def test_somali_and_hmong_dates_name_the_month_in_their_language(code):
    with translation.override(code):
        february = translation.gettext("February")

    assert february != "February"
    assert f">12 {february} 2021</time>" in render_when(datetime.date(2021, 2, 12), code)


@pytest.mark.parametrize("code", LANGUAGES)
def test_translated_pages_say_their_translation_awaits_review(client, db, code):
    with translation.override(code):
        note = translation.gettext(
            "The translations on this site await review by the city's translators. "
            "Where they differ, the English text is the reference."
        )

    page = client.get(f"/{code}/").content.decode()

    assert 'class="portal-translation-note"' in page
    assert note in page or note.replace("'", "&#x27;") in page


def test_english_pages_carry_no_translation_note(client, db):
    assert "portal-translation-note" not in client.get("/").content.decode()
