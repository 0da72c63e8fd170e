"""
The annual oversight summary (ordinances/summary.py, the /summary/ pages and their PDF):
its figures are the database's, counted here independently from the records; the page
has a table for every chart and charts drawn to scale; the PDF renders with the same
figures; a year out of range is a 404; the queries stay the same however many records.
"""

from __future__ import annotations

import datetime
import io
import re
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from model_bakery import baker
from pypdf import PdfReader

from ordinances import charts, oversight, participation, pdf, summary, workflow
from ordinances.models import (
    Agency,
    AnnualReport,
    Comment,
    Condition,
    Deadline,
    Decision,
    EmergencyUse,
    Event,
    Request,
    Violation,
)

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"
REPORT_CONTENTS = {
    "use_summary": "Used twice for search and rescue.",
    "non_suspects_captured": "Yes, bystanders in the river gorge.",
    "sharing": "None.",
    "complaints_count": 0,
}


# -- building a year through the real workflow --------------------------------------------


@pytest.fixture
def law(ordinance):
    """The test ordinance, adopted in 2019, with an annual report due three days after each decision's period starts."""
    ordinance.adopted_on = datetime.date(2019, 5, 1)
    ordinance.save()
    Deadline.objects.create(
        ordinance=ordinance,
        kind=Deadline.Kind.ANNUAL_REPORT,
        amount=3,
        unit=Deadline.Unit.DAYS,
        counted_from=Deadline.Anchor.DECISION,
    )
    return ordinance


@pytest.fixture
def demo_agency(liaison_a):
    agency = baker.make(Agency, name="Demo Police", slug="demo-police", kind=Agency.Kind.POLICE, is_demo=True)
    agency.liaisons.add(liaison_a)
    return agency


def decide_with_a_condition_due(request: Request, staff, due: datetime.date) -> Request:
    """Approve a request with one condition due on `due` (after its hearing, five days ago)."""
    workflow.perform(
        "approve_with_conditions",
        request,
        by=staff,
        now=timezone.now() - datetime.timedelta(days=5),
        votes_yes=9,
        votes_no=3,
        conditions=[workflow.ConditionInput("Audit the footage", due)],
    )
    request.refresh_from_db()
    return request


@pytest.fixture
def year_of_records(law, make_request, staff, liaison_a, liaison_b, agency_a, agency_b, drone, demo_agency):
    """
    A little of everything, through the workflow and the oversight functions: decisions of
    each kind, a withdrawal, a revocation, an expiry, a draft (never counted), an emergency
    use reported on time and one never reported, violations published and not, annual
    reports submitted, accepted and overdue, comments published and not, and demo records.
    """
    today = timezone.localdate()
    make_request("draft")
    make_request("submitted")
    make_request("approved")
    make_request("denied")
    make_request("denied")
    make_request("withdrawn")
    make_request("revoked")
    make_request("accepted")  # an emergency-use report, filed the day after the use
    decide_with_a_condition_due(make_request("hearing_scheduled"), staff, today - datetime.timedelta(days=2))
    expiring = make_request("approved_with_conditions")
    expiring.decision.expires_on = today - datetime.timedelta(days=1)
    expiring.decision.save()
    workflow.expire_due()
    make_request("approved", agency=agency_b, liaison=liaison_b)
    make_request("approved", agency=demo_agency)
    make_request("denied", agency=demo_agency)

    # Public comment: two published, one held, one not published.
    open_request = make_request("in_review")
    workflow.perform("open_comment_period", open_request, by=staff)
    for i, outcome in enumerate(("publish", "publish", "hold", "reject")):
        comment = participation.submit_comment(
            open_request,
            name="",
            email="",
            position="opposes",
            body=f"Comment {i}",
            address=f"203.0.113.{i}",
            language="en",
        )
        if outcome == "publish":
            participation.publish_comment(comment, by=staff)
        elif outcome == "reject":
            participation.reject_comment(comment, by=staff, reason="Off topic.")

    # Emergency use never reported: its report is overdue.
    oversight.record_emergency_use(
        liaison_a, agency_a, drone, law, today - datetime.timedelta(days=20), "A flood: searched the river."
    )
    oversight.record_emergency_use(
        liaison_a, demo_agency, drone, law, today - datetime.timedelta(days=3), "A demo emergency."
    )

    # Violations: two published (one confirmed), one still internal.
    for i, publish in enumerate((True, True, False)):
        violation = oversight.record_violation(
            staff,
            agency=agency_a,
            technology=drone,
            ordinance=law,
            description=f"Flew over a protest ({i}).",
            found_on=today - datetime.timedelta(days=4),
            how_found=Violation.HowFound.COMPLAINT,
        )
        if i == 0:
            oversight.update_violation(
                violation, staff, status=Violation.Status.CONFIRMED, investigation="It did."
            )
        if publish:
            oversight.publish_violation(violation, staff)

    # Annual reports: agency A's submitted (late) and accepted; agency B's never started, overdue.
    expected = {
        (e.agency, e.year) for e in oversight.expected_reports(today, technology=drone, ordinance=law)
    }
    for agency, year in sorted(expected, key=lambda e: (e[0].pk, e[1])):
        if agency == agency_a:
            report = oversight.start_report(liaison_a, agency_a, drone, law, year)
            oversight.update_report(report, liaison_a, REPORT_CONTENTS)
            oversight.submit_report(report, liaison_a)
            oversight.accept_report(report, staff)
    oversight.mark_annual_reports_overdue()


# -- counting independently --------------------------------------------------------------


def is_demo(record) -> bool:
    return bool(record.is_demo or record.agency.is_demo or record.technology.is_demo)


def local_year(moment: datetime.datetime) -> int:
    return timezone.localtime(moment).year


def counted_by_hand(year: int, *, demo: bool) -> dict[str, object]:
    """The summary's figures, counted one record at a time in Python from the model's own rules."""
    today = timezone.localdate()
    public = [r for r in Request.objects.all() if r.status != Request.Status.DRAFT and is_demo(r) == demo]
    public_ids = {r.pk for r in public}
    submitted = Counter(r.kind for r in public if local_year(r.submitted_at) == year)
    outcomes = Counter(
        d.outcome for d in Decision.objects.all() if d.request_id in public_ids and d.decided_on.year == year
    )
    endings = {"withdraw": "withdrawn", "expire": "expired", "revoke": "revoked"}
    for event in Event.objects.all():
        if (
            event.is_public
            and event.action in endings
            and event.request_id in public_ids
            and local_year(event.created_at) == year
        ):
            outcomes[endings[event.action]] += 1
    uses = [u for u in EmergencyUse.objects.all() if is_demo(u) == demo]
    violations = [v for v in Violation.objects.all() if v.is_public and is_demo(v) == demo]
    reports = [a for a in AnnualReport.objects.all() if a.is_public and is_demo(a) == demo]
    conditions = [c for c in Condition.objects.all() if c.decision.request_id in public_ids]
    return {
        "submitted_by_kind": {kind: submitted[kind] for kind in Request.Kind.values},
        "outcomes": {code: outcomes[code] for code in summary.OUTCOMES},
        "emergency_uses": sum(1 for u in uses if u.used_on.year == year),
        "emergency_reports_late": sum(1 for u in uses if u.used_on.year == year and u.is_overdue),
        "violations_by_status": {
            status: sum(1 for v in violations if v.found_on.year == year and v.status == status)
            for status in Violation.Status.values
        },
        "annual_reports_submitted": sum(1 for a in reports if a.year == year and a.submitted_at),
        "annual_reports_accepted": sum(
            1 for a in reports if a.year == year and a.status == AnnualReport.Status.ACCEPTED
        ),
        "annual_reports_late": sum(1 for a in reports if a.year == year and a.is_overdue),
        "comments_published": sum(
            1
            for c in Comment.objects.all()
            if c.status == Comment.Status.PUBLISHED
            and c.request_id in public_ids
            and local_year(c.request.submitted_at) == year
        ),
        "overdue_conditions": sum(1 for c in conditions if c.is_overdue),
        "overdue_emergency_reports": sum(
            1 for u in uses if u.is_overdue and not u.report_submitted and u.report_due_on < today
        ),
        "overdue_annual_reports": sum(1 for a in reports if not a.submitted_at and a.due_on < today),
    }


FIELDS = (
    "submitted_by_kind",
    "outcomes",
    "emergency_uses",
    "emergency_reports_late",
    "violations_by_status",
    "annual_reports_submitted",
    "annual_reports_accepted",
    "annual_reports_late",
    "comments_published",
    "overdue_conditions",
    "overdue_emergency_reports",
    "overdue_annual_reports",
)


def figures_of(figures: summary.Figures) -> dict[str, object]:
    return {name: getattr(figures, name) for name in FIELDS}


def years_with_records() -> set[int]:
    years = {local_year(r.submitted_at) for r in Request.objects.exclude(submitted_at=None)}
    years |= {d.decided_on.year for d in Decision.objects.all()}
    years |= {local_year(e.created_at) for e in Event.objects.all()}
    return years | {timezone.localdate().year}


# -- the figures ---------------------------------------------------------------------------


def test_the_real_figures_match_the_records_counted_one_by_one(year_of_records):
    for year in years_with_records():
        assert figures_of(summary.for_year(year).real) == counted_by_hand(year, demo=False), year


def test_the_demo_figures_match_the_demo_records_counted_one_by_one(year_of_records):
    for year in years_with_records():
        assert figures_of(summary.for_year(year).demo) == counted_by_hand(year, demo=True), year


def test_the_year_of_records_has_something_of_every_kind(year_of_records):
    # Guards the two tests above from passing on zeros: the fixture made every kind of figure.
    every_year = [summary.for_year(year).real for year in years_with_records()]
    for name in FIELDS:
        assert sum(_total(getattr(figures, name)) for figures in every_year), name


def _total(value) -> int:
    return sum(value.values()) if isinstance(value, dict) else int(value)


def test_drafts_are_never_counted(make_request, law):
    make_request("draft")
    figures = summary.for_year(timezone.localdate().year).real
    assert figures.submitted == 0
    assert not figures.has_records


def test_demo_records_are_kept_out_of_the_real_figures(make_request, law, demo_agency):
    request = make_request("denied", agency=demo_agency)
    year = request.decision.decided_on.year
    data = summary.for_year(year)
    assert data.real.denied == 0
    assert data.demo.denied == 1


def test_outcomes_by_month_add_up_to_the_year(year_of_records):
    for year in years_with_records():
        figures = summary.for_year(year).real
        for code in summary.OUTCOMES:
            assert sum(month[code] for month in figures.outcomes_by_month) == figures.outcomes[code]


def test_a_decision_counts_in_the_month_it_was_decided(make_request, law):
    request = make_request("approved")
    decided = request.decision.decided_on
    figures = summary.for_year(decided.year).real
    assert figures.outcomes_by_month[decided.month - 1][Decision.Outcome.APPROVED] == 1


def test_the_summary_takes_eight_queries_however_many_records(make_request, law):
    year = timezone.localdate().year
    make_request("approved")
    with CaptureQueriesContext(connection) as few:
        summary.for_year(year)
    for to in ("denied", "withdrawn", "revoked", "approved_with_conditions", "submitted"):
        make_request(to)
    with CaptureQueriesContext(connection) as many:
        summary.for_year(year)
    assert len(few.captured_queries) == len(many.captured_queries) == 8


def test_years_run_from_the_first_ordinances_year_to_this_one(law):
    this_year = timezone.localdate().year
    assert summary.years_available() == list(range(this_year, 2018, -1))


def test_without_a_dated_ordinance_only_this_year_has_a_summary(ordinance):
    assert summary.years_available() == [timezone.localdate().year]


# -- the charts' geometry --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("maximum", "steps"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (10, [0, 2, 4, 6, 8, 10]),
        (23, [0, 5, 10, 15, 20, 25]),
        (120, [0, 50, 100, 150]),
    ],
)
def test_the_scale_steps_are_whole_round_numbers_reaching_the_largest_value(maximum, steps):
    assert charts.nice_steps(maximum) == steps


def test_bar_lengths_are_proportional_to_their_values():
    series = [charts.Series(key, key, "#000000") for key in "abc"]
    chart = charts.bar_list("c", title="t", desc="d", items=list(zip(series, [4, 0, 2], strict=True)))
    widths = [bar.width for bar in chart.bars]
    assert widths[1] == 0
    assert widths[0] == pytest.approx(2 * widths[2], abs=0.02)


def test_stacked_segments_are_proportional_and_sit_on_each_other():
    a, b = charts.Series("a", "A", "#000000"), charts.Series("b", "B", "#ffffff")
    chart = charts.stacked_columns(
        "c", title="t", desc="d", categories=["x", "y"], series=[a, b], values={"a": [2, 0], "b": [1, 3]}
    )
    first, second, only = chart.bars
    assert (first.series, second.series, only.series) == (a, b, b)
    # Positions are rounded to hundredths of a unit.
    assert first.height == pytest.approx(2 * second.height, abs=0.02)
    assert second.y + second.height == pytest.approx(first.y, abs=0.02)
    assert only.height == pytest.approx(3 * second.height, abs=0.02)
    assert [label.text for label in chart.values] == ["3", "3"]


# -- the pages -----------------------------------------------------------------------------


def page(client, year: int, prefix: str = ""):
    return client.get(prefix + reverse("ordinances:summary_year", args=[year]))


def svgs(html: str) -> dict[str, ET.Element]:
    """Every chart on a page, parsed as XML, by id."""
    found = {}
    for markup in re.findall(r"<svg[^>]*class=\"portal-chart\".*?</svg>", html, re.S):
        element = ET.fromstring(markup)
        found[element.get("id")] = element
    return found


def assert_proportional(sizes: list[tuple[float, int]]) -> None:
    """Each (size, value) has the same size per unit of value, within the hundredths positions are rounded to."""
    per_unit = [size / value for size, value in sizes if value]
    assert per_unit
    for size, value in sizes:
        assert size == pytest.approx(value * per_unit[0], abs=0.02 * max(value, 1))


def test_the_index_lists_every_year_newest_first_and_links_the_latest(client, law):
    this_year = timezone.localdate().year
    html = client.get(reverse("ordinances:summary_index")).content.decode()
    years = [int(y) for y in re.findall(r'href="/summary/(\d{4})/"', html)]
    assert years[0] == this_year
    assert sorted(set(years), reverse=True) == list(range(this_year, 2018, -1))


def test_the_page_has_its_headings_and_a_table_for_every_chart(client, year_of_records):
    year = timezone.localdate().year
    response = page(client, year)
    html = response.content.decode()
    assert response.status_code == 200
    assert f"<h1>Oversight summary for {year}</h1>" in html
    for heading in ("Requests submitted", "What became of requests", "Month by month", "Overdue today"):
        assert re.search(rf"<h[23][^>]*>{heading}</h[23]>", html), heading
    assert f"<caption>What became of requests in {year}</caption>" in html
    assert f"<caption>Outcomes by month in {year}</caption>" in html
    assert "Demo records" in html


def test_each_chart_is_an_image_named_by_its_title_and_description(client, year_of_records):
    html = page(client, timezone.localdate().year).content.decode()
    charts_on_page = svgs(html)
    assert {"summary-outcomes", "summary-months", "summary-demo-outcomes", "summary-demo-months"} <= set(
        charts_on_page
    )
    for svg in charts_on_page.values():
        title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
        assert svg.get("role") == "img"
        assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        assert title.text and desc.text
        assert not any(element.get("style") for element in svg.iter())


def test_the_outcome_chart_has_one_bar_per_outcome_its_length_proportional_to_the_count(
    client, year_of_records
):
    year = timezone.localdate().year
    figures = summary.for_year(year).real
    svg = svgs(page(client, year).content.decode())["summary-outcomes"]
    bars = svg.findall(f".//{SVG}rect")
    assert [bar.get("data-series") for bar in bars] == list(summary.OUTCOMES)
    assert [int(bar.get("data-value")) for bar in bars] == [
        figures.outcomes[code] for code in summary.OUTCOMES
    ]
    assert_proportional([(float(bar.get("width")), int(bar.get("data-value"))) for bar in bars])
    assert all(float(bar.get("width")) == 0 for bar in bars if bar.get("data-value") == "0")
    labels = [text.text for text in svg.iter(f"{SVG}text")]
    assert "Approved with conditions" in labels


def test_the_month_chart_stacks_segments_in_proportion_to_the_counts(client, year_of_records):
    year = timezone.localdate().year
    figures = summary.for_year(year).real
    svg = svgs(page(client, year).content.decode())["summary-months"]
    bars = svg.findall(f".//{SVG}rect")
    assert sum(int(bar.get("data-value")) for bar in bars) == sum(figures.outcomes.values())
    assert_proportional([(float(bar.get("height")), int(bar.get("data-value"))) for bar in bars])


def test_a_year_with_no_records_says_so_and_draws_no_chart(client, law):
    response = page(client, 2019)
    main = response.content.decode().split('id="main-content"')[1].split("</main>")[0]
    assert response.status_code == 200
    assert "Nothing in the public record happened in 2019" in main
    assert "<svg" not in main


def test_the_page_is_translated_under_a_language_prefix(client, law):
    response = page(client, 2019, prefix="/es")
    assert response.status_code == 200
    assert '<html lang="es">' in response.content.decode()


@pytest.mark.parametrize(
    "path", ["/summary/2018/", "/summary/3000/", "/summary/2018.pdf", "/summary/99999999999999999999/"]
)
def test_a_year_out_of_range_is_not_found(client, law, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", ["/summary/next/", "/summary/20x5/", "/summary/-1/", "/summary/2020.5/"])
def test_a_year_that_is_not_a_number_is_not_found(client, law, path):
    assert client.get(path).status_code == 404


def test_next_year_is_not_found(client, law):
    assert page(client, timezone.localdate().year + 1).status_code == 404


def test_the_page_runs_the_same_queries_however_many_records(client, make_request, law):
    year = timezone.localdate().year
    make_request("approved")
    with CaptureQueriesContext(connection) as few:
        assert page(client, year).status_code == 200
    for to in ("denied", "withdrawn", "revoked", "approved_with_conditions", "submitted", "approved"):
        make_request(to)
    with CaptureQueriesContext(connection) as many:
        assert page(client, year).status_code == 200
    assert len(few.captured_queries) == len(many.captured_queries)


def test_the_footer_links_the_summaries(client, law):
    html = client.get(reverse("ordinances:home")).content.decode()
    assert f'href="{reverse("ordinances:summary_index")}"' in html


# -- the PDF ---------------------------------------------------------------------------------


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_renders_with_the_years_figures(client, year_of_records):
    year = timezone.localdate().year
    figures = summary.for_year(year).real
    response = client.get(reverse("ordinances:summary_pdf", args=[year]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="oversight-summary-{year}.pdf"'
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    assert f"Oversight summary for {year}" in text
    assert re.search(rf"Total\s+{figures.submitted}\b", text)
    for label, count in (
        ("Denied", figures.denied),
        ("Withdrawn", figures.outcomes["withdrawn"]),
        ("Revoked", figures.outcomes["revoked"]),
        ("Expired", figures.outcomes["expired"]),
    ):
        assert re.search(rf"{label}\s+{count}\b", text), label


def test_the_pdf_numbers_its_letter_pages(client, law):
    response = client.get(reverse("ordinances:summary_pdf", args=[2019]))
    reader = PdfReader(io.BytesIO(response.content))
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert (round(float(width)), round(float(height))) == (612, 792)  # 8.5 by 11 inches
    assert f"1 / {len(reader.pages)}" in reader.pages[0].extract_text()


def test_the_pdf_embeds_the_sites_font(client, law):
    response = client.get(reverse("ordinances:summary_pdf", args=[2019]))
    reader = PdfReader(io.BytesIO(response.content))
    fonts = {
        str(font.get_object()["/BaseFont"])
        for pdf_page in reader.pages
        for font in pdf_page["/Resources"]["/Font"].values()
    }
    assert any("Source-Sans-Pro" in name for name in fonts), fonts


def test_the_pdf_reads_only_static_files_from_disk():
    assert pdf.static_file("http://testserver/static/css/portal.css").name == "portal.css"
    assert pdf.static_file("https://example.org/static/css/portal.css").name == "portal.css"
    assert pdf.static_file("http://testserver/media/requests/secret.pdf") is None
    assert pdf.static_file("http://testserver/static/../portal/settings.py") is None
    assert pdf.static_file("http://testserver/static/css/missing.css") is None


def test_the_pdf_logs_no_notes_on_the_screen_css(client, law, caplog):
    caplog.set_level("INFO")
    client.get(reverse("ordinances:summary_pdf", args=[2019]))
    assert not [r for r in caplog.records if r.name.startswith("weasyprint")]


def test_the_pdf_reads_a_collected_file_by_its_hashed_name(settings, tmp_path):
    # In production `{% static %}` names the manifest's hashed copies, found only among the collected files.
    settings.STATIC_ROOT = tmp_path
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "portal.0123abcd.css").write_text("body {}")
    assert (
        pdf.static_file("http://testserver/static/css/portal.0123abcd.css")
        == tmp_path / "css/portal.0123abcd.css"
    )
