"""/data.json: every dataset the portal publishes, as a DCAT-US 1.1 catalog that validates."""

from __future__ import annotations

import copy
import datetime
import json
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from model_bakery import baker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from ordinances import catalog
from ordinances.models import Agency, OrdinanceChange, Request, Technology, TechnologyUse

pytestmark = pytest.mark.django_db

SCHEMAS = Path(__file__).parent / "schemas" / "dcat-us-1.1"
# DCAT-US 1.1 asks these of federal agencies only; the JSON Schema lists them as required
# for everyone, so a city's catalog is checked with that one requirement lifted.
FEDERAL_ONLY = ("bureauCode", "programCode")
URL = "/data.json"


def schemas() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in SCHEMAS.glob("*.json")}


def validator(*, federal: bool) -> jsonschema.Draft4Validator:
    """The catalog schema, its `$ref`s to the other files resolved from tests/schemas/ (no network)."""
    files = schemas()
    if not federal:
        files["dataset.json"] = copy.deepcopy(files["dataset.json"])
        files["dataset.json"]["required"] = [
            name for name in files["dataset.json"]["required"] if name not in FEDERAL_ONLY
        ]
    registry: Registry = Registry().with_resources(
        (contents["id"].rstrip("#"), Resource.from_contents(contents, default_specification=DRAFT4))
        for contents in files.values()
    )
    return jsonschema.Draft4Validator(
        files["catalog.json"], registry=registry, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


@pytest.fixture
def records(make_request, agency_a, drone, face_recognition, ordinance):
    baker.make(TechnologyUse, agency=agency_a, technology=drone)
    make_request("public_comment", title="Drone in public comment")
    make_request("approved", title="Approved drone")
    make_request("draft", title="Secret draft")


def fetch(client) -> dict:
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


def dataset(data: dict, identifier_path: str) -> dict:
    return next(entry for entry in data["dataset"] if urlsplit(entry["identifier"]).path == identifier_path)


def test_it_validates_against_the_dcat_us_schema(client, records):
    errors = [error.message for error in validator(federal=False).iter_errors(fetch(client))]
    assert errors == []


def test_only_the_federal_agencies_codes_are_missing_for_the_federal_schema(client, records):
    errors = list(validator(federal=True).iter_errors(fetch(client)))
    assert errors
    assert {(error.validator, error.message.split("'")[1]) for error in errors} <= {
        ("required", name) for name in FEDERAL_ONLY
    }


def test_the_shipped_schema_files_are_the_five_of_dcat_us_1_1():
    assert {name: contents["id"] for name, contents in schemas().items()} == {
        name: f"https://project-open-data.cio.gov/v1.1/schema/{name}#"
        for name in ("catalog.json", "dataset.json", "distribution.json", "organization.json", "vcard.json")
    }


def test_it_validates_on_an_empty_database(client):
    assert list(validator(federal=False).iter_errors(fetch(client))) == []


def test_it_lists_every_dataset_the_portal_publishes(client, records):
    data = fetch(client)
    expected = {
        *(f"/{slug}/download.csv" for slug in ("ordinances", "agencies", "technologies", "requests")),
        *(f"/{slug}/download.json" for slug in ("ordinances", "agencies", "technologies", "requests")),
        reverse("ordinances:request_feed"),
        reverse("ordinances:decision_feed"),
        reverse("ordinances:calendar"),
        reverse("api:index"),
        reverse("api-schema"),
        reverse("ordinances:atlas_csv"),
    }
    listed = {
        urlsplit(distribution.get("downloadURL") or distribution["accessURL"]).path
        for entry in data["dataset"]
        for distribution in entry["distribution"]
    }
    assert listed == expected


def test_every_download_and_access_url_answers(client, records):
    for entry in fetch(client)["dataset"]:
        for distribution in entry["distribution"]:
            url = distribution.get("downloadURL") or distribution["accessURL"]
            response = client.get(url)
            assert response.status_code == 200, url
            if response.streaming:
                b"".join(response.streaming_content)


def test_every_address_is_absolute_on_the_requests_host(client, records):
    data = fetch(client)
    addresses = [data["@id"]]
    for entry in data["dataset"]:
        addresses += [entry["identifier"], entry.get("landingPage"), entry.get("describedBy")]
        for distribution in entry["distribution"]:
            addresses += [distribution.get("downloadURL"), distribution.get("accessURL")]
    portal = [address for address in addresses if address and "project-open-data" not in address]
    assert portal
    assert all(address.startswith("http://testserver/") for address in portal), portal


def test_each_dataset_names_the_city_its_contact_and_its_license(client, settings):
    settings.PORTAL_PUBLISHER = "City of Testville"
    settings.PORTAL_CONTACT_NAME = "Open data desk"
    settings.PORTAL_CONTACT_EMAIL = "data@testville.example"
    settings.PORTAL_DATA_LICENSE = "https://opendatacommons.org/licenses/pddl/1-0/"
    for entry in fetch(client)["dataset"]:
        assert entry["publisher"] == {"@type": "org:Organization", "name": "City of Testville"}
        assert entry["contactPoint"] == {
            "@type": "vcard:Contact",
            "fn": "Open data desk",
            "hasEmail": "mailto:data@testville.example",
        }
        assert entry["license"] == "https://opendatacommons.org/licenses/pddl/1-0/"
        assert entry["accessLevel"] == "public"
        assert not set(FEDERAL_ONLY) & set(entry)


def test_the_lists_are_described_by_the_data_dictionary(client, records):
    entry = dataset(fetch(client), reverse("ordinances:data_dictionary"))
    assert entry["describedBy"] == "http://testserver/data/#dataset-ordinances"
    assert {d["mediaType"] for d in entry["distribution"]} == {"text/csv", "application/json"}


def test_a_new_request_moves_the_requests_modified(client, records, make_request):
    # The earlier requests, their agencies and technologies last changed yesterday
    # (timestamps are written to the second).
    for model in (Request, Agency, Technology):
        model.objects.update(updated_at=F("updated_at") - datetime.timedelta(days=1))
    before = next(e for e in fetch(client)["dataset"] if e["title"] == "Requests")["modified"]
    new = make_request("submitted", title="A new request")
    after = next(e for e in fetch(client)["dataset"] if e["title"] == "Requests")["modified"]
    assert after == catalog.iso(new.updated_at)
    assert after > before


def test_an_ordinance_change_moves_the_ordinances_modified(client, records, ordinance):
    moment = datetime.datetime(2031, 3, 4, 5, 6, 7, tzinfo=datetime.UTC)
    OrdinanceChange.objects.create(ordinance=ordinance, via="admin", changes=[], created_at=moment)
    entry = next(e for e in fetch(client)["dataset"] if e["title"] == "Ordinances")
    assert entry["modified"] == "2031-03-04T05:06:07Z"


def test_an_agency_saved_outside_the_admin_moves_the_agencies_modified(client, records, agency_a):
    for model in (Agency, Technology, TechnologyUse):
        model.objects.update(updated_at=F("updated_at") - datetime.timedelta(days=1))
    before = next(e for e in fetch(client)["dataset"] if e["title"] == "Agencies")["modified"]
    agency_a.description = "Edited in a shell."
    agency_a.save()
    after = next(e for e in fetch(client)["dataset"] if e["title"] == "Agencies")["modified"]
    assert after == catalog.iso(agency_a.updated_at)
    assert after > before


def test_an_agency_deleted_in_the_admin_moves_the_agencies_modified(client, records, agency_b, clerk):
    for model in (Agency, Technology, TechnologyUse):
        model.objects.update(updated_at=F("updated_at") - datetime.timedelta(days=1))
    # What the admin writes when the clerk deletes an agency.
    entry = LogEntry.objects.create(
        user=clerk,
        content_type=ContentType.objects.get_for_model(Agency),
        object_id=str(agency_b.pk),
        object_repr=str(agency_b),
        action_flag=DELETION,
    )
    agency_b.delete()
    modified = next(e for e in fetch(client)["dataset"] if e["title"] == "Agencies")["modified"]
    assert modified == catalog.iso(entry.action_time)


def test_it_runs_the_same_queries_however_many_records(client, records, make_request, agency_a):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            fetch(client)
        return len(captured.captured_queries)

    few = queries()
    for i in range(10):
        make_request("submitted", title=f"Request {i}")
        baker.make(Agency, name=f"Agency {i}", slug=f"agency-{i}")
    assert queries() == few == 1
