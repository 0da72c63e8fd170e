"""
Open Civic Data identifiers for the city, its deciding bodies, its ordinances and its votes,
so other civic-data tools (Open States, Councilmatic, anything built on pupa) can join our
records to theirs.

The formats, from the references:

- **Division**: `ocd-division/country:<iso code>(/<type>:<type_id>)*`, matched by
  `DIVISION_ID_REGEX` in python-opencivicdata's `opencivicdata/common.py`, with type_id's
  characters set by OCDEP 2 ("Identifier Scheme": lowercase letters, digits, `.`, `-`, `_`,
  `~`; spaces to `_`; https://open-civic-data.readthedocs.io/en/latest/proposals/0002.html).
  Minneapolis is `ocd-division/country:us/state:mn/place:minneapolis`, the `division_id` of
  the Minneapolis pupa scraper (GovHawkDC/scrapers-us-municipal, `minneapolis/__init__.py`)
  and the form the OCD docs show for Cleveland (`.../state:oh/place:cleveland`). The city's comes from
  `settings.PORTAL_OCD_DIVISION` (derived from PORTAL_STATE and PORTAL_CITY unless set).
- **Organization, bill, vote**: `ocd-<type>/<uuid>`, matched by
  `^ocd-<type>/[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$` (`OCDIDField` in
  python-opencivicdata's `opencivicdata/core/models/base.py`; its `VoteEvent` uses the type
  `vote`, its `Bill` the type `bill`).

How ours are made: upstream mints these UUIDs at random (uuid4 in python-opencivicdata; the
OCD identifier docs, https://open-civic-data.readthedocs.io/en/latest/ocdids.html, say anyone
may issue person and organization ids, as UUID1). We need the same id every time
a page, a download or the API names a record, on every server, without storing it, so ours
are UUID5s (name-based, SHA-1, RFC 4122): the namespace is the UUID5 of the division id
under the URL namespace, and the name is `<type>:<key>`, where the key is

- for an organization: the body's name with its spaces collapsed, case-folded
  ("City Council" and "city  council" are one body);
- for a bill: the ordinance's file number (e.g. `2020-00681`);
- for a vote: the reference of the request the decision answered (e.g. `REQ-2026-0007`;
  a request has at most one decision).

They have the shape every OCD consumer checks; the UUID version (5, not 1 or 4) is ours.
Changing PORTAL_OCD_DIVISION, a file number or a body's name changes the id: they are
derived, never stored. These ids are not registered anywhere: only divisions and
jurisdictions need the OCD community's consensus, and we issue neither.
"""

from __future__ import annotations

import functools
import re
import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from ordinances.models import Decision, Ordinance

# python-opencivicdata, opencivicdata/common.py.
DIVISION_ID_REGEX = re.compile(r"^ocd-division/country:[a-z]{2}(/[^\W\d]+:[\w.~-]+)*$")


def uuid_id_regex(ocd_type: str) -> re.Pattern[str]:
    """The pattern of a UUID-based id of `ocd_type` (python-opencivicdata's `OCDIDField`)."""
    return re.compile(rf"^ocd-{re.escape(ocd_type)}/[0-9a-f]{{8}}-([0-9a-f]{{4}}-){{3}}[0-9a-f]{{12}}$")


def division_id() -> str:
    """The city's division, e.g. `ocd-division/country:us/state:mn/place:minneapolis`."""
    value = settings.PORTAL_OCD_DIVISION
    if not DIVISION_ID_REGEX.match(value):
        raise ImproperlyConfigured(
            f"PORTAL_OCD_DIVISION must look like ocd-division/country:us/state:mn/place:minneapolis; got {value!r}"
        )
    return value


@functools.lru_cache(maxsize=8)
def _namespace(division: str) -> uuid.UUID:
    """The namespace of a division's ids, worked out once per division (a list names dozens)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, division)


def _make(ocd_type: str, key: str) -> str:
    namespace = _namespace(division_id())
    return f"ocd-{ocd_type}/{uuid.uuid5(namespace, f'{ocd_type}:{key}')}"


def organization_id(body_name: str) -> str:
    """A deciding or advisory body of the city, by its name (e.g. "City Council")."""
    name = " ".join(body_name.split()).casefold()
    if not name:
        raise ValueError("An organization id needs the body's name.")
    return _make("organization", name)


def bill_id(ordinance: Ordinance) -> str:
    """An ordinance, by its file number."""
    return _make("bill", ordinance.file_number.strip().casefold())


def vote_id(decision: Decision) -> str | None:
    """
    The council's vote on a request, by the request's reference; None when the decision was
    made without a vote (a published policy under a disclosure-only law).
    """
    if not decision.has_vote:
        return None
    return _make("vote", decision.request.reference.casefold())
