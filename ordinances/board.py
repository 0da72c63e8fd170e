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

Every board is built in a fixed number of queries, however many rows it has, and loads
only the requests a status can depend on (those in effect and those pending: `derive`
reads no other), so its cost does not grow with the years of decided, denied and expired
requests. Pages show a board a page at a time (`page_for_agency`, `page_for_technology`):
how many rows stand in each status, counted from the few facts `derive` reads
(`derive_from_facts`) of the telling requests alone, then the rows of one page and the
records behind those rows only.
"""

from __future__ import annotations

import datetime
import enum
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    Count,
    DateField,
    Exists,
    F,
    OrderBy,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from ordinances.models import (
    EVERY_OTHER_CATEGORY,
    Agency,
    Category,
    CategoryRule,
    Decision,
    Ordinance,
    Request,
    RequestQuerySet,
    StatutoryException,
    Technology,
    TechnologyUse,
    constants,
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
    requests = list(requests)
    active = active_approvals(requests, today)
    return derive_from_facts(
        rule,
        covered=agency.covered,
        longest_active=active[-1].status if active else None,
        pending=bool(pending_requests(requests)),
    )


def derive_from_facts(
    rule: CategoryRule | None, *, covered: bool, longest_active: str | None, pending: bool
) -> StatusCode:
    """
    The same status as `derive`, from the only facts of the requests it reads: the status of
    the approval in effect that runs longest (None when none is in effect) and whether a
    request is pending. Paged boards count their rows' statuses from these facts, worked
    out in SQL, so a summary never loads the requests behind it.
    """
    if not covered:
        return StatusCode.NOT_COVERED
    if rule is None:
        return StatusCode.NO_RULE
    if rule.rule == CategoryRule.Rule.PROHIBITED:
        return StatusCode.PROHIBITED_WITH_EXCEPTIONS if longest_active else StatusCode.PROHIBITED
    if rule.rule == CategoryRule.Rule.APPROVAL_REQUIRED:
        if longest_active:
            # The approval that runs longest decides whether conditions come with it.
            if longest_active == Request.Status.APPROVED_WITH_CONDITIONS:
                return StatusCode.APPROVED_WITH_CONDITIONS
            return StatusCode.APPROVED
        return StatusCode.PENDING if pending else StatusCode.NOT_APPROVED
    return StatusCode.DISCLOSED if longest_active else StatusCode.DISCLOSURE_PENDING


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
    # How many more there are than `active` and `pending` hold, on a page that shows only the
    # first `CELL_ROWS` of each (`page_for_agency`, `page_for_technology`); 0 on a full board.
    more_active: int = 0
    more_pending: int = 0

    @property
    def active_count(self) -> int:
        return len(self.active) + self.more_active

    @property
    def pending_count(self) -> int:
        return len(self.pending) + self.more_pending


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
    # How many approvals in effect and pending requests the row has in all, when `requests`
    # holds only the first `CELL_ROWS` of each; None when it holds them all.
    active_total: int | None = None
    pending_total: int | None = None


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
    pending = pending_requests(row.requests)
    return BoardEntry(
        agency=row.agency,
        technology=row.technology,
        use=row.use,
        rule=rule,
        code=derive(rule, row.agency, row.requests, today),
        active=tuple(active),
        pending=tuple(pending),
        until=active[-1].decision.expires_on if active else None,
        is_demo=row.is_demo,
        more_active=0 if row.active_total is None else row.active_total - len(active),
        more_pending=0 if row.pending_total is None else row.pending_total - len(pending),
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
        .order_by("created_at", "pk")
    )


def _in_effect_until(today: datetime.date) -> Subquery:
    """
    For each request, the last day its decision is in effect if it is in effect on `today`
    (`datetime.date.max` when it has no end), else NULL: with `Request.ACTIVE_STATES`, what
    `Request.is_active_approval` reads. A lookup per request through the decision's unique
    index: as a join, PostgreSQL would read every decision in the city to match a few hundred.
    """
    decision = Decision.objects.filter(
        Q(effective_on__isnull=True) | Q(effective_on__lte=today),
        Q(expires_on__isnull=True) | Q(expires_on__gte=today),
        request=OuterRef("pk"),
    )
    until = Coalesce("expires_on", Value(datetime.date.max), output_field=DateField())
    return Subquery(decision.values_list(until)[:1], output_field=DateField())


# The statuses of the requests a status can depend on: those pending and those that may be in
# effect. `derive` reads no other (`active_approvals`, `pending_requests`), so a board loads
# only these and its cost does not grow with the requests denied, withdrawn or expired over the
# years. Whether an approval is in effect on the day is left to `Request.is_active_approval`:
# in SQL it would OR the statuses with the decision's dates, and PostgreSQL then spends longer
# planning the query (trying every index on each side of the OR) than running it.
TELLING_STATES = (*Request.PENDING, *Request.ACTIVE_STATES)

# How many approvals in effect, and how many pending requests, a row of a paged board shows:
# the approvals that run longest (the last of them decides the row's status and its end) and
# the pending requests made first, with how many more there are. The rest are one link away,
# on the request list, so a row does not grow with the years of renewals.
CELL_ROWS = 3


def _telling_order() -> tuple[OrderBy, str, str]:
    """
    The order `_Scope.counts` reads the telling requests in: those with no end in effect first
    (pending requests, approvals not in effect), then the approvals in effect by their end, the
    one that runs longest last, as `active_approvals` orders them; each group as made
    (`created_at`, then `pk`). Pending requests then come as made and the approvals in effect
    as `active_approvals` sorts them.
    """
    return F("until").asc(nulls_first=True), "created_at", "pk"


# A page number as a request sends it (any text, or nothing); the paginator makes sense of it.
PageNumber = int | str | None


class _KnownCountPaginator(Paginator):
    """A paginator told its count (the board's summary has it) instead of running COUNT(*) again."""

    def __init__(self, object_list: QuerySet[Any], per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


@dataclass(frozen=True)
class BoardSection:
    """
    One table of a board, a page at a time: `page` is a paginator page whose `object_list`
    holds this page's `BoardEntry` rows; `counts` says how many rows of the whole table stand
    in each status (nonzero counts, in `StatusCode` order).
    """

    page: Page
    counts: tuple[tuple[StatusCode, int], ...]

    @property
    def entries(self) -> list[BoardEntry]:
        return list(self.page.object_list)

    @property
    def total(self) -> int:
        return self.page.paginator.count


@dataclass(frozen=True)
class BoardPage:
    """
    A board as a page shows it: its main table (`section`) and, on a real record's page, its
    demo rows apart (`demo`, None when there are none); `rule` as on `Board`.
    """

    section: BoardSection
    demo: BoardSection | None
    rule: CategoryRule | None


class _Scope:
    """
    The board of one record (`owner`, an agency or a technology) in SQL: which rows it has,
    each named by the other record (a technology on an agency's page, an agency on a
    technology's), table by table (`is_demo`: the real rows or the demo rows), with the facts
    each row's status needs. A row's demo flag is fixed by its table, so every query here is
    of one table's rows.
    """

    def __init__(
        self, owner: Agency | Technology, rules: _Rules, today: datetime.date, *, demo_rows: bool = True
    ) -> None:
        self.owner = owner
        self.rules = rules
        self.today = today
        # False when the caller knows a real owner has no demo rows: its demo table is not asked for.
        self.demo_rows = demo_rows
        self.by_agency = isinstance(owner, Technology)  # the rows name agencies
        self.own = "technology" if self.by_agency else "agency"
        self.other = "agency" if self.by_agency else "technology"
        self.model: type[Agency] | type[Technology] = Agency if self.by_agency else Technology
        # The telling requests `counts` read, by table and by other record: (status, until, pk)
        # each, in `_telling_order`, for `entries` to choose the few each row shows.
        self.telling: dict[bool, dict[int, list[tuple[str, datetime.date | None, int]]]] = {}

    @property
    def tables(self) -> tuple[bool, ...]:
        """
        The demo flags of the page's tables: real rows then demo rows; a demo record's page has
        only demo rows, a real one known to have none (`demo_rows`) only real rows.
        """
        if self.owner.is_demo:
            return (True,)
        return (False, True) if self.demo_rows else (False,)

    def _records(self, is_demo: bool) -> Q:
        """Which of the owner's uses and requests belong to rows of the table (see `_is_demo`)."""
        if self.owner.is_demo:
            return Q()
        if not is_demo:
            return Q(is_demo=False, **{f"{self.other}__is_demo": False})
        return Q(is_demo=True) | Q(**{f"{self.other}__is_demo": True})

    def uses(self, is_demo: bool, records: Q | None = None) -> QuerySet[TechnologyUse]:
        """The owner's inventory rows of the table's rows (`records`, when given, in place of `_records`)."""
        records = self._records(is_demo) if records is None else records
        return TechnologyUse.objects.filter(records, **{self.own: self.owner})

    def requests(self, is_demo: bool, records: Q | None = None) -> RequestQuerySet:
        """The owner's public requests of the table's rows (`records` as in `uses`)."""
        records = self._records(is_demo) if records is None else records
        return Request.objects.public().filter(records, **{self.own: self.owner})

    def _reached(self, is_demo: bool) -> Q | None:
        """
        The rows a prohibition makes, of the page's own kind of record only (real on a real
        record's page, demo on a demo's), or None.
        """
        if is_demo != self.owner.is_demo:
            return None
        if isinstance(self.owner, Technology):
            if self.rules.prohibits(self.owner.category, is_demo=self.owner.is_demo):
                return Q(covered=True, is_demo=self.owner.is_demo)
            return None
        if not self.owner.covered:
            return None
        prohibited = self.rules.prohibited_categories(is_demo=self.owner.is_demo)
        return Q(is_demo=self.owner.is_demo, category__in=prohibited) if prohibited else None

    def rows(self, is_demo: bool) -> QuerySet[Any]:
        """The other records with a row in the table, by name: one query when read."""
        if self.owner.is_demo:
            reach = Q(pk__in=self.uses(is_demo).values(self.other)) | Q(
                pk__in=self.requests(is_demo).values(self.other)
            )
        elif not is_demo:
            # Only real records have a row in a real page's real table (filtered below), so a
            # use or request is picked by its own flag: joined to its other record for that
            # record's flag, each subquery read that whole table.
            own = Q(is_demo=False)
            reach = Q(pk__in=self.uses(is_demo, own).values(self.other)) | Q(
                pk__in=self.requests(is_demo, own).values(self.other)
            )
        else:
            # A demo row: a demo use or request, or any of a demo record. Asked in that order,
            # and each without a join, the database need not read the owner's uses and requests
            # again when no record they name is a demo (the city's own data has none).
            demo, every = Q(is_demo=True), Q()
            reach = (
                Q(pk__in=self.uses(is_demo, demo).values(self.other))
                | Q(pk__in=self.requests(is_demo, demo).values(self.other))
                | Q(is_demo=True, pk__in=self.uses(is_demo, every).values(self.other))
                | Q(is_demo=True, pk__in=self.requests(is_demo, every).values(self.other))
            )
        if (reached := self._reached(is_demo)) is not None:
            reach |= reached
        others = self.model.objects.filter(reach)
        if not is_demo:
            others = others.filter(is_demo=False)
        return others.order_by("name", "pk")

    def counts(self, is_demo: bool) -> tuple[tuple[StatusCode, int], ...]:
        """
        How many rows of the table stand in each status, in two queries whatever the number of
        rows (one when the table has none): how many rows there are of each kind (category or coverage, all a row's rule and
        coverage depend on), and the facts `derive_from_facts` reads of the rows with a telling
        request (`TELLING_STATES`), from those requests alone, through the owner's index. A row
        with none stands where its rule alone puts it.
        """
        kind = "covered" if self.by_agency else "category"
        by_kind: Counter[Any] = Counter(
            {
                group[kind]: group["n"]
                for group in self.rows(is_demo).order_by().values(kind).annotate(n=Count("pk"))
            }
        )
        if not by_kind:
            return ()  # no rows (a real page's demo table, most often): nothing to count
        # The end of an approval's decision, looked up for approvals alone (a pending request
        # has none in effect); ordered by the database, so the moment each was made is not
        # sent and parsed for every one (see `_telling_order`).
        until = Case(When(status__in=Request.ACTIVE_STATES, then=_in_effect_until(self.today)))
        telling = (
            self.requests(is_demo)
            .filter(status__in=constants(TELLING_STATES))
            .annotate(until=until)
            .order_by(*_telling_order())
            .values_list(f"{self.other}_id", f"{self.other}__{kind}", "status", "until", "pk")
        )
        kinds: dict[int, Any] = {}
        pending: set[int] = set()
        # The status of the approval in effect that runs longest: the last in the order.
        longest: dict[int, str] = {}
        facts = self.telling[is_demo] = {}
        for other, other_kind, status, until_on, pk in telling:
            facts.setdefault(other, []).append((status, until_on, pk))
            kinds[other] = other_kind
            if status in Request.PENDING:
                pending.add(other)
            if status in Request.ACTIVE_STATES and until_on is not None:
                longest[other] = status

        def status_of(group: Any, longest_active: str | None, is_pending: bool) -> StatusCode:
            if isinstance(self.owner, Technology):
                rule = self.rules.governing(self.owner.category, is_demo=is_demo)
                covered = bool(group)
            else:
                rule = self.rules.governing(group, is_demo=is_demo)
                covered = self.owner.covered
            return derive_from_facts(rule, covered=covered, longest_active=longest_active, pending=is_pending)

        # A row's status depends on these three facts alone: worked out once for each combination.
        combinations = Counter(
            (group, longest.get(other), other in pending) for other, group in kinds.items()
        )
        counted: Counter[StatusCode] = Counter()
        for (group, active, is_pending), n in combinations.items():
            by_kind[group] -= n
            counted[status_of(group, active, is_pending)] += n
        for group, n in by_kind.items():
            if n:
                counted[status_of(group, None, False)] += n
        return tuple((code, counted[code]) for code in StatusCode if counted[code])

    def _pair(self, other: Agency | Technology) -> tuple[Agency, Technology]:
        """The agency and the technology of the row that names `other`."""
        if isinstance(self.owner, Technology):
            assert isinstance(other, Agency)
            return other, self.owner
        assert isinstance(other, Technology)
        return self.owner, other

    def entries(self, tables: dict[bool, list[Any]], *, only_listed: bool) -> dict[bool, list[BoardEntry]]:
        """
        The entries of the rows listed for each table (other records, in order): three queries
        (inventory rows, telling requests, their ordinances' deadline rows, see
        `TELLING_STATES`), restricted to the listed records when `only_listed`.
        """
        rows: dict[_Key, _Row] = {}
        listed: dict[int, Agency | Technology] = {}
        for is_demo, others in tables.items():
            for other in others:
                listed[other.pk] = other
                agency, technology = self._pair(other)
                rows[(agency.pk, technology.pk, is_demo)] = _Row(agency, technology, is_demo)
        if rows:
            where: dict[str, object] = {self.own: self.owner}
            if only_listed:
                where[f"{self.other}__in"] = set(listed)
            # The rows hold the agencies and technologies of their inventory rows and requests
            # already (the owner and the listed records): neither is joined again.
            for use in TechnologyUse.objects.filter(**where):
                if (other := listed.get(getattr(use, f"{self.other}_id"))) is None:
                    continue  # a record with no row listed here
                use.agency, use.technology = self._pair(other)
                key = (use.agency_id, use.technology_id, _is_demo(use.agency, use.technology, use.is_demo))
                if (row := rows.get(key)) is not None:
                    row.use = use
            telling = (
                _public_requests()
                .select_related(None)
                .select_related("decision", "exception", "ordinance")
                .filter(status__in=constants(TELLING_STATES), **where)
            )
            if only_listed:
                telling = telling.filter(pk__in=self._shown(tables, rows))
            for request in telling:
                if (other := listed.get(getattr(request, f"{self.other}_id"))) is None:
                    continue  # a record with no row listed here
                request.agency, request.technology = self._pair(other)
                demo = _is_demo(request.agency, request.technology, request.is_demo)
                if (row := rows.get((request.agency_id, request.technology_id, demo))) is not None:
                    row.requests.append(request)
        built: dict[bool, list[BoardEntry]] = {}
        for is_demo, others in tables.items():
            pairs = [self._pair(other) for other in others]
            built[is_demo] = [
                _entry(rows[(agency.pk, technology.pk, is_demo)], self.rules, self.today)
                for agency, technology in pairs
            ]
        return built

    def _shown(self, tables: dict[bool, list[Any]], rows: dict[_Key, _Row]) -> list[int]:
        """
        The telling requests the listed rows show, from the facts `counts` read of every one:
        in each row the `CELL_ROWS` approvals in effect that run longest (the last decides the
        row's status and its end, as in `active_approvals`) and the `CELL_ROWS` pending requests
        made first, each row told how many it has in all. Only these are loaded whole, so a
        row costs the same however many renewals it has had.
        """
        shown: list[int] = []
        for is_demo, others in tables.items():
            facts = self.telling.get(is_demo, {})
            for other in others:
                agency, technology = self._pair(other)
                row = rows[(agency.pk, technology.pk, is_demo)]
                theirs = facts.get(other.pk, [])
                # In `_telling_order`: approvals in effect by end, pending requests as made.
                active = [
                    pk
                    for status, until, pk in theirs
                    if until is not None and status in Request.ACTIVE_STATES
                ]
                pending = [pk for status, _, pk in theirs if status in Request.PENDING]
                row.active_total, row.pending_total = len(active), len(pending)
                shown += active[-CELL_ROWS:] + pending[:CELL_ROWS]
        return shown

    @property
    def rule(self) -> CategoryRule | None:
        """On a technology's page, the rule governing its category for its own kind of record."""
        if isinstance(self.owner, Technology):
            return self.rules.governing(self.owner.category, is_demo=self.owner.is_demo)
        return None


def _scope(owner: Agency | Technology, today: datetime.date | None, *, demo_rows: bool = True) -> _Scope:
    return _Scope(owner, _Rules(_rules_in_force()), today or timezone.localdate(), demo_rows=demo_rows)


def _full(scope: _Scope) -> Board:
    """Every row of every table of the scope's board."""
    tables = {is_demo: list(scope.rows(is_demo)) for is_demo in scope.tables}
    built = scope.entries(tables, only_listed=False)
    if scope.owner.is_demo:
        return Board(entries=tuple(built[True]), rule=scope.rule)
    return Board(entries=tuple(built[False]), demo_entries=tuple(built[True]), rule=scope.rule)


def for_agency(agency: Agency, today: datetime.date | None = None) -> Board:
    """
    Every technology `agency` has an inventory row or a public request for, and, when the
    city's ordinances bind it, every technology whose category the rule in force prohibits,
    by technology name. Six queries, however many rows; only the requests a status can
    depend on are loaded (`TELLING_STATES`). Pages show a board a page at a time (`page_for_agency`).
    """
    return _full(_scope(agency, today))


def for_technology(technology: Technology, today: datetime.date | None = None) -> Board:
    """
    Every agency with an inventory row or a public request for `technology`, and, when the
    rule in force prohibits its category, every covered agency, by agency name. Six queries,
    however many rows (see `for_agency`).
    """
    return _full(_scope(technology, today))


def _paged(scope: _Scope, page: PageNumber, demo_page: PageNumber, per_page: int) -> BoardPage:
    """
    The board a page at a time: for each table, its summary (two queries, see `counts`) and the rows
    of the page asked for (one query; a page number that is not one gives the first or the
    last page), then the inventory rows and telling requests of those rows only.
    """
    sections: dict[bool, tuple[Page, tuple[tuple[StatusCode, int], ...]]] = {}
    for is_demo in scope.tables:
        counts = scope.counts(is_demo)
        total = sum(n for _, n in counts)
        if is_demo and not total and not scope.owner.is_demo:
            continue  # no demo rows: no demo section
        paginator = _KnownCountPaginator(scope.rows(is_demo), per_page, count=total)
        number = demo_page if is_demo and not scope.owner.is_demo else page
        sections[is_demo] = (paginator.get_page(number), counts)
    listed = {
        is_demo: list(page.object_list) if page.paginator.count else []
        for is_demo, (page, _) in sections.items()
    }
    built = scope.entries(listed, only_listed=True)
    made: dict[bool, BoardSection] = {}
    for is_demo, (page_of_rows, counts) in sections.items():
        page_of_rows.object_list = built[is_demo]
        made[is_demo] = BoardSection(page=page_of_rows, counts=counts)
    if scope.owner.is_demo:
        return BoardPage(section=made[True], demo=None, rule=scope.rule)
    return BoardPage(section=made[False], demo=made.get(True), rule=scope.rule)


def page_for_agency(
    agency: Agency,
    *,
    page: PageNumber = 1,
    demo_page: PageNumber = 1,
    per_page: int = 25,
    today: datetime.date | None = None,
    demo_rows: bool = True,
) -> BoardPage:
    """
    `for_agency` a page at a time, for the agency's page: each table's counts by status and
    the rows of one page, in at most ten queries (seven on a demo agency's page, or on a real
    one when `demo_rows` is False: the caller knows it has no demo rows), loading rows for that
    page only. `page` and `demo_page` are the page numbers asked for, as sent.
    """
    return _paged(_scope(agency, today, demo_rows=demo_rows), page, demo_page, per_page)


def page_for_technology(
    technology: Technology,
    *,
    page: PageNumber = 1,
    demo_page: PageNumber = 1,
    per_page: int = 25,
    today: datetime.date | None = None,
    demo_rows: bool = True,
) -> BoardPage:
    """`for_technology` a page at a time, for the technology's page (see `page_for_agency`)."""
    return _paged(_scope(technology, today, demo_rows=demo_rows), page, demo_page, per_page)


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

    @cached_property
    def exceptions(self) -> list[StatutoryException]:
        """The exceptions the prohibiting ordinances name for the categories they prohibit (counted and checked: found once)."""
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
        # Only what the sentence and the list read: not the ordinance's full text, nor the
        # exceptions' texts, read and parsed on every view of the home page for nothing.
        .only("category", "note", "ordinance__slug", "ordinance__file_number", "ordinance__language")
        .prefetch_related(
            Prefetch(
                "ordinance__exceptions",
                queryset=StatutoryException.objects.only("ordinance", "category", "verified"),
            )
        )
        .order_by("category", "ordinance__file_number")
    )
    police = (
        Agency.objects.filter(covered=True, kind=Agency.Kind.POLICE, is_demo=False)
        .only("name", "language")
        .order_by("name")
        .first()
    )
    return Prohibitions(tuple(rules), police)
