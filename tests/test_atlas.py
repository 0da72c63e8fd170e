"""
The inventory in the Atlas of Surveillance's layout: exported with each row's status-board
entry, re-imported to the same inventory, and an Atlas slice imported row by row, refusing
what it cannot read with the row number and the reason.
"""

from __future__ import annotations

import csv
import datetime
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from model_bakery import baker

from ordinances import atlas, board, ocd
from ordinances.models import Agency, Category, Source, Technology, TechnologyUse

pytestmark = pytest.mark.django_db

URL = reverse("ordinances:atlas_csv")


def export(client, url: str = URL) -> list[dict[str, str]]:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    reader = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert tuple(reader.fieldnames or ()) == atlas.COLUMNS
    return list(reader)


def atlas_file(
    tmp_path: Path, rows: list[dict[str, str]], header: tuple[str, ...] = atlas.ATLAS_COLUMNS
) -> Path:
    """An Atlas CSV with `rows` (columns not given are empty)."""
    path = tmp_path / "atlas.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=header)
        writer.writeheader()
        for row in rows:
            writer.writerow({name: row.get(name, "") for name in header})
    return path


def run_import(path: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("import_atlas", str(path), "--city", "Minneapolis", *args, stdout=out)
    return out.getvalue()


def atlas_row(**values: str) -> dict[str, str]:
    row = {
        "AOSNUMBER": "AOS009001",
        "City": "Minneapolis",
        "County": "Hennepin County",
        "State": "MN",
        "Agency": "Minneapolis Police Department",
        "Type of LEA": "Police",
        "Type of Juris": "Municipal",
        "Technology": "Automated License Plate Readers",
        "Vendor": "Example Vendor",
        "Summary": "The department runs mobile plate readers.",
        "Link 1": "https://news.example.org/alpr",
        "Link 1 Snapshot": "https://web.archive.org/web/2020/https://news.example.org/alpr",
        "Link 1 Source": "Example News",
        "Link 1 Date": "12/27/2012",
    }
    row.update(values)
    return row


@pytest.fixture
def inventory(make_request, agency_a, agency_b, drone, face_recognition):
    """Agency A uses the drone (four sources, an approval in effect); agency B a face matcher."""
    approved = make_request("approved")
    use = baker.make(
        TechnologyUse,
        agency=agency_a,
        technology=drone,
        vendor_product="SkyScout Q-1",
        notes="-1 drone kept at the river station.",
    )
    for day, host in ((1, "a"), (2, "b"), (3, "c"), (4, "d")):
        use.sources.add(
            baker.make(
                Source,
                url=f"https://{host}.example.org/story",
                title=f"Story {host}",
                publisher=f"Paper {host}",
                published_on=datetime.date(2024, 1, day),
                archived_url=f"https://web.archive.org/web/2024/https://{host}.example.org/story",
            )
        )
    baker.make(TechnologyUse, agency=agency_b, technology=face_recognition, vendor_product="FaceCo")
    return {"use": use, "approved": approved}


# -- export ------------------------------------------------------------------


def test_the_export_starts_with_the_atlas_s_28_columns(client, inventory):
    export(client)
    assert len(atlas.ATLAS_COLUMNS) == 28
    assert atlas.COLUMNS[:3] == ("AOSNUMBER", "NEWAOSNUMBER (ORI9)", "City")
    assert atlas.COLUMNS[27] == "Other Links"


def test_an_inventory_row_reads_as_an_atlas_row(client, inventory):
    row = export(client)[0]
    assert row["City"] == "Minneapolis"
    assert row["County"] == "Hennepin County"
    assert row["State"] == "MN"
    assert row["Agency"] == "Agency A Police"
    assert row["Type of LEA"] == "Police"
    assert row["Type of Juris"] == "Municipal"
    assert row["Technology"] == "Drones"
    assert row["Vendor"] == "SkyScout Q-1"
    assert row["Summary"] == "'-1 drone kept at the river station."
    assert (row["Link 1"], row["Link 1 Source"], row["Link 1 Date"]) == (
        "https://a.example.org/story",
        "Paper a",
        "2024-01-01",
    )
    assert row["Link 1 Snapshot"] == "https://web.archive.org/web/2024/https://a.example.org/story"
    assert row["Other Links"] == "https://d.example.org/story"


def test_an_inventory_row_carries_its_status_board_entry(client, inventory, agency_a, ordinance):
    row = export(client)[0]
    entry = board.for_agency(agency_a).entries[0]
    assert row["status"] == entry.code == board.StatusCode.APPROVED
    assert row["rule"] == "approval_required"
    assert row["ordinance"] == "TEST-0001"
    assert row["ocd_bill"] == ocd.bill_id(ordinance)
    assert row["active_approvals"] == "1"
    assert row["active_references"] == inventory["approved"].reference
    assert row["approved_until"] == entry.until.isoformat()
    assert row["is_demo"] == "false"


def test_the_export_runs_the_same_queries_for_2_and_20_rows(client, inventory, drone):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            export(client)
        return len(queries)

    few = count()
    for agency in baker.make(Agency, kind=Agency.Kind.OTHER, _quantity=18):
        use = baker.make(TechnologyUse, agency=agency, technology=drone)
        use.sources.add(baker.make(Source, url=f"https://example.org/{agency.slug}"))
    assert len(export(client)) == 20
    assert count() == few


def test_the_export_is_the_same_file_in_every_language(client, inventory):
    assert export(client, f"/es{URL}") == export(client)


# -- round trip --------------------------------------------------------------


def test_the_export_re_imports_to_the_same_inventory(client, inventory, tmp_path):
    before = export(client)
    path = tmp_path / "export.csv"
    path.write_bytes(b"".join(client.get(URL).streaming_content))
    Source.objects.filter(uses__isnull=False).delete()
    TechnologyUse.objects.all().delete()

    output = run_import(path)

    assert "created: 2" in output
    assert export(client) == before
    restored = TechnologyUse.objects.get(agency__slug="agency-a")
    assert restored.notes == "-1 drone kept at the river station."
    assert restored.sources.count() == 4


# -- import ------------------------------------------------------------------


def test_an_atlas_slice_seeds_agencies_technologies_the_inventory_and_sources(tmp_path):
    run_import(atlas_file(tmp_path, [atlas_row()]))
    use = TechnologyUse.objects.select_related("agency", "technology").get()
    assert (use.agency.name, use.agency.slug) == (
        "Minneapolis Police Department",
        "minneapolis-police-department",
    )
    assert (use.agency.kind, use.agency.covered) == (Agency.Kind.POLICE, True)
    assert (use.technology.name, use.technology.category) == (
        "Automated License Plate Readers",
        Category.LICENSE_PLATE_READERS,
    )
    assert (use.vendor_product, use.notes) == ("Example Vendor", "The department runs mobile plate readers.")
    source = use.sources.get()
    assert (source.url, source.publisher, source.published_on) == (
        "https://news.example.org/alpr",
        "Example News",
        datetime.date(2012, 12, 27),
    )
    assert source.archived_url == "https://web.archive.org/web/2020/https://news.example.org/alpr"


def test_an_atlas_technology_without_a_category_of_ours_is_imported_as_other(tmp_path):
    run_import(atlas_file(tmp_path, [atlas_row(Technology="Fusion Center")]))
    assert Technology.objects.get(name="Fusion Center").category == Category.OTHER


def test_a_county_sheriff_is_imported_as_not_bound_by_the_city(tmp_path):
    row = atlas_row(
        Agency="Hennepin County Sheriff's Office", **{"Type of LEA": "Sheriff", "Type of Juris": "County"}
    )
    run_import(atlas_file(tmp_path, [row]))
    sheriff = Agency.objects.get()
    assert (sheriff.kind, sheriff.covered) == (Agency.Kind.SHERIFF, False)


def test_rows_of_other_places_are_left_alone(tmp_path):
    output = run_import(atlas_file(tmp_path, [atlas_row(City="Saint Paul", Agency="Saint Paul Police")]))
    assert "0 rows for Minneapolis (1 for other places left alone)" in output
    assert not Agency.objects.exists()


def test_importing_the_same_slice_twice_changes_nothing(tmp_path):
    path = atlas_file(tmp_path, [atlas_row(), atlas_row(Technology="Face Recognition", **{"Link 1": ""})])
    assert "created: 2" in run_import(path)
    second = run_import(path)
    assert "  created: 0\n  updated: 0\n  unchanged: 2\n  refused: 0\n" in second
    assert "new records: 0 agencies, 0 technologies, 0 sources" in second


def test_a_newer_slice_updates_the_vendor_and_adds_links(tmp_path):
    run_import(atlas_file(tmp_path, [atlas_row()]))
    output = run_import(
        atlas_file(tmp_path, [atlas_row(Vendor="Other Vendor", **{"Link 2": "https://x.example.org"})])
    )
    assert "updated: 1" in output
    use = TechnologyUse.objects.get()
    assert use.vendor_product == "Other Vendor"
    assert use.sources.count() == 2


def test_a_new_link_to_a_known_source_moves_the_inventory_rows_updated_at(tmp_path):
    run_import(atlas_file(tmp_path, [atlas_row(), atlas_row(Agency="Hennepin Sheriff", **{"Link 1": ""})]))
    TechnologyUse.objects.update(updated_at=F("updated_at") - datetime.timedelta(days=1))
    unlinked = TechnologyUse.objects.get(agency__name="Hennepin Sheriff")
    before = unlinked.updated_at
    # The sheriff's row now cites the source the police row already brought in.
    run_import(atlas_file(tmp_path, [atlas_row(Agency="Hennepin Sheriff", Vendor="")]))
    unlinked.refresh_from_db()
    assert unlinked.sources.count() == 1
    assert unlinked.updated_at > before


def test_an_existing_source_keeps_what_it_says(tmp_path):
    baker.make(Source, url="https://news.example.org/alpr", publisher="City Clerk", published_on=None)
    run_import(atlas_file(tmp_path, [atlas_row()]))
    source = Source.objects.get()
    assert source.publisher == "City Clerk"
    assert source.published_on == datetime.date(2012, 12, 27)


def test_malformed_rows_are_refused_one_by_one_with_their_row_number_and_reason(tmp_path):
    rows = [
        atlas_row(),
        atlas_row(Agency=""),
        atlas_row(Agency="Park Police", State="ZZ"),
        atlas_row(Agency="Transit Police", **{"Link 1 Date": "2020-13-45"}),
        atlas_row(Agency="Fire Department", Technology=""),
        atlas_row(Agency="Health Department", **{"Link 1": "not a link"}),
        atlas_row(Agency="Minneapolis Police", State="KS"),
        atlas_row(Vendor="Again"),
    ]
    output = run_import(atlas_file(tmp_path, rows))
    assert "  created: 1\n" in output
    assert "  refused: 7\n" in output
    for line in (
        "row 3: missing agency",
        "row 4: unknown state 'ZZ'",
        "row 5: malformed date in Link 1 Date: '2020-13-45' (expected YYYY-MM-DD or M/D/YYYY)",
        "row 6: missing technology",
        "row 7: malformed link in Link 1: 'not a link'",
        "row 8: in KS, not MN: another place of the same name",
        "row 9: repeats row 2 (the same agency and technology)",
    ):
        assert f"    {line}\n" in output
    assert list(Agency.objects.values_list("name", flat=True)) == ["Minneapolis Police Department"]
    assert TechnologyUse.objects.get().vendor_product == "Example Vendor"


def test_a_row_that_fails_half_way_leaves_nothing_behind(tmp_path, monkeypatch):
    def failing(link, created):
        raise DatabaseError("disk full")

    monkeypatch.setattr(atlas, "_source", failing)
    output = run_import(atlas_file(tmp_path, [atlas_row()]))
    assert "row 2: the database refused it: disk full" in output
    assert not Agency.objects.exists()
    assert not Technology.objects.exists()
    assert not TechnologyUse.objects.exists()


def test_a_file_without_the_atlas_columns_is_refused_whole(tmp_path):
    path = atlas_file(
        tmp_path, [{"City": "Minneapolis", "Agency": "Police"}], header=("City", "Agency", "Notes")
    )
    with pytest.raises(
        CommandError, match="not an Atlas of Surveillance CSV: it has no State, Technology, Vendor, Summary"
    ):
        run_import(path)
    assert not Agency.objects.exists()


def test_a_dry_run_reports_and_writes_nothing(tmp_path):
    output = run_import(atlas_file(tmp_path, [atlas_row()]), "--dry-run")
    assert "(dry run: nothing was written)" in output
    assert "created: 1" in output
    assert not Agency.objects.exists()
