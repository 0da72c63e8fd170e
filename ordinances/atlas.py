"""
The inventory in the EFF Atlas of Surveillance's CSV layout, both ways: the export at
`/data/atlas.csv` and the import `manage.py import_atlas`. The column list lives here once.

The Atlas layout
----------------
The Atlas publishes one CSV (https://atlasofsurveillance.org/download.csv), one row per
agency and technology. Its 28 columns, in order, are `ATLAS_COLUMNS`, as found in public
code that reads that file: an ingest script whose header check lists all 28 and names the
2026-05-04 snapshot (an "Argus" eff_atlas source worker; our search tool did not name its
repository), and hackmad003/cs418-flock-research `scripts/fetch_atlas.py`, which refuses a
download not starting with `"AOSNUMBER"`. Technology names are the Atlas's own vocabulary
(`ATLAS_TECHNOLOGIES`): the Atlas glossary (https://atlasofsurveillance.org/glossary), an R
script reading `Atlas of Surveillance-20240321.csv` (repository not named either), and EFF's
post "The Atlas of Surveillance Removes Ring, Adds Third-Party Investigative Platforms"
(https://www.eff.org/deeplinks/2024/03/atlas-surveillance-removes-ring-adds-third-party-investigative-platforms).

What the references leave unclear, and what we do about it:

- Dates: the one Atlas row we saw writes `12/27/2012` (a test fixture, not the live file).
  We write ISO dates (YYYY-MM-DD) and read both.
- "Link N Type", "TECH ABV", "AOSNUMBER", "NEWAOSNUMBER (ORI9)": we found no list of their
  values. We leave them empty and ignore them on import (an AOS number is the Atlas's to give).
- "Other Links": we found no example. We write the addresses separated by spaces and read
  any whitespace-separated addresses.
- "Type of LEA" / "Type of Juris": the Atlas writes "Police", "Sheriff" and "Municipal",
  "County"; our other agency kinds have no Atlas value we know of, so we write our own
  English label; an agency whose jurisdiction we cannot tell gets none.

Our own columns follow the Atlas's, lower-case (`PORTAL_COLUMNS`): what the portal knows
and the Atlas does not (the status board's code, the rule and ordinance that decide it,
the approvals in effect and the requests pending), and our short names, which let our own
export re-import to the same records.

Which rows: the inventory (`TechnologyUse`), each with its status-board entry. An Atlas row
says an agency uses a technology, so board rows made only by a prohibition or by a request
are left out. Demo rows are included and marked (`is_demo`), as in every other download.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import DatabaseError, transaction
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import translation
from django.utils.text import slugify
from django.views.decorators.http import require_safe

from ordinances import board, ocd
from ordinances.board import BoardEntry, StatusCode
from ordinances.downloads import FORMULA_TRIGGERS, _Echo, batched, csv_cell
from ordinances.models import Agency, Category, Source, Technology, TechnologyUse

# ---------------------------------------------------------------------------
# Columns
# ---------------------------------------------------------------------------

LINK_SLOTS = (1, 2, 3)


def link_columns(slot: int) -> tuple[str, str, str, str, str]:
    """Address, archived snapshot, publisher, kind of source, date: one Atlas link."""
    return (
        f"Link {slot}",
        f"Link {slot} Snapshot",
        f"Link {slot} Source",
        f"Link {slot} Type",
        f"Link {slot} Date",
    )


ATLAS_COLUMNS: tuple[str, ...] = (
    "AOSNUMBER",
    "NEWAOSNUMBER (ORI9)",
    "City",
    "County",
    "State",
    "Agency",
    "Type of LEA",
    "Summary",
    "Type of Juris",
    "Technology",
    "TECH ABV",
    "Vendor",
    *(name for slot in LINK_SLOTS for name in link_columns(slot)),
    "Other Links",
)

PORTAL_COLUMNS: tuple[str, ...] = (
    "agency_slug",  # the agency's short name here (agencies dataset)
    "technology_slug",  # the technology's short name here (technologies dataset)
    "technology_name",  # the technology's name here (the Atlas column holds its kind)
    "category",  # our category code
    "status",  # the status board's code (ordinances.board.StatusCode)
    "rule",  # the governing rule's code; empty when the agency is not covered or no rule speaks
    "ordinance",  # the file number of the ordinance that rule belongs to
    "ocd_bill",  # that ordinance's Open Civic Data id (ordinances.ocd.bill_id)
    "active_approvals",  # how many approvals (or published policies) are in effect today
    "active_references",  # their request references, space separated
    "approved_until",  # the day the longest of them ends; empty when none ends or none is in effect
    "pending_requests",  # how many requests await the council
    "pending_references",  # their references, space separated
    "is_demo",  # true for a fictional row
)

COLUMNS: tuple[str, ...] = ATLAS_COLUMNS + PORTAL_COLUMNS

# A file without these is not an Atlas CSV: it is refused whole. The link columns and the
# rest are read when present.
REQUIRED_COLUMNS: tuple[str, ...] = ("City", "State", "Agency", "Technology", "Vendor", "Summary")

# ---------------------------------------------------------------------------
# The Atlas's words and ours
# ---------------------------------------------------------------------------

# The Atlas's technology names, each with the category it matches. Where the Atlas has a
# name for a category, the export writes it; the import reads it in any letter case.
ATLAS_TECHNOLOGIES: dict[str, Category] = {
    "Automated License Plate Readers": Category.LICENSE_PLATE_READERS,
    "Body-worn Cameras": Category.BODY_WORN_CAMERAS,
    "Camera Registry": Category.CAMERA_REGISTRY,
    "Cell-site Simulator": Category.CELL_SITE_SIMULATORS,
    "Drones": Category.DRONES,
    "Face Recognition": Category.FACIAL_RECOGNITION,
    "Gunshot Detection": Category.GUNSHOT_DETECTION,
    "Predictive Policing": Category.PREDICTIVE_POLICING,
    "Real-Time Crime Center": Category.REAL_TIME_CRIME_CENTER,
    "Video Analytics/Computer Vision": Category.VIDEO_ANALYTICS,
}
# Other spellings seen in copies of the data.
ATLAS_TECHNOLOGY_ALIASES: dict[str, Category] = {
    "Video Analytics": Category.VIDEO_ANALYTICS,
    "Video Analysis": Category.VIDEO_ANALYTICS,
}
# Atlas technologies no category of ours matches: imported as "other" under their own name.
ATLAS_TECHNOLOGIES_WITHOUT_CATEGORY = (
    "Fusion Center",
    "Third-party Investigative Platforms",
    "Ring/Neighbors Partnership",
)

ATLAS_LEA_TYPES = {Agency.Kind.POLICE: "Police", Agency.Kind.SHERIFF: "Sheriff"}
MUNICIPAL, COUNTY = "Municipal", "County"

# The fifty states, the District of Columbia and the territories, by postal code.
US_STATES = frozenset(
    {
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "AS",
        "GU",
        "MP",
        "PR",
        "VI",
    }
)

DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _english(label: object) -> str:
    with translation.override("en"):
        return str(label)


def atlas_technology(technology: Technology) -> str:
    """The Atlas's name for a technology's kind; our English category label where the Atlas has none."""
    for name, category in ATLAS_TECHNOLOGIES.items():
        if category == technology.category:
            return name
    if technology.category == Category.OTHER:
        return technology.name
    return _english(Category(technology.category).label)


def category_of(atlas_name: str) -> str:
    """Our category for an Atlas technology name (or one of our category labels); "other" when none matches."""
    names: dict[str, str] = {
        _key(name): category for name, category in {**ATLAS_TECHNOLOGIES, **ATLAS_TECHNOLOGY_ALIASES}.items()
    }
    names.update({_key(_english(label)): value for value, label in Category.choices})
    return names.get(_key(atlas_name), Category.OTHER)


def lea_type(agency: Agency) -> str:
    return ATLAS_LEA_TYPES.get(Agency.Kind(agency.kind)) or _english(Agency.Kind(agency.kind).label)


def kind_of(lea: str) -> str:
    kinds = {_key(_english(label)): value for value, label in Agency.Kind.choices}
    kinds.update({_key(name): kind for kind, name in ATLAS_LEA_TYPES.items()})
    return kinds.get(_key(lea), Agency.Kind.OTHER)


def juris_type(agency: Agency) -> str:
    """The Atlas's "Type of Juris": a sheriff is the county's; a covered agency is the city's."""
    if agency.kind == Agency.Kind.SHERIFF:
        return COUNTY
    return MUNICIPAL if agency.covered else ""


def county_name() -> str:
    """The county as the Atlas writes it, e.g. "Hennepin County"."""
    county = settings.PORTAL_COUNTY
    if not county or county.lower().endswith((" county", " parish", " borough")):
        return county
    return f"{county} County"


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------


def _source_order(source: Source) -> tuple[bool, datetime.date, str]:
    # Oldest first, undated last: the order survives a round trip through the file.
    return (source.published_on is None, source.published_on or datetime.date.min, source.url)


def record(entry: BoardEntry) -> dict[str, object]:
    """One inventory row and its board entry as the export's values, by column."""
    use = entry.use
    assert use is not None
    agency, technology = entry.agency, entry.technology
    sources = sorted(use.sources.all(), key=_source_order)
    governs = entry.rule is not None and entry.code != StatusCode.NOT_COVERED
    ordinance = entry.rule.ordinance if governs and entry.rule is not None else None
    values: dict[str, object] = dict.fromkeys(COLUMNS, "")
    values.update(
        {
            "City": settings.PORTAL_CITY,
            "County": county_name(),
            "State": settings.PORTAL_STATE,
            "Agency": agency.name,
            "Type of LEA": lea_type(agency),
            "Summary": use.notes,
            "Type of Juris": juris_type(agency),
            "Technology": atlas_technology(technology),
            "Vendor": use.vendor_product,
            "Other Links": " ".join(source.url for source in sources[len(LINK_SLOTS) :]),
            "agency_slug": agency.slug,
            "technology_slug": technology.slug,
            "technology_name": technology.name,
            "category": technology.category,
            "status": entry.code.value,
            "rule": entry.rule.rule if governs and entry.rule is not None else "",
            "ordinance": ordinance.file_number if ordinance else "",
            "ocd_bill": ocd.bill_id(ordinance) if ordinance else "",
            "active_approvals": entry.active_count,
            "active_references": " ".join(r.reference for r in entry.active),
            "approved_until": entry.until,
            "pending_requests": entry.pending_count,
            "pending_references": " ".join(r.reference for r in entry.pending),
            "is_demo": entry.is_demo,
        }
    )
    for slot, source in zip(LINK_SLOTS, sources, strict=False):
        address, snapshot, publisher, _kind, date = link_columns(slot)
        values.update(
            {
                address: source.url,
                snapshot: source.archived_url,
                publisher: source.publisher,
                date: source.published_on,
            }
        )
    return values


def entries(today: datetime.date | None = None) -> list[BoardEntry]:
    """Every inventory row with its board entry, by agency and technology name. Five queries."""
    uses = (
        TechnologyUse.objects.select_related("agency", "technology")
        .prefetch_related("sources")
        .order_by("agency__name", "technology__name", "pk")
    )
    return board.for_inventory(uses, today)


def csv_lines(today: datetime.date | None = None) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for entry in entries(today):
        yield writer.writerow([csv_cell(value) for value in record(entry).values()])


@require_safe
def atlas_csv(request: HttpRequest) -> StreamingHttpResponse:
    """
    The inventory in the Atlas of Surveillance's column layout, then our own columns. The
    same file in every language: the Atlas's headers and our codes are data, not words.
    """
    response = StreamingHttpResponse(batched(csv_lines()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="atlas.csv"'
    return response


# ---------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------


class Refused(Exception):
    """A row the import will not write, and why (words for the operator, in English)."""


@dataclass(frozen=True)
class Link:
    url: str
    archived_url: str = ""
    publisher: str = ""
    published_on: datetime.date | None = None


@dataclass(frozen=True)
class Row:
    """One Atlas row, checked: everything the import writes, nothing it has yet looked up."""

    agency: str
    lea: str
    juris: str
    technology: str
    vendor: str
    summary: str
    links: tuple[Link, ...]
    agency_slug: str = ""
    technology_slug: str = ""
    is_demo: bool = False

    @property
    def pair(self) -> tuple[str, str]:
        """What makes two rows the same inventory row."""
        return (self.agency_slug or slugify(self.agency), self.technology_slug or _key(self.technology))


def missing_columns(header: Iterable[str]) -> list[str]:
    present = {name.strip() for name in header}
    return [name for name in REQUIRED_COLUMNS if name not in present]


def _cell(raw: dict[str | None, object], name: str) -> str:
    value = raw.get(name)
    text = value.strip() if isinstance(value, str) else ""
    # Undo the export's guard against spreadsheet formulas ('=..., '-...).
    if text.startswith("'") and text[1:2] and text[1:].startswith(FORMULA_TRIGGERS):
        text = text[1:]
    return text


def _date(value: str, column: str) -> datetime.date | None:
    if not value:
        return None
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise Refused(f"malformed date in {column}: {value!r} (expected YYYY-MM-DD or M/D/YYYY)")


_url = URLValidator(schemes=["http", "https"])
URL_LIMIT = 500  # Source.url and Source.archived_url


def _address(value: str, column: str) -> str:
    try:
        _url(value)
    except ValidationError:
        raise Refused(f"malformed link in {column}: {value!r}") from None
    if len(value) > URL_LIMIT:
        raise Refused(f"link in {column} longer than {URL_LIMIT} characters")
    return value


def _limited(value: str, column: str, limit: int) -> str:
    if len(value) > limit:
        raise Refused(f"{column} longer than {limit} characters")
    return value


def parse(raw: dict[str | None, object], *, state: str) -> Row:
    """Check one row of a csv.DictReader (its city already matched); raises Refused."""
    if None in raw:
        raise Refused("more cells than the header has columns")
    if any(value is None for value in raw.values()):
        raise Refused("fewer cells than the header has columns")
    row_state = _cell(raw, "State").upper()
    if row_state not in US_STATES:
        raise Refused(f"unknown state {row_state!r}" if row_state else "missing state")
    if row_state != state:
        raise Refused(f"in {row_state}, not {state}: another place of the same name")
    agency = _limited(_cell(raw, "Agency"), "Agency", 200)
    if not agency:
        raise Refused("missing agency")
    if not slugify(agency):
        raise Refused(f"agency name {agency!r} has no letters or digits")
    technology = _limited(_cell(raw, "Technology"), "Technology", 200)
    if not technology:
        raise Refused("missing technology")
    if not slugify(technology):
        raise Refused(f"technology name {technology!r} has no letters or digits")
    links = []
    for slot in LINK_SLOTS:
        address, snapshot, publisher, _kind, date = link_columns(slot)
        url = _cell(raw, address)
        if not url:
            continue
        archived = _cell(raw, snapshot)
        links.append(
            Link(
                url=_address(url, address),
                archived_url=_address(archived, snapshot) if archived else "",
                publisher=_limited(_cell(raw, publisher), publisher, 200),
                published_on=_date(_cell(raw, date), date),
            )
        )
    for url in _cell(raw, "Other Links").split():
        links.append(Link(url=_address(url.rstrip(",;"), "Other Links")))
    return Row(
        agency=agency,
        lea=_cell(raw, "Type of LEA"),
        juris=_cell(raw, "Type of Juris"),
        technology=technology,
        vendor=_limited(_cell(raw, "Vendor"), "Vendor", 200),
        summary=_cell(raw, "Summary"),
        links=tuple(links),
        agency_slug=_cell(raw, "agency_slug"),
        technology_slug=_cell(raw, "technology_slug"),
        is_demo=_cell(raw, "is_demo").lower() == "true",
    )


@dataclass
class Created:
    """The records one row created beside its inventory row."""

    agencies: int = 0
    technologies: int = 0
    sources: int = 0


@dataclass
class Report:
    """What an import did: rows by outcome, refusals by row number, records it created."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    other_places: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)
    new: Created = field(default_factory=Created)

    def add(self, created: Created) -> None:
        self.new.agencies += created.agencies
        self.new.technologies += created.technologies
        self.new.sources += created.sources


def _agency(row: Row, created: Created) -> Agency:
    """By our short name if the row has one, else by the slug of its name, else by its name."""
    found = (
        (Agency.objects.filter(slug=row.agency_slug).first() if row.agency_slug else None)
        or Agency.objects.filter(slug=slugify(row.agency)[:80]).first()
        or Agency.objects.filter(name__iexact=row.agency).first()
    )
    if found is not None:
        return found
    created.agencies += 1
    return Agency.objects.create(
        name=row.agency,
        slug=slugify(row.agency)[:80],
        kind=kind_of(row.lea),
        covered=_key(row.juris) == _key(MUNICIPAL),
        is_demo=row.is_demo,
    )


def _technology(row: Row, created: Created) -> Technology:
    """By our short name if the row has one, else by its Atlas name, else by that name's slug."""
    found = (
        (Technology.objects.filter(slug=row.technology_slug).first() if row.technology_slug else None)
        or Technology.objects.filter(name__iexact=row.technology).first()
        or Technology.objects.filter(slug=slugify(row.technology)[:80]).first()
    )
    if found is not None:
        return found
    created.technologies += 1
    return Technology.objects.create(
        name=row.technology,
        slug=slugify(row.technology)[:80],
        category=category_of(row.technology),
        description="",
        is_demo=row.is_demo,
    )


def _source(link: Link, created: Created) -> tuple[Source, bool]:
    """
    The source at the link's address, created if new. An existing source keeps what it
    says (ordinances may cite it too): the link only fills its blanks. Returns whether
    anything was written.
    """
    source = Source.objects.filter(url=link.url).first()
    if source is None:
        created.sources += 1
        source = Source.objects.create(
            url=link.url,
            title=link.url,
            publisher=link.publisher,
            published_on=link.published_on,
            archived_url=link.archived_url,
        )
        return source, True
    blanks = {
        name: value
        for name, value in (
            ("publisher", link.publisher),
            ("published_on", link.published_on),
            ("archived_url", link.archived_url),
        )
        if value and not getattr(source, name)
    }
    for name, value in blanks.items():
        setattr(source, name, value)
    if blanks:
        # `updated_at` named too: a save of some fields sets only the fields it names.
        source.save(update_fields=[*blanks, "updated_at"])
    return source, bool(blanks)


def write(row: Row, created: Created) -> str:
    """
    Create or update the inventory row for `row`, with its agency, technology and sources:
    "created", "updated" or "unchanged". The caller runs it in a transaction of its own.
    The row's vendor and summary replace ours when the row has them; an empty cell never
    blanks what we hold, and no link is ever removed.
    """
    agency = _agency(row, created)
    technology = _technology(row, created)
    use = TechnologyUse.objects.filter(agency=agency, technology=technology).first()
    outcome = "unchanged"
    if use is None:
        use = TechnologyUse.objects.create(
            agency=agency,
            technology=technology,
            vendor_product=row.vendor,
            notes=row.summary,
            is_demo=row.is_demo,
        )
        outcome = "created"
    else:
        changes = {
            name: value
            for name, value in (("vendor_product", row.vendor), ("notes", row.summary))
            if value and getattr(use, name) != value
        }
        for name, value in changes.items():
            setattr(use, name, value)
        if changes:
            use.save(update_fields=[*changes, "updated_at"])
            outcome = "updated"
    linked = set(use.sources.values_list("pk", flat=True))
    newly_linked = False
    for link in row.links:
        source, changed = _source(link, created)
        if source.pk not in linked:
            use.sources.add(source)
            linked.add(source.pk)
            changed = newly_linked = True
        if changed and outcome == "unchanged":
            outcome = "updated"
    if newly_linked:
        # A new link changes the row without saving it: its `updated_at` tells when it changed.
        use.save(update_fields=["updated_at"])
    return outcome


def run(rows: Iterable[dict[str | None, object]], *, city: str, state: str, dry_run: bool = False) -> Report:
    """
    Import the rows whose City is `city` (any letter case); others are counted, not read.
    Each row is checked, then written in a transaction of its own: a refused row writes
    nothing and the rows before and after it stand. Row numbers count the header as row 1,
    as a spreadsheet does. With `dry_run` all of it runs in one transaction rolled back at the end.
    """
    report = Report()
    seen: dict[tuple[str, str], int] = {}
    with transaction.atomic() if dry_run else contextlib.nullcontext():
        for number, raw in enumerate(rows, start=2):
            if _key(_cell(raw, "City")) != _key(city):
                report.other_places += 1
                continue
            created = Created()
            try:
                row = parse(raw, state=state)
                if row.pair in seen:
                    raise Refused(f"repeats row {seen[row.pair]} (the same agency and technology)")
                seen[row.pair] = number
                with transaction.atomic():
                    outcome = write(row, created)
            except Refused as refusal:
                report.refused.append((number, str(refusal)))
                continue
            except DatabaseError as error:
                report.refused.append((number, f"the database refused it: {error}"))
                continue
            setattr(report, outcome, getattr(report, outcome) + 1)
            report.add(created)
        if dry_run:
            transaction.set_rollback(True)
    return report
