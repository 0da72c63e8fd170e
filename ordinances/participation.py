"""
Public comment on requests: the one home of its rules.

Anyone may comment, with no account, while a request's public comment period is open
(`comment_period`). A comment is held for moderation; council staff publish it or decline
to (`publish_comment`, `reject_comment`), and each decision is an Event on the request:
public when published, internal when not. The sender's email address is kept for staff
and never shown; their network address is not kept at all, only a keyed hash of it, which
the rate limit counts in the database so that it holds across every worker.

The honeypot field and the timing check live on the form (`ordinances.comment_forms`);
everything that needs the record (the period, the fields, the rate limit) lives here.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext

from ordinances import roles
from ordinances.models import Comment, Event, Request
from ordinances.roles import Role
from ordinances.workflow import TransitionRefused, _locked, _record

if TYPE_CHECKING:
    from ordinances.roles import AnyUser

BODY_MAX = 5000
NAME_MAX = 120
# At most this many comments from one address in RATE_WINDOW, across every request.
RATE_LIMIT = 5
RATE_WINDOW = datetime.timedelta(hours=1)

# Messages, kept here so tests can assert on them. Refusals of the period and of the
# moderation are English, like the workflow's; the field errors are shown to residents.
CLOSED = "Public comment on {reference} closed on {date}."
CLOSED_UNDATED = "Public comment on {reference} is closed."
NOT_YET = "Public comment on {reference} has not opened yet."
NOT_YET_DATED = "Public comment on {reference} opens on {date}."
NOT_OPEN = "{reference} is not open for public comment."
NOT_PERMITTED = "Only council staff can {action} public comments."
ALREADY = "This comment is already {status}; only a comment held for moderation can be {action}."
REASON_REQUIRED = "Give a reason; it stays on the internal record."


class Period:
    """Where a request stands for public comment on a given day."""

    OPEN = "open"
    CLOSED = "closed"
    NOT_YET = "not_yet"
    NONE = "none"  # it has no comment period: a draft, or a request decided without one


@dataclass(frozen=True)
class CommentPeriod:
    state: str
    opened_on: datetime.date | None = None
    ends_on: datetime.date | None = None
    # When it closed, where that is known: the day staff or `run_deadlines` closed it, or
    # the day after its last day.
    closed_on: datetime.date | None = None

    @property
    def is_open(self) -> bool:
        return self.state == Period.OPEN

    def refusal(self, reference: str) -> TransitionRefused | None:
        """Why a comment on the request `reference` is refused, or None while it is open."""
        if self.state == Period.OPEN:
            return None
        if self.state == Period.CLOSED:
            if self.closed_on is None:
                return TransitionRefused(CLOSED_UNDATED.format(reference=reference))
            return TransitionRefused(CLOSED.format(reference=reference, date=self.closed_on.isoformat()))
        if self.state == Period.NOT_YET:
            if self.opened_on is not None:
                return TransitionRefused(
                    NOT_YET_DATED.format(reference=reference, date=self.opened_on.isoformat())
                )
            return TransitionRefused(NOT_YET.format(reference=reference))
        return TransitionRefused(NOT_OPEN.format(reference=reference))


def comment_period(request: Request, today: datetime.date | None = None) -> CommentPeriod:
    """
    Whether `request` is open for comment on `today`: it is in public comment, its period
    has opened, its last day (`comment_period_ends_on`) has not passed and nobody has
    closed it (`comment_period_closed_on`).
    """
    today = today or timezone.localdate()
    opened, ends, closed = (
        request.comment_period_opened_on,
        request.comment_period_ends_on,
        request.comment_period_closed_on,
    )
    if not request.is_public:
        return CommentPeriod(Period.NONE)
    if closed is not None:
        return CommentPeriod(Period.CLOSED, opened, ends, closed)
    if opened is None or ends is None:
        # Still under review: public comment may come, if its ordinance has that step.
        state = Period.NOT_YET if request.status in Request.PENDING else Period.NONE
        return CommentPeriod(state)
    if ends < today:
        return CommentPeriod(Period.CLOSED, opened, ends, ends + datetime.timedelta(days=1))
    if request.status != Request.Status.PUBLIC_COMMENT:
        # Moved on (a hearing scheduled, withdrawn) before the period's last day.
        return CommentPeriod(Period.CLOSED, opened, ends)
    if opened > today:
        return CommentPeriod(Period.NOT_YET, opened, ends)
    return CommentPeriod(Period.OPEN, opened, ends)


def address_hash(address: str) -> str:
    """A keyed hash of a network address: the same address gives the same hash, which tells nothing of it."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"comment-address:{address}".encode(), hashlib.sha256).hexdigest()


def _field_errors(*, name: str, email: str, position: str, body: str, language: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not body:
        errors["body"] = gettext("Write your comment.")
    elif len(body) > BODY_MAX:
        errors["body"] = gettext("A comment is at most {limit} characters; this one has {count}.").format(
            limit=f"{BODY_MAX:,}", count=f"{len(body):,}"
        )
    if len(name) > NAME_MAX:
        errors["name"] = gettext("A name is at most {limit} characters.").format(limit=NAME_MAX)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = gettext("Enter an email address such as name@example.org, or leave it blank.")
    if position and position not in Comment.Position.values:
        errors["position"] = gettext("Choose one of the positions, or none.")
    if language not in dict(settings.LANGUAGES):
        errors["language"] = f"Unknown language {language!r}."
    return errors


def _count_one_address_at_a_time(digest: str) -> None:
    """
    On PostgreSQL, two comments from one address wait for each other until the first
    commits, so two at once cannot both pass the rate limit. (SQLite writes one at a time.)
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int(digest[:15], 16)])


def submit_comment(
    request: Request,
    *,
    name: str,
    email: str,
    position: str,
    body: str,
    address: str,
    language: str,
    now: datetime.datetime | None = None,
) -> Comment:
    """
    A resident comments on `request`. Refused (`TransitionRefused`) unless its comment
    period is open on `now`'s day, or when the address has sent `RATE_LIMIT` comments in
    the last `RATE_WINDOW` (code "rate_limit"); `ValidationError` keyed by field for bad
    input. The comment is held for moderation. Writes nothing when refused.
    """
    now = now or timezone.now()
    name, email, position, body = name.strip(), email.strip(), position.strip(), body.strip()
    errors = _field_errors(name=name, email=email, position=position, body=body, language=language)
    digest = address_hash(address)
    with transaction.atomic():
        # Locked so that a comment and the closing of the period do not cross.
        locked = _locked(request)
        refused = comment_period(locked, timezone.localdate(now)).refusal(locked.reference)
        if refused is not None:
            raise refused
        if errors:
            raise ValidationError(errors)
        _count_one_address_at_a_time(digest)
        recent = Comment.objects.filter(address_hash=digest, submitted_at__gt=now - RATE_WINDOW).count()
        if recent >= RATE_LIMIT:
            raise TransitionRefused(
                gettext(
                    "You have sent several comments in the last hour. Please wait an hour and send it again."
                ),
                code="rate_limit",
            )
        return Comment.objects.create(
            request=locked,
            name=name,
            email=email,
            position=position,
            body=body,
            address_hash=digest,
            language=language,
            submitted_at=now,
        )


def _moderate(
    comment: Comment,
    *,
    by: AnyUser | None,
    status: str,
    action: str,
    verb: str,
    note: str,
    public: bool,
    now: datetime.datetime | None,
) -> Comment:
    if by is None or not isinstance(by, User) or not roles.is_staff_reviewer(by):
        raise TransitionRefused(NOT_PERMITTED.format(action=verb), code="permission")
    now = now or timezone.now()
    with transaction.atomic():
        locked_request = _locked(comment.request)
        locked = Comment.objects.select_for_update().get(pk=comment.pk)
        if locked.status != Comment.Status.HELD:
            raise TransitionRefused(
                ALREADY.format(status=locked.get_status_display().lower(), action=f"{verb}ed")
            )
        locked.status = status
        locked.moderated_at = now
        locked.moderated_by = by
        locked.save(update_fields=["status", "moderated_at", "moderated_by"])
        _record(
            locked_request,
            by=by,
            role=Role.STAFF,
            action=action,
            from_status=locked_request.status,
            note=note,
            data={"comment": locked.pk},
            public=public,
            now=now,
        )
    for attr in ("status", "moderated_at", "moderated_by"):
        setattr(comment, attr, getattr(locked, attr))
    return locked


def publish_comment(
    comment: Comment, *, by: AnyUser | None, note: str = "", now: datetime.datetime | None = None
) -> Comment:
    """Council staff publish a held comment: it shows on the request's page, with a public Event."""
    return _moderate(
        comment,
        by=by,
        status=Comment.Status.PUBLISHED,
        action=Event.Action.COMMENT_PUBLISHED,
        verb="publish",
        note=note,
        public=True,
        now=now,
    )


def reject_comment(
    comment: Comment, *, by: AnyUser | None, reason: str, now: datetime.datetime | None = None
) -> Comment:
    """Council staff decline to publish a held comment, with a reason kept on the internal record."""
    if not reason.strip():
        raise ValidationError({"reason": REASON_REQUIRED})
    return _moderate(
        comment,
        by=by,
        status=Comment.Status.REJECTED,
        action=Event.Action.COMMENT_REJECTED,
        verb="reject",
        note=reason,
        public=False,
        now=now,
    )


def for_review(request: Request, user: AnyUser) -> dict[str, Any]:
    """
    What the request's page in the review workspace shows of its comments: the count of
    each status and the comments themselves (held and published to council staff, with
    their email; published only, without it, to anyone else).
    """
    staff = roles.is_staff_reviewer(user)
    counts = {status: 0 for status in Comment.Status.values}
    for row in request.comments.order_by().values("status").annotate(n=Count("pk")):
        counts[row["status"]] = row["n"]
    shown = (Comment.Status.HELD, Comment.Status.PUBLISHED) if staff else (Comment.Status.PUBLISHED,)
    comments = list(request.comments.filter(status__in=shown).select_related("moderated_by"))
    return {
        "comment_counts": [(status, label, counts[status]) for status, label in Comment.Status.choices],
        "comments": comments,
        "can_moderate_comments": staff,
    }
