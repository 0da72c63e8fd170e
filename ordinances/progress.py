"""
Where a request stands on its ordinance's path, and what comes next.

An ordinance's path (`path_of`) is the segments every request meets (submission, staff
review) followed by the ordinance's own `ProcessStep` rows in order, each with the
deadlines that count from the moment it begins and the rows of the transition table that
carry it out. A request's progress (`for_request`) marks each segment complete, current or
still to come, from the request's status and the facts its review has recorded (a meeting
held, the comment period's end, the hearing's time), and lists the dates still ahead of it
(`upcoming`): the deadlines running for it (`ordinances.deadlines.for_request`) and the
moments its review has set.

Values only: the words are made where they are shown (`process_path`,
`partials/request_progress.html`, `partials/next_step.html`, `partials/upcoming.html`,
the `segment_label` filter). Nothing here decides what may happen next;
`ordinances.workflow` does.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from ordinances import deadlines
from ordinances.models import Deadline, Event, Ordinance, ProcessStep, Request
from ordinances.workflow import REVIEWED_KINDS, TRANSITIONS, Transition, path_transitions

S = Request.Status
Step = ProcessStep.Kind
Anchor = Deadline.Anchor

# The segments every path has besides the ordinance's own steps.
SUBMISSION = "submission"
REVIEW = "review"
DECISION = "decision"  # only for an ordinance that records no way to decide
REPORT_DECISION = "report_decision"  # staff accept an emergency-use report or refer it

# The moment each segment begins: the deadlines counted from it belong to it.
SEGMENT_ANCHOR: dict[str, str] = {
    REVIEW: Anchor.SUBMISSION,
    Step.ADVISORY_REVIEW: Anchor.ADVISORY_REFERRAL,
    Step.PUBLIC_COMMENT: Anchor.COMMENT_OPENING,
    Step.HEARING: Anchor.HEARING_NOTICE,
    Step.VOTE: Anchor.DECISION,
    Step.PUBLICATION: Anchor.DECISION,
    DECISION: Anchor.DECISION,
}
# The rows of the transition table that take a request through the two segments every
# path has; an ordinance's own steps name their rows in the table (`step`, `part_of`).
SEGMENT_ROWS: dict[str, tuple[str, ...]] = {
    SUBMISSION: ("submit",),
    REVIEW: ("begin_review", "return_to_agency"),
    REPORT_DECISION: ("accept_report", "refer_to_full_review"),
}
# Rows that may come at any point of the path or after its end, not in one segment.
ASIDE_ROWS = ("withdraw", "expire", "revoke")

# The segment a request waits in, by status, before the facts of its review move it on.
WAITING_IN: dict[str, str] = {
    S.DRAFT: SUBMISSION,
    S.SUBMITTED: REVIEW,
    S.IN_REVIEW: REVIEW,
    S.RETURNED: REVIEW,
    S.ADVISORY_REVIEW: Step.ADVISORY_REVIEW,
    S.PUBLIC_COMMENT: Step.PUBLIC_COMMENT,
    S.HEARING_SCHEDULED: Step.HEARING,
}

# What comes up for a request besides its deadline rows.
COMMENT_CLOSES = "comment_closes"
HEARING = "hearing"


@dataclass(frozen=True)
class PathStep:
    """One segment of an ordinance's path: its kind, its `ProcessStep` row if it is one of the ordinance's own."""

    kind: str
    step: ProcessStep | None
    deadlines: tuple[Deadline, ...]  # counted from the moment the segment begins
    rows: tuple[Transition, ...]  # the transitions that carry it out


@dataclass(frozen=True)
class Path:
    """An ordinance's path for a reviewed request, and the deadlines no segment begins."""

    ordinance: Ordinance
    steps: tuple[PathStep, ...]
    other_deadlines: tuple[Deadline, ...]  # after approval, of an emergency use, each year or quarter
    aside: tuple[Transition, ...]  # withdrawal, expiry, revocation

    @property
    def reporting(self) -> PathStep:
        """How a report of emergency use is settled: by staff, under any ordinance."""
        return PathStep(REPORT_DECISION, None, (), _rows(SEGMENT_ROWS[REPORT_DECISION]))


def _rows(names: Iterable[str]) -> tuple[Transition, ...]:
    return tuple(TRANSITIONS[name] for name in names)


def _counted_from_start_of(ordinance: Ordinance, kind: str) -> tuple[Deadline, ...]:
    """The ordinance's deadlines that count from the moment the segment `kind` begins."""
    anchor = SEGMENT_ANCHOR.get(kind)
    return tuple(row for row in ordinance.deadlines.all() if anchor and row.counted_from == anchor)


def _segment_kinds(ordinance: Ordinance, kind: str) -> list[tuple[str, ProcessStep | None]]:
    if kind not in REVIEWED_KINDS:
        return [(SUBMISSION, None), (REVIEW, None), (REPORT_DECISION, None)]
    own: list[tuple[str, ProcessStep | None]] = [(step.kind, step) for step in ordinance.path()]
    if ordinance.decision_step is None:
        own.append((DECISION, None))
    return [(SUBMISSION, None), (REVIEW, None), *own]


def path_of(ordinance: Ordinance) -> Path:
    """
    The path a request for approval or an exception follows under `ordinance` (with `steps`
    and `deadlines` prefetched), each segment with its deadlines and its rows.
    """
    rows = path_transitions(ordinance)
    rows_by_step: dict[str, list[Transition]] = {}
    for row in rows:
        if row.step or row.part_of:
            rows_by_step.setdefault(row.step or row.part_of or "", []).append(row)
    steps = []
    for kind, step in _segment_kinds(ordinance, Request.Kind.APPROVAL):
        steps.append(
            PathStep(
                kind=kind,
                step=step,
                deadlines=_counted_from_start_of(ordinance, kind),
                rows=tuple(rows_by_step.get(kind, ())) or _rows(SEGMENT_ROWS.get(kind, ())),
            )
        )
    # Deadlines counted from moments no segment begins (an approval taking effect, an
    # emergency use, each year or quarter) go apart, after the path.
    placed = {row.pk for step in steps for row in step.deadlines}
    other = tuple(row for row in ordinance.deadlines.all() if row.pk not in placed)
    return Path(ordinance, tuple(steps), other, tuple(row for row in rows if row.name in ASIDE_ROWS))


@dataclass(frozen=True)
class Upcoming:
    """A date ahead of a pending request: a deadline running for it, the end of its comment period, its hearing."""

    kind: str  # a Deadline.Kind, COMMENT_CLOSES or HEARING
    on: datetime.date | datetime.datetime

    @property
    def day(self) -> datetime.date:
        return timezone.localdate(self.on) if isinstance(self.on, datetime.datetime) else self.on

    @property
    def label(self) -> str:
        """A deadline's name from its row's kind; the moments set by staff are named where shown."""
        return str(Deadline.Kind(self.kind).label) if self.kind in Deadline.Kind.values else self.kind


def upcoming(request: Request, now: datetime.datetime | None = None) -> list[Upcoming]:
    """
    The dates still ahead of a pending request, soonest first (its ordinance's `deadlines`
    should be prefetched): the deadlines running for it (`deadlines.running`), the end of
    its comment period, its hearing.
    """
    if request.status not in Request.PENDING:
        return []
    now = now or timezone.now()
    today = timezone.localdate(now)
    dates = [Upcoming(due.kind, due.due_on) for due in deadlines.running(request) if due.due_on >= today]
    ends = request.comment_period_ends_on
    if (
        request.status == S.PUBLIC_COMMENT
        and request.comment_period_closed_on is None
        and ends is not None
        and ends >= today
    ):
        dates.append(Upcoming(COMMENT_CLOSES, ends))
    if request.status == S.HEARING_SCHEDULED and request.hearing_at is not None and request.hearing_at >= now:
        dates.append(Upcoming(HEARING, request.hearing_at))
    return sorted(dates, key=lambda item: item.day)


def next_date(request: Request, now: datetime.datetime | None = None) -> Upcoming | None:
    """The soonest date ahead of a pending request, or None."""
    dates = upcoming(request, now)
    return dates[0] if dates else None


@dataclass(frozen=True)
class Segment:
    """One segment of a request's path and where the request is on it."""

    kind: str
    step: ProcessStep | None
    state: str  # "complete", "current" or "incomplete"
    deadlines: tuple[Deadline, ...] = ()  # the ordinance's deadlines counted from the moment it begins

    @property
    def is_current(self) -> bool:
        return self.state == "current"


@dataclass(frozen=True)
class Progress:
    """A request's place on its ordinance's path, and the dates ahead of it."""

    segments: tuple[Segment, ...]
    upcoming: tuple[Upcoming, ...]
    since: datetime.datetime | None  # when it reached its present status, from its timeline
    today: datetime.date

    @property
    def current(self) -> Segment | None:
        """The segment the request is in or waits for; None once its review has ended."""
        return next((s for s in self.segments if s.is_current), None)

    @property
    def position(self) -> int:
        """The current segment's number, counted from 1 (0 once the review has ended)."""
        return next((i for i, s in enumerate(self.segments, start=1) if s.is_current), 0)

    @property
    def after_current(self) -> Segment | None:
        """The segment that comes after the current one, if any."""
        position = self.position
        return self.segments[position] if 0 < position < len(self.segments) else None

    @property
    def public_steps_ahead(self) -> tuple[Segment, ...]:
        """The steps open to the public (comment, hearing) still ahead of a pending request, not yet set."""
        if self.current is None:
            return ()
        return tuple(
            s
            for s in self.segments[self.position :]
            if s.kind in (Step.PUBLIC_COMMENT, Step.HEARING) and s.state == "incomplete"
        )

    @property
    def comment_closes(self) -> Upcoming | None:
        return next((u for u in self.upcoming if u.kind == COMMENT_CLOSES), None)

    @property
    def hearing(self) -> Upcoming | None:
        return next((u for u in self.upcoming if u.kind == HEARING), None)

    @property
    def deadlines(self) -> tuple[Upcoming, ...]:
        """The upcoming dates that are deadlines of the ordinance, not moments set by staff."""
        return tuple(u for u in self.upcoming if u.kind not in (COMMENT_CLOSES, HEARING))


def for_request(request: Request, events: Iterable[Event], now: datetime.datetime | None = None) -> Progress:
    """
    Where `request` stands on its path, from its status, its recorded facts and `events`
    (its public timeline, oldest first). Its ordinance's `steps` and `deadlines` should be
    prefetched.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    events = list(events)
    kinds = _segment_kinds(request.ordinance, request.kind)
    met = any(e.action == Event.Action.RECORD_COMMUNITY_MEETING for e in events)

    def done_by_fact(kind: str) -> bool:
        if kind == Step.COMMUNITY_MEETING:
            return met
        if kind == Step.PUBLIC_COMMENT:
            ends = request.comment_period_ends_on
            return request.comment_period_closed_on is not None or (ends is not None and ends < today)
        if kind == Step.HEARING:
            return request.hearing_at is not None and request.hearing_at <= now
        return False

    position = _waiting_at(request, kinds, events)
    if position is not None and request.status in WAITING_IN:
        # The facts move a waiting request on: comment has closed, the hearing has been held.
        while position < len(kinds) - 1 and done_by_fact(kinds[position][0]):
            position += 1
    segments = []
    for index, (kind, step) in enumerate(kinds):
        if kind == Step.COMMUNITY_MEETING and index != position:
            # A meeting may be held at any point of the review: it is done once recorded.
            state = "complete" if met else "incomplete"
        elif position is None or index < position:
            state = "complete"
        elif index == position and request.status in WAITING_IN:
            state = "current"
        else:
            state = "incomplete"
        segments.append(Segment(kind, step, state, _counted_from_start_of(request.ordinance, kind)))
    since = next(
        (e.created_at for e in reversed(events) if e.to_status == request.status and e.changes_status),
        None,
    )
    return Progress(tuple(segments), tuple(upcoming(request, now)), since, today)


def _waiting_at(
    request: Request, kinds: list[tuple[str, ProcessStep | None]], events: list[Event]
) -> int | None:
    """
    The index of the segment the request waits in; for a withdrawn request, the one it was
    withdrawn from; None when its path is done (decided, ended or settled).
    """
    status = request.status
    if status == S.WITHDRAWN:
        withdrawal = next((e for e in reversed(events) if e.action == Event.Action.WITHDRAW), None)
        if withdrawal is None:
            return None
        status = withdrawal.from_status
    order = [kind for kind, _ in kinds]
    if status == S.ADVISED:
        # The advisory body has answered: the request waits for the step after it.
        answered = order.index(Step.ADVISORY_REVIEW) if Step.ADVISORY_REVIEW in order else order.index(REVIEW)
        return min(answered + 1, len(order) - 1)
    waiting = WAITING_IN.get(status)
    if waiting is None:
        return None
    return order.index(waiting) if waiting in order else order.index(REVIEW)


def ways_into(status: str) -> tuple[Transition, ...]:
    """The rows of the transition table that bring a request to `status`: what the status means."""
    return tuple(row for row in TRANSITIONS.values() if row.target == status)
