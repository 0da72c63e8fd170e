"""
The status board: where each agency stands with each technology, derived from the record.

A row exists for an agency and a technology when the inventory has a row for them, when
the agency has made a public request for the technology, or when the rule in force
prohibits the technology's category for a covered agency. Which of these made the row
does not change its status: the status comes from the governing rule and the public
requests alone, so an approval shows at once, on the agency's and the technology's page,
whether or not a clerk has recorded the use.

Each row is a value (`BoardEntry`): a `StatusCode`, the rule and its ordinance, the
requests and dates behind the code. It holds no words; templates turn it into words
where it is shown (`board_status_label` in `ordinances.templatetags.portal`).

Demo records never govern or sit among real ones. A row is a demo row when its agency,
its technology or the record that made it (inventory row or request) is a demo record;
only demo rows may be governed by a demo ordinance, and a real page lists them apart in
`Board.demo_entries` for a clearly labelled section.

Every board is built in a fixed number of queries, however many rows it has: the rules
in force, the inventory rows, the requests (with their decisions), their ordinances'
deadline rows (for each pending request's next date) and the records the prohibitions
reach, one query each.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef
from django.utils import timezone

from ordinances.models import (
    EVERY_OTHER_CATEGORY,
    Agency,
    Category,
    CategoryRule,
    Ordinance,
    Request,
    RequestQuerySet,
    StatutoryException,
    Technology,
    TechnologyUse,
    governing_rule,
)


class StatusCode(enum.StrEnum):
    """
    Where an agency stands with a technology. Codes, not words: the words (and their
    translations) are made where a code is shown.
    """

    NOT_COVERED = "not_covered"  # the city's ordinances do not bind the agency
    PROHIBITED = "prohibited"
    PROHIBITED_WITH_EXCEPTIONS = "prohibited_with_exceptions"  # prohibited, an exception in effect
    APPROVED = "approved"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions"
    PENDING = "pending"  # approval required, a request with the council, none in effect
    NOT_APPROVED = "not_approved"  # approval required, none in effect or pending
    DISCLOSED = "disclosed"  # disclosure-only law, the use policy published and in effect
    DISCLOSURE_PENDING = "disclosure_pending"  # disclosure-only law, no policy in effect yet
    NO_RULE = "no_rule"  # no ordinance in force speaks about the category


def active_approvals(requests: Iterable[Request], today: datetime.date) -> list[Request]:
    """
    The requests whose approval (or published policy) is in effect on `today`, the one
    that runs longest last: an approval with no end date outlasts every dated one.
    """
    return sorted(
        (r for r in requests if r.is_active_approval(today)),
        key=lambda r: r.decision.expires_on or datetime.date.max,
    )


def pending_requests(requests: Iterable[Request]) -> list[Request]:
    """The requests still with the council (or returned to the agency mid-review)."""
    return [r for r in requests if r.status in Request.PENDING]


def derive(
    rule: CategoryRule | None, agency: Agency, requests: Iterable[Request], today: datetime.date
) -> StatusCode:
    """
    The status of `agency`'s use of a technology, from the rule governing its category
    (or None) and the agency's public requests for the technology (decisions loaded).

    Pure: it reads only what it is given, so the boards can feed it rows loaded in bulk
    and tests can feed it any combination.
    """
    if not agency.covered:
        return StatusCode.NOT_COVERED
    if rule is None:
        return StatusCode.NO_RULE
    requests = list(requests)
    active = active_approvals(requests, today)
    if rule.rule == CategoryRule.Rule.PROHIBITED:
        return StatusCode.PROHIBITED_WITH_EXCEPTIONS if active else StatusCode.PROHIBITED
    if rule.rule == CategoryRule.Rule.APPROVAL_REQUIRED:
        if active:
            # The approval that runs longest decides whether conditions come with it.
            if active[-1].status == Request.Status.APPROVED_WITH_CONDITIONS:
                return StatusCode.APPROVED_WITH_CONDITIONS
            return StatusCode.APPROVED
        return StatusCode.PENDING if pending_requests(requests) else StatusCode.NOT_APPROVED
    return StatusCode.DISCLOSED if active else StatusCode.DISCLOSURE_PENDING


@dataclass(frozen=True)
class BoardEntry:
    """One agency and one technology: the code and the record behind it, no words."""

    agency: Agency
    technology: Technology
    use: TechnologyUse | None
    rule: CategoryRule | None  # with `ordinance` loaded
    code: StatusCode
    active: tuple[Request, ...]  # approvals in effect, the one that runs longest last
    pending: tuple[Request, ...]
    until: datetime.date | None  # when the longest active approval ends; None if open-ended or none
    is_demo: bool = False

    @property
    def active_count(self) -> int:
        return len(self.active)

    @property
    def pending_count(self) -> int:
        return len(self.pending)


@dataclass(frozen=True)
class Board:
    """
    The rows of one agency's or one technology's page. `demo_entries` are the demo rows of
    a real record's page, for a section of their own; a demo record's page has only
    demo rows, all in `entries`. `rule` is, on a technology's page, the rule governing
    its category (for the page's own kind of record).
    """

    entries: tuple[BoardEntry, ...]
    demo_entries: tuple[BoardEntry, ...] = ()
    rule: CategoryRule | None = None

    @property
    def all_entries(self) -> tuple[BoardEntry, ...]:
        return self.entries + self.demo_entries


# ---------------------------------------------------------------------------
# Building the boards
# ---------------------------------------------------------------------------

# A row is one agency, one technology, and whether it is a demo row.
_Key = tuple[int, int, bool]


@dataclass
class _Row:
    agency: Agency
    technology: Technology
    is_demo: bool
    use: TechnologyUse | None = None
    requests: list[Request] = field(default_factory=list)


def _rules_in_force() -> list[CategoryRule]:
    """Every rule of every ordinance in force, demo ones included, with its ordinance: one query."""
    return list(
        CategoryRule.objects.filter(ordinance__status__in=Ordinance.IN_FORCE).select_related("ordinance")
    )


class _Rules:
    """The rules in force, and the rule governing each category for real or demo rows, worked out once."""

    def __init__(self, rules: list[CategoryRule]) -> None:
        self.rules = rules
        self._governing: dict[tuple[str, bool], CategoryRule | None] = {}

    def governing(self, category: str, *, is_demo: bool) -> CategoryRule | None:
        key = (category, is_demo)
        if key not in self._governing:
            self._governing[key] = governing_rule(self.rules, category, is_demo=is_demo)
        return self._governing[key]

    def prohibits(self, category: str, *, is_demo: bool) -> bool:
        rule = self.governing(category, is_demo=is_demo)
        return rule is not None and rule.rule == CategoryRule.Rule.PROHIBITED

    def prohibited_categories(self, *, is_demo: bool) -> list[str]:
        return [category for category in Category.values if self.prohibits(category, is_demo=is_demo)]


def _is_demo(agency: Agency, technology: Technology, record_is_demo: bool) -> bool:
    return agency.is_demo or technology.is_demo or record_is_demo


def _collect(uses: Iterable[TechnologyUse], requests: Iterable[Request]) -> dict[_Key, _Row]:
    """The rows the inventory and the public requests make, each record in its real or demo row."""
    rows: dict[_Key, _Row] = {}

    def row(agency: Agency, technology: Technology, record_is_demo: bool) -> _Row:
        demo = _is_demo(agency, technology, record_is_demo)
        key = (agency.pk, technology.pk, demo)
        if key not in rows:
            rows[key] = _Row(agency, technology, demo)
        return rows[key]

    for use in uses:
        row(use.agency, use.technology, use.is_demo).use = use
    for request in requests:
        row(request.agency, request.technology, request.is_demo).requests.append(request)
    return rows


def _entry(row: _Row, rules: _Rules, today: datetime.date) -> BoardEntry:
    rule = rules.governing(row.technology.category, is_demo=row.is_demo)
    active = active_approvals(row.requests, today)
    return BoardEntry(
        agency=row.agency,
        technology=row.technology,
        use=row.use,
        rule=rule,
        code=derive(rule, row.agency, row.requests, today),
        active=tuple(active),
        pending=tuple(pending_requests(row.requests)),
        until=active[-1].decision.expires_on if active else None,
        is_demo=row.is_demo,
    )


def _board(
    rows: Iterable[_Row],
    rules: _Rules,
    today: datetime.date,
    *,
    page_is_demo: bool,
    rule: CategoryRule | None,
) -> Board:
    """Real rows first and apart from demo rows, unless the page's own record is a demo."""
    entries = [_entry(row, rules, today) for row in rows]
    if page_is_demo:
        return Board(entries=tuple(entries), rule=rule)
    return Board(
        entries=tuple(e for e in entries if not e.is_demo),
        demo_entries=tuple(e for e in entries if e.is_demo),
        rule=rule,
    )


def _public_requests() -> RequestQuerySet:
    # The ordinance's deadline rows give each pending request its next date on the board.
    return (
        Request.objects.public()
        .select_related("agency", "technology", "decision", "exception", "ordinance")
        .prefetch_related("ordinance__deadlines")
        .order_by("created_at")
    )


def for_agency(agency: Agency, today: datetime.date | None = None) -> Board:
    """
    Every technology `agency` has an inventory row or a public request for, and, when the
    city's ordinances bind it, every technology whose category the rule in force prohibits,
    by technology name. Five queries, however many rows.
    """
    today = today or timezone.localdate()
    rules = _Rules(_rules_in_force())
    rows = _collect(
        TechnologyUse.objects.filter(agency=agency).select_related("agency", "technology"),
        _public_requests().filter(agency=agency),
    )
    if agency.covered:
        # Prohibitions reach the records of the page's own kind: real technologies on a real
        # agency's page, demo technologies on a demo agency's.
        prohibited = rules.prohibited_categories(is_demo=agency.is_demo)
        for technology in Technology.objects.filter(is_demo=agency.is_demo, category__in=prohibited):
            rows.setdefault(
                (agency.pk, technology.pk, agency.is_demo), _Row(agency, technology, agency.is_demo)
            )
    ordered = sorted(rows.values(), key=lambda row: (row.technology.name, row.technology.pk))
    return _board(ordered, rules, today, page_is_demo=agency.is_demo, rule=None)


def for_technology(technology: Technology, today: datetime.date | None = None) -> Board:
    """
    Every agency with an inventory row or a public request for `technology`, and, when the
    rule in force prohibits its category, every covered agency, by agency name. Five
    queries, however many rows.
    """
    today = today or timezone.localdate()
    rules = _Rules(_rules_in_force())
    rows = _collect(
        TechnologyUse.objects.filter(technology=technology).select_related("agency", "technology"),
        _public_requests().filter(technology=technology),
    )
    own_rule = rules.governing(technology.category, is_demo=technology.is_demo)
    if rules.prohibits(technology.category, is_demo=technology.is_demo):
        # As on an agency's page: real agencies on a real technology's page, demo on a demo's.
        for agency in Agency.objects.filter(covered=True, is_demo=technology.is_demo):
            key = (agency.pk, technology.pk, technology.is_demo)
            rows.setdefault(key, _Row(agency, technology, technology.is_demo))
    ordered = sorted(rows.values(), key=lambda row: (row.agency.name, row.agency.pk))
    return _board(ordered, rules, today, page_is_demo=technology.is_demo, rule=own_rule)


def for_inventory(uses: Iterable[TechnologyUse], today: datetime.date | None = None) -> list[BoardEntry]:
    """
    The entry of each inventory row in `uses` (agency and technology loaded), in their order:
    the code and record its agency's and its technology's pages show for that row. For the
    Atlas of Surveillance export (`ordinances.atlas`). Three queries, however many rows: the
    rules in force, the public requests for inventoried agency-technology pairs, and their
    ordinances' deadline rows.
    """
    today = today or timezone.localdate()
    uses = list(uses)
    rules = _Rules(_rules_in_force())
    inventoried = TechnologyUse.objects.filter(agency=OuterRef("agency"), technology=OuterRef("technology"))
    rows = _collect(uses, _public_requests().filter(Exists(inventoried)))
    entries = {row.use.pk: _entry(row, rules, today) for row in rows.values() if row.use is not None}
    return [entries[use.pk] for use in uses]


# ---------------------------------------------------------------------------
# What the city prohibits, for the home page
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Prohibitions:
    """
    What the real ordinances in force prohibit, and whom they bind, for the home page's
    one sentence: the prohibiting rules (with their ordinances and the exceptions those
    name), and a covered police agency, named because it is the agency residents ask about.
    """

    rules: tuple[CategoryRule, ...]
    police: Agency | None

    @property
    def categories(self) -> list[str]:
        """The prohibited categories by name, each once."""
        return list(dict.fromkeys(str(rule.get_category_display()) for rule in self.rules))

    @property
    def exceptions(self) -> list[StatutoryException]:
        """The exceptions the prohibiting ordinances name for the categories they prohibit."""
        found = {
            exception.pk: exception
            for rule in self.rules
            for exception in rule.ordinance.exceptions.all()
            if rule.category == EVERY_OTHER_CATEGORY or exception.applies_to(rule.category)
        }
        return list(found.values())

    @property
    def exceptions_unverified(self) -> bool:
        return any(not exception.verified for exception in self.exceptions)


def prohibitions() -> Prohibitions:
    """What the city's real ordinances in force prohibit (demo ordinances never speak for the city). Three queries."""
    rules = (
        CategoryRule.objects.filter(
            rule=CategoryRule.Rule.PROHIBITED,
            ordinance__status__in=Ordinance.IN_FORCE,
            ordinance__is_demo=False,
        )
        .select_related("ordinance")
        .prefetch_related("ordinance__exceptions")
        .order_by("category", "ordinance__file_number")
    )
    police = (
        Agency.objects.filter(covered=True, kind=Agency.Kind.POLICE, is_demo=False).order_by("name").first()
    )
    return Prohibitions(tuple(rules), police)
