"""
The `when` filter keeps what it formatted by date, format and language
(`ordinances.templatetags.portal`): a page shows the same few dates many times. What it
gives back must still follow the reader's language and time zone.
"""

import datetime
import zoneinfo

from django.utils import timezone, translation

from ordinances.templatetags.portal import when

DAY = datetime.date(2021, 2, 12)
MOMENT = datetime.datetime(2021, 2, 12, 18, 0, tzinfo=datetime.UTC)


def test_a_date_is_shown_in_each_language_after_the_language_changes():
    with translation.override("en"):
        english = when(DAY)
    with translation.override("es"):
        spanish = when(DAY)
    with translation.override("en"):
        english_again = when(DAY)

    assert "February" in english
    assert "febrero" in spanish
    assert english_again == english


def test_a_date_in_another_format_is_not_the_cached_default_format():
    with translation.override("en"):
        long = when(DAY)
        short = when(DAY, "SHORT_DATE_FORMAT")

    assert ">12 February 2021<" in long
    assert ">12 Feb 2021<" in short


def test_a_moment_is_shown_in_the_time_zone_in_force_after_it_changes():
    with translation.override("en"):
        with timezone.override(zoneinfo.ZoneInfo("America/Chicago")):
            chicago = when(MOMENT)
        with timezone.override(zoneinfo.ZoneInfo("Asia/Tokyo")):
            tokyo = when(MOMENT)

    assert "12 February 2021, 12:00 p.m." in chicago
    assert 'datetime="2021-02-12T12:00:00-06:00"' in chicago
    assert "13 February 2021, 3:00 a.m." in tokyo


def test_a_date_and_midnight_of_that_day_are_told_apart():
    midnight = datetime.datetime(2021, 2, 12, 0, 0)
    with translation.override("en"):
        day = when(DAY)
        moment = when(midnight)

    assert day == '<time datetime="2021-02-12">12 February 2021</time>'
    assert moment == '<time datetime="2021-02-12T00:00:00">12 February 2021, 12:00 a.m.</time>'
