"""
`/data.json`: the catalog of everything the portal publishes, in DCAT-US 1.1 (the Project
Open Data Metadata Schema, https://resources.data.gov/resources/dcat-us/), which data.gov,
city data portals and harvesters (CKAN's ckanext-datajson, Socrata, ArcGIS Hub) read.

One dataset for each open-data list (`ordinances.downloads.DATASETS`, as CSV and JSON), the
Atom feeds, the calendar, the API and the Atlas of Surveillance export. Each names its
publisher (`PORTAL_PUBLISHER`), a contact (`PORTAL_CONTACT_NAME`, `PORTAL_CONTACT_EMAIL`),
its license (`PORTAL_DATA_LICENSE`) and when it last changed (`modified`, from the record:
`ordinances.freshness`). `bureauCode` and `programCode` are left out: DCAT-US requires them
of federal agencies only, and a city has none.

The catalog is in English at one address, like the API: a machine reads it, and its titles
are the English names of the lists. The tests validate it against the schema's own files
(tests/schemas/dcat-us-1.1/).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.models import Model
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_safe

from ordinances import downloads, freshness
from ordinances.freshness import Changes, newest
from ordinances.models import Agency, Ordinance, Source, Technology, TechnologyUse

SCHEMA = "https://project-open-data.cio.gov/v1.1/schema"
CONTEXT = "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld"
ATOM = "https://www.rfc-editor.org/rfc/rfc4287"
ICALENDAR = "https://www.rfc-editor.org/rfc/rfc5545"
OPENAPI = "https://spec.openapis.org/oas/v3.1.0"

# Words a harvester files every dataset under, then each dataset's own.
KEYWORDS = ("surveillance technology", "government oversight", "public records")
DATASET_KEYWORDS: dict[str, tuple[str, ...]] = {
    "ordinances": ("ordinances", "legislation", "city council"),
    "agencies": ("agencies", "city departments", "police"),
    "technologies": ("technologies", "facial recognition", "rules in force"),
    "requests": ("requests", "exceptions", "approvals", "public comment", "hearings", "decisions"),
}


Moment = Callable[[Changes], datetime.datetime | None]


def _changed(*models: type[Model], also: Moment | None = None) -> Moment:
    """When a dataset's rows last changed: the latest save (or admin deletion) of `models`, and `also`."""

    def moment(changes: Changes) -> datetime.datetime | None:
        return newest(changes.changed(*models), also(changes) if also else None)

    return moment


# When each list's rows last changed. Ordinances keep a change history; an agency's and a
# technology's pages list the inventory and its sources; a technology's rule in force comes
# from the ordinances; a request's columns name its agency and technology.
DATASET_MODIFIED: dict[str, Moment] = {
    "ordinances": _changed(Ordinance, also=lambda c: c.ordinances),
    "agencies": _changed(Agency, TechnologyUse, Source),
    "technologies": _changed(Technology, TechnologyUse, Source, also=lambda c: c.ordinances),
    "requests": _changed(Agency, Technology, also=lambda c: newest(c.requests, c.ordinances)),
}


def iso(moment: datetime.datetime) -> str:
    """A moment as DCAT-US writes it: ISO 8601 in UTC, to the second."""
    return moment.astimezone(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class _Builder:
    """Builds the catalog's entries for one request (absolute addresses need its host)."""

    def __init__(self, request: HttpRequest, changes: Changes) -> None:
        self.request = request
        self.changes = changes
        # A dataset none of whose sources has a moment (its tables are empty) changed at the
        # latest when the record last did; on an empty database, when it was set up.
        self.fallback = changes.record or changes.set_up or changes.now

    def url(self, name: str, **kwargs: Any) -> str:
        return self.request.build_absolute_uri(reverse(name, kwargs=kwargs or None))

    def dataset(
        self,
        *,
        title: str,
        description: str,
        keywords: tuple[str, ...],
        identifier: str,
        modified: datetime.datetime | None,
        distributions: list[dict[str, Any]],
        landing_page: str | None = None,
        described_by: str | None = None,
        described_by_type: str = "text/html",
        conforms_to: str | None = None,
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "@type": "dcat:Dataset",
            "title": title,
            "description": description,
            "keyword": [*keywords, *KEYWORDS, settings.PORTAL_CITY],
            "modified": iso(modified or self.fallback),
            "publisher": {"@type": "org:Organization", "name": settings.PORTAL_PUBLISHER},
            "contactPoint": {
                "@type": "vcard:Contact",
                "fn": settings.PORTAL_CONTACT_NAME,
                "hasEmail": f"mailto:{settings.PORTAL_CONTACT_EMAIL}",
            },
            "identifier": identifier,
            "accessLevel": "public",
            "license": settings.PORTAL_DATA_LICENSE,
        }
        if landing_page:
            entry["landingPage"] = landing_page
        if described_by:
            entry["describedBy"] = described_by
            entry["describedByType"] = described_by_type
        if conforms_to:
            entry["conformsTo"] = conforms_to
        entry["distribution"] = distributions
        return entry

    def download(self, url: str, media_type: str, fmt: str, title: str, **extra: str) -> dict[str, Any]:
        return {
            "@type": "dcat:Distribution",
            "downloadURL": url,
            "mediaType": media_type,
            "format": fmt,
            "title": title,
            **extra,
        }

    def lists(self) -> list[dict[str, Any]]:
        """Each open-data list as CSV and JSON, described column by column on /data/."""
        entries = []
        dictionary = self.url("ordinances:data_dictionary")
        for slug, spec in downloads.DATASETS.items():
            described_by = f"{dictionary}#dataset-{slug}"
            title = str(spec.title)
            entries.append(
                self.dataset(
                    title=title,
                    description=f"{spec.description} Every column is explained on the data dictionary.",
                    keywords=DATASET_KEYWORDS.get(slug, ()),
                    identifier=described_by,
                    modified=DATASET_MODIFIED[slug](self.changes),
                    landing_page=self.url(spec.list_url_name),
                    described_by=described_by,
                    distributions=[
                        self.download(
                            self.url("ordinances:download", dataset=slug, fmt="csv"),
                            "text/csv",
                            "CSV",
                            f"{title} (CSV)",
                            describedBy=described_by,
                            describedByType="text/html",
                        ),
                        self.download(
                            self.url("ordinances:download", dataset=slug, fmt="json"),
                            "application/json",
                            "JSON",
                            f"{title} (JSON)",
                            describedBy=described_by,
                            describedByType="text/html",
                        ),
                    ],
                )
            )
        return entries

    def feeds_and_calendar(self) -> list[dict[str, Any]]:
        changes = self.changes
        described_by = self.url("ordinances:data_dictionary") + "#feeds"
        requests_feed = self.url("ordinances:request_feed")
        decisions_feed = self.url("ordinances:decision_feed")
        calendar = self.url("ordinances:calendar")
        return [
            self.dataset(
                title="Requests (Atom feed)",
                description=(
                    "New and updated requests as an Atom feed, newest first. Filters of the request "
                    "list apply (e.g. ?status=public_comment), so a saved search is a feed; each "
                    "agency, technology and request page links its own feed."
                ),
                keywords=("requests", "Atom", "feed"),
                identifier=requests_feed,
                modified=newest(changes.requests, changes.timeline),
                landing_page=self.url("ordinances:request_list"),
                described_by=described_by,
                conforms_to=ATOM,
                distributions=[
                    self.download(requests_feed, "application/atom+xml", "Atom", "Requests (Atom feed)")
                ],
            ),
            self.dataset(
                title="Decisions (Atom feed)",
                description="Council decisions on requests as an Atom feed, newest first.",
                keywords=("decisions", "Atom", "feed"),
                identifier=decisions_feed,
                modified=newest(changes.requests, changes.timeline),
                landing_page=self.url("ordinances:request_list"),
                described_by=described_by,
                conforms_to=ATOM,
                distributions=[
                    self.download(decisions_feed, "application/atom+xml", "Atom", "Decisions (Atom feed)")
                ],
            ),
            self.dataset(
                title="Hearings and deadlines (iCalendar)",
                description=(
                    "Public hearings, comment periods and deadlines of pending requests as an "
                    "iCalendar file, for calendar apps; agency and request pages link their own."
                ),
                keywords=("hearings", "deadlines", "iCalendar", "calendar"),
                identifier=calendar,
                modified=changes.page,
                landing_page=self.url("ordinances:how_it_works"),
                described_by=described_by,
                conforms_to=ICALENDAR,
                distributions=[
                    self.download(
                        calendar, "text/calendar", "iCalendar", "Hearings and deadlines (iCalendar)"
                    )
                ],
            ),
        ]

    def api(self) -> dict[str, Any]:
        index = self.url("api:index")
        schema = self.url("api-schema")
        return self.dataset(
            title="Surveillance Oversight Portal API",
            description=(
                "The public record as a read-only JSON API: ordinances, agencies, technologies, "
                "requests with their public timelines, and decisions, with the lists' filters, "
                "pagination and CSV. Described by its OpenAPI 3.1 schema."
            ),
            keywords=("API", "JSON", "OpenAPI"),
            identifier=index,
            modified=self.changes.page,
            landing_page=self.url("api-docs"),
            described_by=schema,
            described_by_type="application/vnd.oai.openapi",
            conforms_to=OPENAPI,
            distributions=[
                {
                    "@type": "dcat:Distribution",
                    "accessURL": index,
                    "format": "API",
                    "mediaType": "application/json",
                    "title": "API index",
                    "description": "The address of every list of the API, of its schema and of its docs.",
                    "conformsTo": OPENAPI,
                    "describedBy": schema,
                    "describedByType": "application/vnd.oai.openapi",
                },
                self.download(schema, "application/vnd.oai.openapi", "OpenAPI 3.1 (YAML)", "API schema"),
            ],
        )

    def atlas(self) -> dict[str, Any]:
        atlas = self.url("ordinances:atlas_csv")
        return self.dataset(
            title="Surveillance technology inventory (Atlas of Surveillance layout)",
            description=(
                "Each agency's recorded surveillance technologies, in the column layout of the "
                "Electronic Frontier Foundation's Atlas of Surveillance, followed by the portal's "
                "own columns: the status of each, the rule and ordinance that decide it, the "
                "approvals in effect and the requests pending."
            ),
            keywords=("inventory", "Atlas of Surveillance", "CSV"),
            identifier=atlas,
            modified=self.changes.page,
            landing_page=self.url("ordinances:data_dictionary"),
            distributions=[self.download(atlas, "text/csv", "CSV", "Inventory (Atlas of Surveillance CSV)")],
        )

    def catalog(self) -> dict[str, Any]:
        return {
            "@context": CONTEXT,
            "@id": self.url("data_catalog"),
            "@type": "dcat:Catalog",
            "conformsTo": SCHEMA,
            "describedBy": f"{SCHEMA}/catalog.json",
            "dataset": [*self.lists(), *self.feeds_and_calendar(), self.api(), self.atlas()],
        }


def build(request: HttpRequest) -> dict[str, Any]:
    """The catalog as a mapping, in English, with addresses on the request's host."""
    with translation.override(settings.LANGUAGE_CODE):
        return _Builder(request, freshness.for_request(request)).catalog()


@require_safe
def data_catalog(request: HttpRequest) -> JsonResponse:
    """`/data.json`: every dataset the portal publishes, as a DCAT-US 1.1 catalog."""
    return JsonResponse(build(request), json_dumps_params={"ensure_ascii": False, "indent": 2})
