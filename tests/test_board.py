"""
The status board: where each agency stands with each technology, derived from the rules in
force and the public requests, whether or not the inventory has a row for them.

Requests are built through the workflow (`make_request`), never by writing a status; the
`derive` tests feed the pure function unsaved records.
"""

from __future__ import annotations

import datetime
import itertools
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from model_bakery import baker

from ordinances import board, workflow
from ordinances.board import BoardEntry, StatusCode
from ordinances.models import (
    Agency,
    Category,
    CategoryRule,
    Decision,
    Ordinance,
    Request,
    Technology,
    TechnologyUse,
    governing_rule,
)
from ordinances.templatetags.portal import board_status_label

pytestmark = pytest.mark.django_db

S = Request.Status
K = Request.Kind
Rule = CategoryRule.Rule
Code = StatusCode


def days_from_today(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


def entry(agency: Agency, technology: Technology) -> BoardEntry | None:
    """
    The row for `agency` and `technology`, checked to be the same on the agency's page and on
    the technology's page (the two boards are built from different queries).
    """
    on_agency = [e for e in board.for_agency(agency).all_entries if e.technology.pk == technology.pk]
    on_technology = [e for e in board.for_technology(technology).all_entries if e.agency.pk == agency.pk]
    assert len(on_agency) <= 1
    assert [(e.code, e.until, e.is_demo) for e in on_agency] == [
        (e.code, e.until, e.is_demo) for e in on_technology
    ], "the agency's board and the technology's board disagree"
    return on_agency[0] if on_agency else None


def code(agency: Agency, technology: Technology) -> StatusCode | None:
    row = entry(agency, technology)
    return row.code if row else None


@pytest.fixture
def body_cameras(db) -> Technology:
    return baker.make(
        Technology, name="Test body camera", slug="test-body-camera", category=Category.BODY_WORN_CAMERAS
    )


@pytest.fixture
def gunshot_sensors(db) -> Technology:
    return baker.make(
        Technology, name="Test gunshot sensor", slug="test-gunshot", category=Category.GUNSHOT_DETECTION
    )


@pytest.fixture
def decided(make_request, staff):
    """A request taken to its hearing, then approved with the given dates."""

    def make(**fields) -> Request:
        dates = {
            key: fields.pop(key) for key in ("decided_on", "effective_on", "expires_on") if key in fields
        }
        request = make_request(S.HEARING_SCHEDULED, **fields)
        workflow.perform("approve", request, by=staff, votes_yes=9, votes_no=3, **dates)
        request.refresh_from_db()
        return request

    return make


def in_force_ordinance(status: str = Ordinance.Status.IN_EFFECT, **rules: str) -> Ordinance:
    """A second ordinance, with `category=rule` rules."""
    ordinance = baker.make(Ordinance, file_number="TEST-0002", slug="second-ordinance", status=status)
    for category, rule in rules.items():
        CategoryRule.objects.create(ordinance=ordinance, category=category, rule=rule)
    return ordinance


# ---------------------------------------------------------------------------
# Rows follow the record, not only the inventory
# ---------------------------------------------------------------------------


def test_an_approval_shows_on_the_agency_and_technology_pages_without_an_inventory_row(
    client, make_request, agency_a, drone
):
    approval = make_request(S.APPROVED)
    assert not TechnologyUse.objects.exists()

    row = entry(agency_a, drone)

    assert row is not None
    assert row.code == Code.APPROVED
    assert row.use is None
    assert row.active == (approval,)
    assert row.until == approval.decision.expires_on
    for url in (agency_a.get_absolute_url(), drone.get_absolute_url()):
        page = client.get(url).content.decode()
        assert (
            f'>Approved</span> until <time datetime="{approval.decision.expires_on.isoformat()}">' in page
        ), url


def test_a_prohibited_category_shows_as_prohibited_for_every_covered_agency(
    client, ordinance, agency_a, agency_b, face_recognition
):
    assert code(agency_a, face_recognition) == Code.PROHIBITED
    assert code(agency_b, face_recognition) == Code.PROHIBITED
    content = client.get(agency_b.get_absolute_url()).content.decode()
    assert "Test face matcher" in content
    assert "Prohibited" in content


def test_the_rule_and_its_ordinance_come_with_the_status(ordinance, agency_a, face_recognition):
    row = entry(agency_a, face_recognition)

    assert row is not None
    assert row.rule is not None
    assert (row.rule.rule, row.rule.ordinance) == (Rule.PROHIBITED, ordinance)


def test_an_agency_the_ordinances_do_not_bind_is_not_covered(ordinance, face_recognition):
    sheriff = baker.make(Agency, slug="sheriff", name="County Sheriff", covered=False)
    baker.make(TechnologyUse, agency=sheriff, technology=face_recognition)

    assert code(sheriff, face_recognition) == Code.NOT_COVERED


def test_a_prohibition_lists_no_agency_the_ordinances_do_not_bind(ordinance, agency_a, face_recognition):
    sheriff = baker.make(Agency, slug="sheriff", name="County Sheriff", covered=False)

    listed = {e.agency for e in board.for_technology(face_recognition).all_entries}

    assert listed == {agency_a}
    assert board.for_agency(sheriff).all_entries == ()


def test_an_approved_exception_under_a_prohibition_shows_prohibited_with_exceptions_and_its_expiry(
    make_request, agency_a, face_recognition
):
    exception = make_request(S.APPROVED, kind=K.EXCEPTION, technology=face_recognition)

    row = entry(agency_a, face_recognition)

    assert row is not None
    assert row.code == Code.PROHIBITED_WITH_EXCEPTIONS
    assert row.active == (exception,)
    assert exception.decision.expires_on is not None
    assert row.until == exception.decision.expires_on


def test_several_exceptions_show_the_latest_expiry(decided, agency_a, face_recognition):
    later = decided(kind=K.EXCEPTION, technology=face_recognition, expires_on=days_from_today(200))
    sooner = decided(kind=K.EXCEPTION, technology=face_recognition, expires_on=days_from_today(100))

    row = entry(agency_a, face_recognition)

    assert row is not None
    assert row.active == (sooner, later)
    assert (row.active_count, row.until) == (2, days_from_today(200))
    assert board_status_label(row) == "Prohibited, 2 permitted exceptions"


def test_pending_requests_are_listed_beside_an_approval(make_request, agency_a, drone):
    make_request(S.APPROVED)
    pending = make_request(S.IN_REVIEW)

    row = entry(agency_a, drone)

    assert row is not None
    assert (row.code, row.pending, row.pending_count) == (Code.APPROVED, (pending,), 1)


def test_drafts_make_no_row(make_request, agency_a, drone):
    make_request(S.DRAFT)

    assert entry(agency_a, drone) is None


def test_another_agency_s_approval_does_not_count(make_request, agency_a, agency_b, liaison_b, drone):
    baker.make(TechnologyUse, agency=agency_a, technology=drone)
    make_request(S.APPROVED, agency=agency_b, liaison=liaison_b)

    assert code(agency_a, drone) == Code.NOT_APPROVED
    assert code(agency_b, drone) == Code.APPROVED


def test_the_technology_page_lists_requests_for_another_technology_of_the_same_category(
    client, make_request, drone
):
    other_drone = baker.make(Technology, name="Other drone", slug="other-drone", category=Category.DRONES)
    make_request(S.SUBMITTED, technology=other_drone, title="Request for the other drone")

    content = client.get(drone.get_absolute_url()).content.decode()

    assert "Request for the other drone" in content


def test_the_technology_page_does_not_list_requests_of_another_category(
    client, make_request, drone, face_recognition
):
    make_request(S.SUBMITTED, kind=K.EXCEPTION, technology=face_recognition, title="Face exception")

    assert "Face exception" not in client.get(drone.get_absolute_url()).content.decode()


# ---------------------------------------------------------------------------
# Demo records stay apart
# ---------------------------------------------------------------------------


@pytest.fixture
def demo_drone(db) -> Technology:
    return baker.make(
        Technology, name="Demo sky camera", slug="demo-sky", category=Category.DRONES, is_demo=True
    )


def test_a_real_agency_s_page_never_lists_demo_technologies_outside_the_demo_section(
    client, ordinance, agency_a, demo_drone
):
    baker.make(TechnologyUse, agency=agency_a, technology=demo_drone, is_demo=True)

    agency_board = board.for_agency(agency_a)
    content = client.get(agency_a.get_absolute_url()).content.decode()

    assert demo_drone not in [e.technology for e in agency_board.entries]
    assert [e.technology for e in agency_board.demo_entries] == [demo_drone]
    assert "Demo sky camera" in content.split('id="demo-heading"', 1)[1]
    assert "Demo sky camera" not in content.split('id="demo-heading"', 1)[0]


def test_a_real_technology_s_page_never_lists_demo_agencies_outside_the_demo_section(
    client, ordinance, drone
):
    demo_agency = baker.make(Agency, name="Demo Fire Department", slug="demo-fire", is_demo=True)
    baker.make(TechnologyUse, agency=demo_agency, technology=drone, is_demo=True)

    technology_board = board.for_technology(drone)
    content = client.get(drone.get_absolute_url()).content.decode()

    assert technology_board.entries == ()
    assert [e.agency for e in technology_board.demo_entries] == [demo_agency]
    assert "Demo Fire Department" not in content.split('id="demo-heading"', 1)[0]


def test_a_demo_agency_s_page_shows_its_demo_rows_in_the_main_table(ordinance, demo_drone):
    demo_agency = baker.make(Agency, name="Demo Fire Department", slug="demo-fire", is_demo=True)
    baker.make(TechnologyUse, agency=demo_agency, technology=demo_drone, is_demo=True)

    agency_board = board.for_agency(demo_agency)

    assert [e.technology for e in agency_board.entries] == [demo_drone]
    assert agency_board.demo_entries == ()


def test_a_demo_ordinance_never_governs_a_real_row(ordinance, agency_a, drone):
    # The fixture ordinance says drones need approval; as a demo it must not bind real records.
    ordinance.is_demo = True
    ordinance.save()
    baker.make(TechnologyUse, agency=agency_a, technology=drone)

    assert code(agency_a, drone) == Code.NO_RULE


def test_a_demo_ordinance_governs_a_demo_row(ordinance, agency_a, drone):
    ordinance.is_demo = True
    ordinance.save()
    baker.make(TechnologyUse, agency=agency_a, technology=drone, is_demo=True)

    row = entry(agency_a, drone)

    assert row is not None
    assert (row.code, row.is_demo) == (Code.NOT_APPROVED, True)


def test_a_demo_prohibition_reaches_no_real_agency(ordinance, agency_a, gunshot_sensors):
    demo_ban = in_force_ordinance(**{Category.GUNSHOT_DETECTION: Rule.PROHIBITED})
    demo_ban.is_demo = True
    demo_ban.save()

    assert entry(agency_a, gunshot_sensors) is None


# ---------------------------------------------------------------------------
# Which rule governs
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("technology", "other_rule", "expected"),
    [
        ("drone", Rule.PROHIBITED, Code.PROHIBITED),
        ("drone", Rule.DISCLOSURE_ONLY, Code.NOT_APPROVED),
        ("face_recognition", Rule.DISCLOSURE_ONLY, Code.PROHIBITED),
        ("face_recognition", Rule.APPROVAL_REQUIRED, Code.PROHIBITED),
        ("body_cameras", Rule.APPROVAL_REQUIRED, Code.NOT_APPROVED),
        ("body_cameras", Rule.PROHIBITED, Code.PROHIBITED),
    ],
)
def test_when_two_ordinances_in_force_disagree_the_stricter_rule_governs(
    technology, other_rule, expected, agency_a, ordinance, request
):
    technology = request.getfixturevalue(technology)
    in_force_ordinance(**{technology.category: other_rule})
    baker.make(TechnologyUse, agency=agency_a, technology=technology)

    assert code(agency_a, technology) == expected


def test_a_rule_for_every_other_category_governs_a_category_no_rule_names(
    ordinance, agency_a, gunshot_sensors
):
    in_force_ordinance(**{"every_other": Rule.APPROVAL_REQUIRED})
    baker.make(TechnologyUse, agency=agency_a, technology=gunshot_sensors)

    assert code(agency_a, gunshot_sensors) == Code.NOT_APPROVED


@pytest.mark.parametrize("status", [Ordinance.Status.REPEALED, Ordinance.Status.INTRODUCED])
def test_the_rule_of_an_ordinance_not_in_force_is_ignored(status, ordinance, agency_a, drone):
    in_force_ordinance(status, **{Category.DRONES: Rule.PROHIBITED})
    baker.make(TechnologyUse, agency=agency_a, technology=drone)

    assert code(agency_a, drone) == Code.NOT_APPROVED


def test_a_technology_no_ordinance_speaks_about_has_no_rule(ordinance, agency_a, gunshot_sensors):
    baker.make(TechnologyUse, agency=agency_a, technology=gunshot_sensors)

    assert code(agency_a, gunshot_sensors) == Code.NO_RULE


# ---------------------------------------------------------------------------
# Dates: an approval counts while it is in effect
# ---------------------------------------------------------------------------


def test_an_approval_past_its_term_no_longer_counts(decided, agency_a, drone):
    decided(decided_on=days_from_today(-5), effective_on=days_from_today(-5), expires_on=days_from_today(-1))

    assert code(agency_a, drone) == Code.NOT_APPROVED


def test_an_approval_still_counts_on_its_last_day(decided, agency_a, drone):
    decided(decided_on=days_from_today(-3), expires_on=days_from_today(0))

    row = entry(agency_a, drone)

    assert row is not None
    assert (row.code, row.until) == (Code.APPROVED, days_from_today(0))


def test_an_approval_counts_only_once_it_takes_effect(decided, agency_a, drone):
    decided(effective_on=days_from_today(10))

    assert code(agency_a, drone) == Code.NOT_APPROVED


# ---------------------------------------------------------------------------
# derive: the pure function, one case per code
# ---------------------------------------------------------------------------

TODAY = datetime.date(2030, 6, 1)


def unsaved_request(status: str, *, expires_on: datetime.date | None = None, effective_on=None) -> Request:
    request = Request(status=status)
    if status in Request.ACTIVE_STATES or status in (S.DENIED, S.EXPIRED, S.REVOKED):
        # Setting the one-to-one from the decision's side caches it on the request too.
        Decision(request=request, decided_on=TODAY, effective_on=effective_on, expires_on=expires_on)
    return request


DERIVE_CASES = {
    "uncovered agency": (False, Rule.PROHIBITED, [], Code.NOT_COVERED),
    "uncovered agency, no rule": (False, None, [], Code.NOT_COVERED),
    "prohibited": (True, Rule.PROHIBITED, [], Code.PROHIBITED),
    "prohibited, exception pending": (True, Rule.PROHIBITED, [S.SUBMITTED], Code.PROHIBITED),
    "prohibited, exception approved": (True, Rule.PROHIBITED, [S.APPROVED], Code.PROHIBITED_WITH_EXCEPTIONS),
    "approved": (True, Rule.APPROVAL_REQUIRED, [S.APPROVED], Code.APPROVED),
    "approved with conditions": (
        True,
        Rule.APPROVAL_REQUIRED,
        [S.APPROVED_WITH_CONDITIONS],
        Code.APPROVED_WITH_CONDITIONS,
    ),
    "approved, another pending": (True, Rule.APPROVAL_REQUIRED, [S.APPROVED, S.SUBMITTED], Code.APPROVED),
    "pending": (True, Rule.APPROVAL_REQUIRED, [S.PUBLIC_COMMENT], Code.PENDING),
    "returned is still pending": (True, Rule.APPROVAL_REQUIRED, [S.RETURNED], Code.PENDING),
    "nothing asked": (True, Rule.APPROVAL_REQUIRED, [], Code.NOT_APPROVED),
    "denied": (True, Rule.APPROVAL_REQUIRED, [S.DENIED], Code.NOT_APPROVED),
    "withdrawn": (True, Rule.APPROVAL_REQUIRED, [S.WITHDRAWN], Code.NOT_APPROVED),
    "revoked": (True, Rule.APPROVAL_REQUIRED, [S.REVOKED], Code.NOT_APPROVED),
    "expired": (True, Rule.APPROVAL_REQUIRED, [S.EXPIRED], Code.NOT_APPROVED),
    "policy published": (True, Rule.DISCLOSURE_ONLY, [S.PUBLISHED], Code.DISCLOSED),
    "policy not yet published": (True, Rule.DISCLOSURE_ONLY, [S.SUBMITTED], Code.DISCLOSURE_PENDING),
    "no policy asked for": (True, Rule.DISCLOSURE_ONLY, [], Code.DISCLOSURE_PENDING),
    "no rule": (True, None, [S.APPROVED], Code.NO_RULE),
}


@pytest.mark.parametrize(
    ("covered", "rule", "statuses", "expected"), DERIVE_CASES.values(), ids=DERIVE_CASES.keys()
)
def test_derive_gives_the_code_for_the_rule_and_the_requests(covered, rule, statuses, expected):
    agency = Agency(covered=covered)
    category_rule = CategoryRule(rule=rule) if rule else None
    requests = [unsaved_request(status) for status in statuses]

    assert board.derive(category_rule, agency, requests, TODAY) == expected


def test_derive_counts_the_approval_that_runs_longest_for_its_conditions():
    requests = [
        unsaved_request(S.APPROVED_WITH_CONDITIONS, expires_on=TODAY + datetime.timedelta(days=10)),
        unsaved_request(S.APPROVED, expires_on=TODAY + datetime.timedelta(days=100)),
    ]

    code = board.derive(CategoryRule(rule=Rule.APPROVAL_REQUIRED), Agency(covered=True), requests, TODAY)

    assert code == Code.APPROVED


@pytest.mark.parametrize(
    ("effective_on", "expires_on", "expected"),
    [
        (None, TODAY, Code.APPROVED),
        (None, TODAY - datetime.timedelta(days=1), Code.NOT_APPROVED),
        (TODAY + datetime.timedelta(days=1), None, Code.NOT_APPROVED),
        (TODAY, None, Code.APPROVED),
    ],
    ids=["last day", "day after", "before it takes effect", "open-ended from today"],
)
def test_derive_counts_an_approval_only_while_it_is_in_effect(effective_on, expires_on, expected):
    request = unsaved_request(S.APPROVED, effective_on=effective_on, expires_on=expires_on)
    rule = CategoryRule(rule=Rule.APPROVAL_REQUIRED)

    assert board.derive(rule, Agency(covered=True), [request], TODAY) == expected


@pytest.mark.parametrize("code", list(StatusCode))
def test_every_status_code_has_words(code):
    assert board_status_label(code) != str(code)


# ---------------------------------------------------------------------------
# Speed: a fixed number of queries however many rows
# ---------------------------------------------------------------------------


@pytest.fixture
def grow(ordinance, agency_a, drone, face_recognition, liaison_a, make_request):
    """Add `n` inventory rows, agencies, technologies and public requests around A and the drone."""
    added = itertools.count()

    def add(n: int) -> None:
        for _ in range(n):
            i = next(added)
            agency = baker.make(Agency, slug=f"agency-{i}", name=f"Agency {i}")
            agency.liaisons.add(liaison_a)
            technology = baker.make(Technology, slug=f"tech-{i}", name=f"Tech {i}", category=Category.DRONES)
            baker.make(Technology, slug=f"face-{i}", name=f"Face {i}", category=Category.FACIAL_RECOGNITION)
            baker.make(TechnologyUse, agency=agency_a, technology=technology)
            baker.make(TechnologyUse, agency=agency, technology=drone)
            make_request(S.APPROVED if i % 2 else S.SUBMITTED, technology=technology)
            make_request(S.IN_REVIEW, agency=agency)

    return add


def queries(build) -> tuple[int, int]:
    """How many queries building the board takes, and how many rows it has."""
    with CaptureQueriesContext(connection) as captured:
        result = build()
    return len(captured.captured_queries), len(result.all_entries)


@pytest.mark.parametrize("page", ["agency", "technology"])
def test_a_board_runs_the_same_queries_for_2_and_20_rows(page, grow, agency_a, drone):
    def build():
        return board.for_agency(agency_a) if page == "agency" else board.for_technology(drone)

    grow(2)
    small, small_rows = queries(build)
    grow(18)
    large, large_rows = queries(build)

    assert large_rows > small_rows + 17
    assert large == small


# ---------------------------------------------------------------------------
# A page at a time: the same statuses as the whole derivation
# ---------------------------------------------------------------------------


def reference_board(owner: Agency | Technology) -> dict[tuple[int, int, bool], tuple]:
    """
    The board of `owner` the plain way: every public request of every row loaded and fed to
    `derive`, rows from the inventory, the requests and the prohibitions. What each row shows
    (code, expiry, approvals in effect, pending requests), by (agency, technology, demo).
    """
    today = timezone.localdate()
    rules = list(
        CategoryRule.objects.filter(ordinance__status__in=Ordinance.IN_FORCE).select_related("ordinance")
    )
    scope = {"technology": owner} if isinstance(owner, Technology) else {"agency": owner}
    rows: dict[tuple[int, int, bool], tuple[Agency, Technology, list[Request]]] = {}

    def row(agency: Agency, technology: Technology, record_is_demo: bool) -> list[Request]:
        key = (agency.pk, technology.pk, agency.is_demo or technology.is_demo or record_is_demo)
        return rows.setdefault(key, (agency, technology, []))[2]

    for use in TechnologyUse.objects.filter(**scope).select_related("agency", "technology"):
        row(use.agency, use.technology, use.is_demo)
    for request in (
        Request.objects.public().filter(**scope).select_related("agency", "technology", "decision")
    ):
        row(request.agency, request.technology, request.is_demo).append(request)
    if isinstance(owner, Agency) and owner.covered:
        for technology in Technology.objects.filter(is_demo=owner.is_demo):
            rule = governing_rule(rules, technology.category, is_demo=owner.is_demo)
            if rule is not None and rule.rule == Rule.PROHIBITED:
                row(owner, technology, owner.is_demo)
    if isinstance(owner, Technology):
        rule = governing_rule(rules, owner.category, is_demo=owner.is_demo)
        if rule is not None and rule.rule == Rule.PROHIBITED:
            for agency in Agency.objects.filter(covered=True, is_demo=owner.is_demo):
                row(agency, owner, owner.is_demo)
    shown = {}
    for key, (agency, technology, requests) in rows.items():
        requests.sort(key=lambda r: (r.created_at, r.pk))
        rule = governing_rule(rules, technology.category, is_demo=key[2])
        active = board.active_approvals(requests, today)
        shown[key] = (
            board.derive(rule, agency, requests, today),
            active[-1].decision.expires_on if active else None,
            [r.pk for r in active],
            sorted(r.pk for r in board.pending_requests(requests)),
        )
    return shown


def paged_board(owner: Agency | Technology) -> tuple[dict[tuple[int, int, bool], tuple], Counter]:
    """Every page of `owner`'s paged board, two rows a page, and the counts its summaries give."""
    build = board.page_for_technology if isinstance(owner, Technology) else board.page_for_agency
    shown, counted = {}, Counter()
    number = 1
    while True:
        paged = build(owner, page=number, demo_page=number, per_page=2)  # type: ignore[operator]
        sections = [paged.section, *([paged.demo] if paged.demo else [])]
        for section in sections:
            if number <= section.page.paginator.num_pages:
                for e in section.entries:
                    key = (e.agency.pk, e.technology.pk, e.is_demo)
                    assert key not in shown, "a row shows on two pages"
                    shown[key] = (e.code, e.until, [r.pk for r in e.active], sorted(r.pk for r in e.pending))
        if number == 1:
            for section in sections:
                counted.update({(code, section is paged.demo): n for code, n in section.counts})
        if all(number >= section.page.paginator.num_pages for section in sections):
            return shown, counted
        number += 1


@pytest.fixture
def mixed_city(
    ordinance,
    agency_a,
    agency_b,
    liaison_a,
    liaison_b,
    drone,
    face_recognition,
    body_cameras,
    gunshot_sensors,
    make_request,
    decided,
):
    """
    Agencies and technologies in every status: prohibited (with and without an exception),
    approved (with and without conditions, two approvals ending the same day), an approval
    past its term and one expired by the workflow, pending, denied, disclosed, no rule, an
    agency the ordinances do not bind, and demo rows beside real ones.
    """
    sheriff = baker.make(Agency, slug="sheriff", name="County Sheriff", covered=False)
    demo_agency = baker.make(Agency, name="Demo Fire Department", slug="demo-fire", is_demo=True)
    demo_drone = baker.make(
        Technology, name="Demo sky camera", slug="demo-sky", category=Category.DRONES, is_demo=True
    )
    for i in range(3):
        baker.make(Technology, name=f"Face {i}", slug=f"face-{i}", category=Category.FACIAL_RECOGNITION)
    liaison_a.liaison_agencies.add(demo_agency, sheriff)
    baker.make(TechnologyUse, agency=agency_a, technology=gunshot_sensors)
    baker.make(TechnologyUse, agency=agency_a, technology=demo_drone, is_demo=True)
    baker.make(TechnologyUse, agency=sheriff, technology=face_recognition)
    baker.make(TechnologyUse, agency=demo_agency, technology=drone, is_demo=True)
    make_request(S.APPROVED, kind=K.EXCEPTION, technology=face_recognition)
    with_conditions = make_request(S.APPROVED_WITH_CONDITIONS)
    decided(expires_on=with_conditions.decision.expires_on)  # ends the same day, made later
    decided(agency=agency_b, liaison=liaison_b, expires_on=days_from_today(300))
    make_request(S.APPROVED_WITH_CONDITIONS, agency=agency_b, liaison=liaison_b)
    make_request(S.IN_REVIEW, agency=agency_b, liaison=liaison_b)
    decided(
        agency=agency_b,
        liaison=liaison_b,
        technology=body_cameras,
        kind=K.APPROVAL,
        decided_on=days_from_today(-5),
        effective_on=days_from_today(-5),
        expires_on=days_from_today(-1),
    )
    make_request(S.DENIED, agency=agency_b, liaison=liaison_b, technology=body_cameras)
    make_request(S.SUBMITTED, agency=sheriff, technology=drone)
    make_request(S.IN_REVIEW, agency=demo_agency, technology=demo_drone)
    make_request(S.APPROVED, technology=drone, is_demo=True)
    make_request(S.SUBMITTED, agency=agency_b, liaison=liaison_b, technology=demo_drone)
    expired = decided(
        agency=agency_b,
        liaison=liaison_b,
        decided_on=days_from_today(-5),
        effective_on=days_from_today(-5),
        expires_on=days_from_today(-1),
    )
    workflow.expire_due()
    expired.refresh_from_db()
    assert expired.status == S.EXPIRED
    return [agency_a, agency_b, sheriff, demo_agency], [
        drone,
        face_recognition,
        body_cameras,
        gunshot_sensors,
        demo_drone,
    ]


def test_paged_boards_show_every_row_as_the_whole_derivation_does(mixed_city):
    agencies, technologies = mixed_city
    for owner in [*agencies, *technologies]:
        expected = reference_board(owner)

        shown, counted = paged_board(owner)

        assert shown == expected, owner
        page_is_demo = owner.is_demo
        assert counted == Counter(
            (code, key[2] and not page_is_demo) for key, (code, *_) in expected.items()
        ), owner


def test_the_mixed_city_has_a_row_in_every_status(mixed_city):
    agencies, _ = mixed_city
    codes = {code for owner in agencies for code, *_ in reference_board(owner).values()}

    assert codes >= set(StatusCode) - {Code.DISCLOSED}


# ---------------------------------------------------------------------------
# A paged row shows a few approvals and pending requests, however many it has had
# ---------------------------------------------------------------------------


def copies(request: Request, n: int, *, expires_on: list[datetime.date] | None = None) -> list[Request]:
    """`n` copies of `request` (and of its decision, ending on `expires_on[i]` if given), saved in bulk."""
    made = []
    start = Request.objects.count()
    for i in range(n):
        copy = Request.objects.get(pk=request.pk)
        copy.pk = None
        copy.reference = f"REQ-1998-{start + i:05d}"
        made.append(copy)
    Request.objects.bulk_create(made)
    if hasattr(request, "decision"):
        decisions = []
        for i, copy in enumerate(made):
            decision = Decision.objects.get(pk=request.decision.pk)
            decision.pk = None
            decision.request = copy
            if expires_on is not None:
                decision.expires_on = expires_on[i]
            decisions.append(decision)
        Decision.objects.bulk_create(decisions)
    return made


def paged_row(agency: Agency, technology: Technology) -> BoardEntry:
    (row,) = [e for e in board.page_for_agency(agency).section.entries if e.technology.pk == technology.pk]
    return row


def test_a_paged_row_shows_the_approvals_that_run_longest_and_counts_the_others(
    decided, make_request, agency_a, drone
):
    first = decided(expires_on=days_from_today(100))
    others = copies(first, 4, expires_on=[days_from_today(days) for days in (50, 300, 200, 10)])

    row = paged_row(agency_a, drone)

    assert [r.pk for r in row.active] == [first.pk, others[2].pk, others[1].pk]
    assert (row.active_count, row.more_active, row.until) == (5, 2, days_from_today(300))
    assert row.code == entry(agency_a, drone).code == Code.APPROVED


def test_a_paged_row_shows_the_pending_requests_made_first_and_counts_the_others(
    make_request, agency_a, drone
):
    pending = [make_request(S.IN_REVIEW) for _ in range(4)]

    row = paged_row(agency_a, drone)

    assert list(row.pending) == pending[: board.CELL_ROWS]
    assert (row.pending_count, row.more_pending, row.code) == (4, 1, Code.PENDING)


def test_a_row_with_few_approvals_shows_them_all(decided, agency_a, drone):
    first = decided(expires_on=days_from_today(100))
    copies(first, 1)

    row = paged_row(agency_a, drone)

    assert (row.active_count, row.more_active, len(row.active)) == (2, 0, 2)


def test_a_paged_board_runs_the_same_queries_for_3_and_40_approvals(decided, make_request, agency_a, drone):
    first = decided(expires_on=days_from_today(100))
    make_request(S.IN_REVIEW)
    copies(first, 2)
    with CaptureQueriesContext(connection) as few:
        paged_row(agency_a, drone)
    copies(first, 37)

    with CaptureQueriesContext(connection) as many:
        row = paged_row(agency_a, drone)

    assert len(many.captured_queries) == len(few.captured_queries)
    assert (row.active_count, len(row.active), row.pending_count) == (40, board.CELL_ROWS, 1)
