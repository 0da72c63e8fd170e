"""
Date and time formats per language (Django's FORMAT_MODULE_PATH).

Django translates month names and "a.m."/"p.m." from its own catalogs, which have no Somali
or Hmong. Naming them here puts them in our catalogs, so `makemessages` asks for them and
dates read "12 Febraayo 2021" in Somali rather than half in English.
"""

from django.utils.translation import gettext_noop

MONTH_NAMES = [
    gettext_noop("January"),
    gettext_noop("February"),
    gettext_noop("March"),
    gettext_noop("April"),
    gettext_noop("May"),
    gettext_noop("June"),
    gettext_noop("July"),
    gettext_noop("August"),
    gettext_noop("September"),
    gettext_noop("October"),
    gettext_noop("November"),
    gettext_noop("December"),
]
# Django's "M" format (SHORT_DATE_FORMAT) uses these.
MONTH_ABBREVIATIONS = [
    gettext_noop("jan"),
    gettext_noop("feb"),
    gettext_noop("mar"),
    gettext_noop("apr"),
    gettext_noop("may"),
    gettext_noop("jun"),
    gettext_noop("jul"),
    gettext_noop("aug"),
    gettext_noop("sep"),
    gettext_noop("oct"),
    gettext_noop("nov"),
    gettext_noop("dec"),
]
MERIDIEMS = [gettext_noop("a.m."), gettext_noop("p.m."), gettext_noop("AM"), gettext_noop("PM")]
