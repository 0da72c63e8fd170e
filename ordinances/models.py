"""
The oversight domain: ordinances and their process rules, agencies, surveillance
technologies, which agency uses which technology, and requests for exceptions with
their decisions and their append-only timeline of events.

State changes of a Request happen only in `ordinances.workflow`; this module holds the
records and the facts derived from them.
"""

from __future__ import annotations

import calendar
import datetime
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from ordinances import deadlines, roles, uploads

if TYPE_CHECKING:
    from ordinances.roles import AnyUser


# A key that needs no quoting in a path.
_PLAIN_KEY = re.compile(r"[-A-Za-z0-9_]+\Z")


@functools.lru_cache(maxsize=128)
def _around_key(name: str, sample: str, language: str | None, prefix: str, urlconf: str) -> tuple[str, str]:
    before, _sample, after = reverse(name, args=[sample]).rpartition(sample)
    return before, after


def record_url(name: str, key: str, sample: str) -> str:
    """
    `reverse(name, args=[key])`, reversed once per language for `sample` (a key the URL
    pattern accepts) and the record's own key put in its place: a list links to a hundred
    records, and reversing each link cost more than the rest of its row.
    """
    if not _PLAIN_KEY.match(key):
        return reverse(name, args=[key])
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    before, after = _around_key(name, sample, get_language(), get_script_prefix(), urlconf)
    return before + key + after


def record_urls(name: str, sample: str) -> Callable[[str], str]:
    """
    `record_url` for the many keys of one page: the language, script prefix and URLconf are
    read once, not for each link (a row of a list links to its record, agency and technology).
    """
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    before, after = _around_key(name, sample, get_language(), get_script_prefix(), urlconf)

    def url(key: str) -> str:
        return before + key + after if _PLAIN_KEY.match(key) else reverse(name, args=[key])

    return url


class Constant(Value):
    """
    A code, a whole number, a date or an aware datetime written into the SQL, not sent as a
    parameter. With prepared statements (DATABASE_PREPARED_STATEMENTS, on by default; docs/deployment.md)
    PostgreSQL may reuse one generic plan whatever the parameters: a parameter never matches
    a partial index's condition (`status IN ($1, ...)` reads the requests newest first and
    skips the city's history to find ten awaiting a decision, where `status IN ('submitted',
    ...)` reads them from their own index), and a range between parameters is guessed to hold
    a few rows (a year of requests read whole and sorted, where the newest 25 would do).
    Values of those kinds only, checked: anything else is refused, never quoted.
    """

    def __init__(self, value: str | int | datetime.date) -> None:
        output_field: models.Field
        if isinstance(value, datetime.datetime):
            if timezone.is_naive(value):
                raise ValueError(f"not an aware datetime: {value!r}")
            output_field = models.DateTimeField()
        elif isinstance(value, datetime.date):
            output_field = models.DateField()
        elif isinstance(value, int) and not isinstance(value, bool):
            output_field = models.IntegerField()
        elif isinstance(value, str) and _PLAIN_KEY.match(value):
            output_field = models.CharField()
        else:
            raise ValueError(f"not a code, number or date: {value!r}")
        super().__init__(value, output_field=output_field)

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        value = self.value
        if isinstance(value, str):
            return f"'{value}'", []
        if isinstance(value, int):
            return str(int(value)), []
        if connection.vendor != "postgresql":
            # No generic plans to mislead: the backend's own adaptation of dates, as a parameter.
            sql, params = super().as_sql(compiler, connection)
            return sql, list(params)
        if isinstance(value, datetime.datetime):
            return f"'{value.isoformat()}'::timestamptz", []
        return f"'{value.isoformat()}'::date", []


def constants(values: Iterable[str | int | datetime.date]) -> list[Constant]:
    """Each value as a `Constant`, for an `__in` lookup written into the SQL."""
    return [Constant(value) for value in values]


def demo_rows_index(name: str, *fields: str) -> models.Index:
    """
    An index of a table's demo rows alone (`fields`, the primary key by default), empty in a
    real city: every agency's and technology's page asks which tables hold demo records
    (`views._demo_requests`), and reads the answer from these rather than the whole table.
    """
    return models.Index(fields=list(fields or ["id"]), condition=Q(is_demo=True), name=name)


@dataclass(frozen=True)
class PublicPage:
    """
    Where a kind of record has its public page: `record_url(name, <its `key` field>, sample)`.
    The model's `get_absolute_url` and the API's `html_url` links read it.
    """

    name: str
    key: str
    sample: str

    def url(self, record: models.Model) -> str:
        return record_url(self.name, str(getattr(record, self.key)), self.sample)

    def urls(self) -> Callable[[models.Model], str]:
        """`url` for the many records of one page (`record_urls`)."""
        url, key = record_urls(self.name, self.sample), self.key
        return lambda record: url(str(getattr(record, key)))


def choice_label(choices: type[models.Choices], value: object) -> str:
    """
    The label of `value` among `choices` (the value itself if it has none): what Django's
    `get_FOO_display` answers, without translating and hashing every label to find one.
    The list pages show two or three labels a row, so the models whose labels they show
    define their `get_FOO_display` with it (django-stubs declares them first: no-redef).
    """
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


class Category(models.TextChoices):
    """Kinds of surveillance technology. Ordinances set their rules per category."""

    FACIAL_RECOGNITION = "facial_recognition", _("Facial recognition")
    LICENSE_PLATE_READERS = "license_plate_readers", _("Automated license plate readers")
    BODY_WORN_CAMERAS = "body_worn_cameras", _("Body-worn cameras")
    DRONES = "drones", _("Drones")
    CELL_SITE_SIMULATORS = "cell_site_simulators", _("Cell-site simulators")
    GUNSHOT_DETECTION = "gunshot_detection", _("Gunshot detection")
    VIDEO_ANALYTICS = "video_analytics", _("Video analytics")
    REAL_TIME_CRIME_CENTER = "real_time_crime_center", _("Real-time crime centers")
    SOCIAL_MEDIA_MONITORING = "social_media_monitoring", _("Social media monitoring")
    PREDICTIVE_POLICING = "predictive_policing", _("Predictive policing")
    CAMERA_REGISTRY = "camera_registry", _("Camera registries")
    OTHER = "other", _("Other")


def language_field() -> models.CharField:
    """
    The language a record's text is written in. Staff type records in whatever language they
    work in (usually English); pages in another language mark that text with a `lang`
    attribute (the `lang_attr` and `lang_text` filters), so browsers and screen readers read
    it as what it is.
    """
    return models.CharField(
        max_length=10,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text="The language this record's text is written in.",
    )


class Source(models.Model):
    """A public document a fact comes from: a news article, a council file, a code page."""

    url = models.URLField(max_length=500, unique=True)
    title = models.CharField(max_length=300)
    publisher = models.CharField(max_length=200)
    published_on = models.DateField(null=True, blank=True)
    # The Atlas of Surveillance keeps an archived snapshot beside every source link.
    archived_url = models.URLField(
        max_length=500,
        blank=True,
        help_text="An archived copy of the page (e.g. the Wayback Machine), in case the link dies.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-published_on", "publisher"]
        # The record's last change (`freshness.latest`), asked by every public answer.
        indexes = [models.Index(fields=["updated_at"], name="source_updated")]

    def __str__(self) -> str:
        return f"{self.publisher}: {self.title}"


# ---------------------------------------------------------------------------
# Ordinances and the process rules they carry as data
# ---------------------------------------------------------------------------


class OrdinanceQuerySet(models.QuerySet["Ordinance"]):
    def in_force(self) -> OrdinanceQuerySet:
        """Ordinances whose rules apply today."""
        return self.filter(status__in=Ordinance.IN_FORCE)

    def for_links(self) -> OrdinanceQuerySet:
        """
        The columns a link to an ordinance with its adoption date reads (the home page's list
        of laws), and no others: not its full text, read and parsed on every view for nothing.
        """
        return self.only("slug", "file_number", "title", "language", "adopted_on", "unverified_note")

    def with_process(self) -> OrdinanceQuerySet:
        """
        Each ordinance with its `steps` and `deadlines`, what `progress.path_of` reads, in
        their models' order: by kind, one row of each kind per ordinance. Sorted by kind
        alone: the models' `ordinance` first would join the ordinance table again to sort
        rows that the prefetch hands out ordinance by ordinance anyway.
        """
        return self.prefetch_related(
            models.Prefetch("steps", queryset=ProcessStep.objects.order_by("kind")),
            models.Prefetch("deadlines", queryset=Deadline.objects.order_by("kind")),
        )


class Ordinance(models.Model):
    """A law restricting surveillance technology, with its process rules as data."""

    class Status(models.TextChoices):
        INTRODUCED = "introduced", _("Introduced")
        ADOPTED = "adopted", _("Adopted")
        IN_EFFECT = "in_effect", _("In effect")
        AMENDED = "amended", _("Amended")
        REPEALED = "repealed", _("Repealed")

    IN_FORCE = (Status.ADOPTED, Status.IN_EFFECT, Status.AMENDED)

    file_number = models.CharField(max_length=40, unique=True, help_text="e.g. 2020-00681")
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=300)
    jurisdiction = models.CharField(max_length=120, default="City of Minneapolis")
    code_citation = models.CharField(max_length=200, blank=True, help_text="e.g. Title 2, Chapter 41")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INTRODUCED)
    introduced_on = models.DateField(null=True, blank=True)
    adopted_on = models.DateField(null=True, blank=True)
    effective_on = models.DateField(null=True, blank=True)
    author = models.CharField(max_length=200, blank=True)
    votes_yes = models.PositiveSmallIntegerField(null=True, blank=True)
    votes_no = models.PositiveSmallIntegerField(null=True, blank=True)
    votes_abstain = models.PositiveSmallIntegerField(null=True, blank=True)
    votes_absent = models.PositiveSmallIntegerField(null=True, blank=True)
    summary = models.TextField(help_text="Plain-language summary for residents.")
    full_text = models.TextField(blank=True, help_text="Markdown. Sanitized when shown.")
    unverified_note = models.TextField(
        blank=True,
        help_text="What in this record could not be checked against the primary text. "
        "Shown to the public beside the record.",
    )
    sources = models.ManyToManyField(Source, blank=True, related_name="ordinances")
    is_demo = models.BooleanField(default=False, help_text="Fictional record for demonstration.")
    language = language_field()

    objects = OrdinanceQuerySet.as_manager()

    class Meta:
        ordering = ["-adopted_on", "file_number"]

    def __str__(self) -> str:
        return f"{self.file_number} {self.title}"

    PAGE: ClassVar[PublicPage] = PublicPage("ordinances:ordinance_detail", "slug", "slug")

    def get_absolute_url(self) -> str:
        return self.PAGE.url(self)

    def get_status_display(self) -> str:  # type: ignore[no-redef]
        return choice_label(self.Status, self.status)

    @property
    def has_vote(self) -> bool:
        return self.votes_yes is not None

    def path(self) -> list[ProcessStep]:
        """Its review steps in the order a request meets them (uses prefetched `steps`)."""
        return sorted(self.steps.all(), key=lambda step: ProcessStep.ORDER.index(step.kind))

    def step(self, kind: str) -> ProcessStep | None:
        return next((step for step in self.steps.all() if step.kind == kind), None)

    def deadline(self, kind: str) -> Deadline | None:
        return next((row for row in self.deadlines.all() if row.kind == kind), None)

    @property
    def decision_step(self) -> ProcessStep | None:
        """The vote or the publication that ends a request's review under this ordinance."""
        return next((s for s in self.steps.all() if s.kind in ProcessStep.DECISION_KINDS), None)

    @property
    def vote_summary(self) -> str:
        if not self.has_vote:
            return ""
        return format_votes(self.votes_yes, self.votes_no, self.votes_abstain, self.votes_absent)


def format_votes(yes: int | None, no: int | None, abstain: int | None, absent: int | None) -> str:
    parts = [f"{yes or 0}-{no or 0}"]
    if abstain:
        parts.append(f"{abstain} abstaining")
    if absent:
        parts.append(f"{absent} absent")
    return ", ".join(parts)


# A rule may speak about one category or about every category the ordinance does not name
# (Seattle, Oakland and San Francisco require approval for any surveillance technology).
EVERY_OTHER_CATEGORY = "every_other"
RULE_CATEGORY_CHOICES = [*Category.choices, (EVERY_OTHER_CATEGORY, _("Every other category"))]
_RULE_CATEGORY_LABELS = dict(RULE_CATEGORY_CHOICES)


class CategoryRule(models.Model):
    """What an ordinance says about one category of technology, or about every other category."""

    class Rule(models.TextChoices):
        PROHIBITED = "prohibited", _("Prohibited")
        APPROVAL_REQUIRED = "approval_required", _("Approval required")
        DISCLOSURE_ONLY = "disclosure_only", _("Disclosure only")

    # Where two ordinances in force speak about one category, the stricter one governs.
    STRICTNESS = (Rule.PROHIBITED, Rule.APPROVAL_REQUIRED, Rule.DISCLOSURE_ONLY)

    ordinance = models.ForeignKey(Ordinance, on_delete=models.CASCADE, related_name="rules")
    category = models.CharField(max_length=40, choices=RULE_CATEGORY_CHOICES)
    rule = models.CharField(max_length=20, choices=Rule.choices)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["ordinance", "category"]
        constraints = [
            models.UniqueConstraint(fields=["ordinance", "category"], name="one_rule_per_category")
        ]

    def __str__(self) -> str:
        return f"{self.ordinance.file_number}: {self.get_category_display()} {self.get_rule_display()}"

    # Each row of a status board shows its rule's label (see `choice_label`).
    def get_rule_display(self) -> str:  # type: ignore[no-redef]
        return choice_label(self.Rule, self.rule)

    # The home page names each prohibited category twice (see `choice_label`; a rule's
    # categories are `Category` and "every other", so not one enum).
    def get_category_display(self) -> str:  # type: ignore[no-redef]
        return str(_RULE_CATEGORY_LABELS.get(self.category, self.category))

    def covers(self, category: str) -> bool:
        return self.category in (category, EVERY_OTHER_CATEGORY)


class StatutoryException(models.Model):
    """A named exception an ordinance allows, that a request may rely on."""

    ordinance = models.ForeignKey(Ordinance, on_delete=models.CASCADE, related_name="exceptions")
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    category = models.CharField(
        max_length=40,
        choices=Category.choices,
        blank=True,
        help_text="The category of technology the exception is for; blank for any the ordinance governs.",
    )
    description = models.TextField(blank=True)
    verified = models.BooleanField(
        default=False, help_text="Checked against the ordinance's own text, not only news reports."
    )
    verification_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["ordinance", "title"]
        constraints = [models.UniqueConstraint(fields=["ordinance", "slug"], name="unique_exception_slug")]

    def __str__(self) -> str:
        return self.title

    def applies_to(self, category: str) -> bool:
        return not self.category or self.category == category


class ProcessStep(models.Model):
    """
    One step of an ordinance's review path, beyond the staff review every request gets.

    Which steps an ordinance has decides which rows of the one transition table
    (`ordinances.workflow.TRANSITIONS`) are open for its requests, and in what order.
    """

    class Kind(models.TextChoices):
        ADVISORY_REVIEW = "advisory_review", _("Advisory review")
        COMMUNITY_MEETING = "community_meeting", _("Community meeting")
        PUBLIC_COMMENT = "public_comment", _("Public comment")
        HEARING = "hearing", _("Public hearing")
        VOTE = "vote", _("Vote of the deciding body")
        PUBLICATION = "publication", _("Publication of the final policy, no vote")

    class Majority(models.TextChoices):
        MORE_YES_THAN_NO = "more_yes_than_no", _("More yes than no votes")
        MAJORITY_OF_SEATS = "majority_of_seats", _("A majority of all seats")
        TWO_THIRDS_OF_SEATS = "two_thirds_of_seats", _("Two thirds of all seats")

    # The order a request meets the steps in; an ordinance has any subset of them and
    # exactly one of the two ways to decide.
    ORDER = (
        Kind.ADVISORY_REVIEW,
        Kind.COMMUNITY_MEETING,
        Kind.PUBLIC_COMMENT,
        Kind.HEARING,
        Kind.VOTE,
        Kind.PUBLICATION,
    )
    DECISION_KINDS = (Kind.VOTE, Kind.PUBLICATION)

    ordinance = models.ForeignKey(Ordinance, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    body = models.CharField(
        max_length=200,
        blank=True,
        help_text="Who takes the step: the advisory body, or the deciding body that votes.",
    )
    seats = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="For a vote: how many seats the deciding body has."
    )
    majority = models.CharField(
        max_length=30, choices=Majority.choices, blank=True, help_text="For a vote: what approval needs."
    )
    verified = models.BooleanField(default=False, help_text="Checked against the ordinance's own text.")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["ordinance", "kind"]
        constraints = [models.UniqueConstraint(fields=["ordinance", "kind"], name="one_step_of_each_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}{f' ({self.body})' if self.body else ''}"

    def get_kind_display(self) -> str:  # type: ignore[no-redef]
        return choice_label(self.Kind, self.kind)

    def get_majority_display(self) -> str:  # type: ignore[no-redef]
        return choice_label(self.Majority, self.majority)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.kind == self.Kind.VOTE:
            if not self.body:
                errors["body"] = "Name the deciding body."
            if not self.seats:
                errors["seats"] = "Enter how many seats the deciding body has."
            if not self.majority:
                errors["majority"] = "Choose the majority an approval needs."
        else:
            if self.seats is not None:
                errors["seats"] = "Only a vote has seats."
            if self.majority:
                errors["majority"] = "Only a vote needs a majority."
        if self.kind == self.Kind.ADVISORY_REVIEW and not self.body:
            errors["body"] = "Name the advisory body."
        if errors:
            raise ValidationError(errors)

    def votes_needed(self, *, yes: int, no: int) -> bool:
        """Whether `yes` votes for and `no` against meet this vote's majority."""
        seats = self.seats or 0
        if self.majority == self.Majority.MAJORITY_OF_SEATS:
            return yes * 2 > seats
        if self.majority == self.Majority.TWO_THIRDS_OF_SEATS:
            return yes * 3 >= seats * 2
        return yes > no


class Deadline(models.Model):
    """
    One deadline an ordinance sets: what is due, how long, counted from which moment.

    Every due date in the portal is computed from these rows by `ordinances.deadlines`;
    no deadline is written in code.
    """

    class Kind(models.TextChoices):
        ADVISORY_SILENCE = "advisory_silence", _("Advisory body's time to respond")
        COMMENT_PERIOD = "comment_period", _("Public comment stays open at least")
        HEARING_NOTICE = "hearing_notice", _("Notice before a hearing")
        POLICY_BEFORE_USE = "policy_before_use", _("Draft policy posted before use")
        EMERGENCY_REPORT = "emergency_report", _("Report of emergency use")
        APPROVAL_TERM = "approval_term", _("Longest term of an approval")
        ANNUAL_REPORT = "annual_report", _("Annual surveillance report")
        QUARTERLY_REPORT = "quarterly_report", _("Quarterly report")

    class Anchor(models.TextChoices):
        SUBMISSION = "submission", _("Submission of the request")
        ADVISORY_REFERRAL = "advisory_referral", _("Referral to the advisory body")
        COMMENT_OPENING = "comment_opening", _("Opening of public comment")
        HEARING_NOTICE = "hearing_notice", _("Notice of the hearing")
        DECISION = "decision", _("The decision")
        APPROVAL_EFFECTIVE = "approval_effective", _("The approval taking effect")
        EMERGENCY_USE = "emergency_use", _("The emergency use")
        QUARTER_END = "quarter_end", _("The end of each quarter")
        FIXED_DAY = "fixed_day", _("A fixed day each year")

    class Unit(models.TextChoices):
        DAYS = "days", _("days")
        MONTHS = "months", _("months")

    ordinance = models.ForeignKey(Ordinance, on_delete=models.CASCADE, related_name="deadlines")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    amount = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many days or months; blank for a fixed day each year."
    )
    unit = models.CharField(max_length=10, choices=Unit.choices, default=Unit.DAYS)
    counted_from = models.CharField(max_length=30, choices=Anchor.choices)
    month = models.PositiveSmallIntegerField(null=True, blank=True, help_text="For a fixed day: 1-12.")
    day = models.PositiveSmallIntegerField(null=True, blank=True, help_text="For a fixed day: 1-31.")
    extension_amount = models.PositiveIntegerField(
        null=True, blank=True, help_text="An extension the law allows, in the same unit."
    )
    verified = models.BooleanField(default=False, help_text="Checked against the ordinance's own text.")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["ordinance", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["ordinance", "kind"], name="one_deadline_of_each_kind")
        ]

    def __str__(self) -> str:
        return self.get_kind_display()

    def get_kind_display(self) -> str:  # type: ignore[no-redef]
        return choice_label(self.Kind, self.kind)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.counted_from == self.Anchor.FIXED_DAY:
            if self.month is None or not 1 <= self.month <= 12:
                errors["month"] = "Enter the month of the fixed day, 1 to 12."
            # 2000 was a leap year: 29 February is a day that exists (other years clamp to the 28th).
            if self.day is None or not 1 <= self.day <= calendar.monthrange(2000, self.month or 1)[1]:
                errors["day"] = "Enter a day that exists in that month."
            if self.amount is not None:
                errors["amount"] = "A fixed day each year has no amount; leave it blank."
        else:
            if self.amount is None:
                errors["amount"] = "Enter how many days or months."
            if self.month is not None:
                errors["month"] = "Only a fixed day each year has a month."
            if self.day is not None:
                errors["day"] = "Only a fixed day each year has a day."
        if errors:
            raise ValidationError(errors)


# ---------------------------------------------------------------------------
# Agencies, technologies and the inventory of who uses what
# ---------------------------------------------------------------------------


class Agency(models.Model):
    """A city department or outside body that may use surveillance technology."""

    class Kind(models.TextChoices):
        POLICE = "police", _("Police")
        FIRE = "fire", _("Fire")
        IT = "it", _("Information technology")
        PUBLIC_WORKS = "public_works", _("Public works")
        HEALTH = "health", _("Health")
        REGULATORY = "regulatory", _("Regulatory services")
        TRANSPORTATION = "transportation", _("Transportation")
        SHERIFF = "sheriff", _("Sheriff (county)")
        OTHER = "other", _("Other")

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    covered = models.BooleanField(default=True, help_text="Whether the city's ordinances bind this agency.")
    website = models.URLField(blank=True)
    description = models.TextField(blank=True)
    liaisons = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="liaison_agencies",
        help_text="Users who draft and submit requests for this agency.",
    )
    is_demo = models.BooleanField(default=False, help_text="Fictional record for demonstration.")
    language = language_field()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"
        indexes = [
            demo_rows_index("agency_demo"),
            # The record's last change (`freshness.latest`), asked by every public answer.
            models.Index(fields=["updated_at"], name="agency_updated"),
        ]

    def __str__(self) -> str:
        return self.name

    PAGE: ClassVar[PublicPage] = PublicPage("ordinances:agency_detail", "slug", "slug")

    def get_absolute_url(self) -> str:
        return self.PAGE.url(self)

    def get_kind_display(self) -> str:  # type: ignore[no-redef]
        return choice_label(self.Kind, self.kind)


class PublicRequestCount(models.Model):
    """
    How many public requests an agency has made under an ordinance: the lists of agencies
    and of ordinances add these up (`total`) rather than count the city's history on every
    view. At most one row for each agency and ordinance, so the table grows with the city,
    not with its history. The workflow is its one writer (`workflow._count_public`), as it is
    of a request's status, agency and ordinance; `seed_bulk`, which fabricates a history in
    bulk, counts it afterwards (`workflow.recount_public_requests`).
    """

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+", db_index=False)
    ordinance = models.ForeignKey(Ordinance, on_delete=models.CASCADE, related_name="+", db_index=False)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "ordinance"], name="one_count_per_agency_ordinance"),
        ]
        # An ordinance's total read from an index alone (an agency's has a row or two to read).
        indexes = [models.Index(fields=["ordinance"], include=["count"], name="public_count_ordinance")]

    def __str__(self) -> str:
        return f"{self.agency_id} under {self.ordinance_id}: {self.count}"

    @classmethod
    def total(cls, of: str) -> Coalesce:
        """The public requests of the outer query's agency or ordinance (`of`), as an annotation."""
        rows = cls.objects.filter(**{of: OuterRef("pk")}).order_by().values(of)
        return Coalesce(Subquery(rows.annotate(n=Sum("count")).values("n")), 0)


class Technology(models.Model):
    """A surveillance technology, described for residents."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    category = models.CharField(max_length=40, choices=Category.choices)
    description = models.TextField(help_text="Plain-language: what it does.")
    civil_liberties_concerns = models.TextField(blank=True)
    vendors = models.CharField(max_length=300, blank=True, help_text="Known vendors, comma separated.")
    is_demo = models.BooleanField(default=False, help_text="Fictional record for demonstration.")
    language = language_field()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        # `freshness.latest` reads the newest change on every anonymous page.
        indexes = [
            models.Index(fields=["updated_at"], name="technology_updated"),
            demo_rows_index("technology_demo"),
        ]
        verbose_name_plural = "technologies"

    def __str__(self) -> str:
        return self.name

    PAGE: ClassVar[PublicPage] = PublicPage("ordinances:technology_detail", "slug", "slug")

    def get_absolute_url(self) -> str:
        return self.PAGE.url(self)

    def get_category_display(self) -> str:  # type: ignore[no-redef]
        return choice_label(Category, self.category)

    @property
    def governing_rule_label(self) -> str:
        """Needs the `governing_rule` annotation (see `rule_in_force_subquery`)."""
        rule = self.governing_rule  # type: ignore[attr-defined]
        return str(CategoryRule.Rule(rule).label) if rule else gettext("No rule in force")


def rule_in_force_subquery(category_ref: str, demo_ref: str, field: str = "rule") -> Subquery:
    """
    The governing rule for the category at `category_ref`, as a subquery of `field`.

    Within one ordinance a rule naming the category beats its rule for every other
    category; between ordinances in force the stricter rule governs. A fictional demo
    ordinance must never govern a real record, so demo ordinances apply only where the
    outer record's `demo_ref` flag is set.
    """
    strictness = Case(
        *[When(rule=rule, then=Value(i)) for i, rule in enumerate(CategoryRule.STRICTNESS)],
        output_field=IntegerField(),
    )
    named_by_same_ordinance = CategoryRule.objects.filter(
        ordinance=OuterRef("ordinance"), category=OuterRef(OuterRef(category_ref))
    )
    rules = (
        CategoryRule.objects.filter(
            Q(ordinance__is_demo=False) | Q(ordinance__is_demo=OuterRef(demo_ref)),
            Q(category=OuterRef(category_ref))
            | (Q(category=EVERY_OTHER_CATEGORY) & ~Exists(named_by_same_ordinance)),
            ordinance__status__in=Ordinance.IN_FORCE,
        )
        .annotate(strictness=strictness)
        .order_by("strictness", "ordinance__adopted_on", "pk")
        .values(field)[:1]
    )
    return Subquery(rules)


def ordinance_rule(rules: Iterable[CategoryRule], category: str) -> CategoryRule | None:
    """Of one ordinance's rules, the one that speaks to `category` (its own beats "every other")."""
    general = None
    for rule in rules:
        if rule.category == category:
            return rule
        if rule.category == EVERY_OTHER_CATEGORY:
            general = rule
    return general


def governing_rule(rules: Iterable[CategoryRule], category: str, *, is_demo: bool) -> CategoryRule | None:
    """
    The rule that governs `category` for a record, from the rules of the ordinances in
    force (with `ordinance` loaded): the same choice `rule_in_force_subquery` makes in SQL.
    """
    by_ordinance: dict[int, list[CategoryRule]] = {}
    for rule in rules:
        if rule.ordinance.is_demo and not is_demo:
            continue
        by_ordinance.setdefault(rule.ordinance_id, []).append(rule)
    candidates = [r for group in by_ordinance.values() if (r := ordinance_rule(group, category))]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda r: (
            CategoryRule.STRICTNESS.index(CategoryRule.Rule(r.rule)),
            r.ordinance.adopted_on or datetime.date.max,
            r.pk,
        ),
    )


class TechnologyUse(models.Model):
    """The inventory: one agency's use of one technology."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="uses")
    technology = models.ForeignKey(Technology, on_delete=models.PROTECT, related_name="uses")
    vendor_product = models.CharField(max_length=200, blank=True)
    in_use_since = models.DateField(null=True, blank=True)
    retention = models.CharField(max_length=300, blank=True, help_text="How long data is kept.")
    data_sharing_recipients = models.TextField(
        blank=True, help_text="Every outside body that receives data, by name, one a line."
    )
    annual_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    notes = models.TextField(blank=True)
    sources = models.ManyToManyField(Source, blank=True, related_name="uses")
    is_demo = models.BooleanField(default=False, help_text="Fictional record for demonstration.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["agency__name", "technology__name"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "technology"], name="one_use_per_agency_technology")
        ]
        # `freshness.latest` reads the newest change on every anonymous page.
        indexes = [
            models.Index(fields=["updated_at"], name="technologyuse_updated"),
            demo_rows_index("technologyuse_demo", "agency", "technology"),
        ]

    def __str__(self) -> str:
        return f"{self.agency} uses {self.technology}"

    @property
    def recipients(self) -> list[str]:
        return [line.strip() for line in self.data_sharing_recipients.splitlines() if line.strip()]


# ---------------------------------------------------------------------------
# Requests, their decisions and their timeline
# ---------------------------------------------------------------------------


class RequestQuerySet(models.QuerySet["Request"]):
    def public(self) -> RequestQuerySet:
        """What anyone may see: every request an agency has submitted at least once."""
        # A literal, as the partial indexes' condition is (Constant): most lists read from them.
        return self.exclude(status=Constant(Request.Status.DRAFT))

    def visible_to(self, user: AnyUser) -> RequestQuerySet:
        """Public requests, plus the drafts of the agencies the user is liaison for."""
        agency_ids = roles.liaison_agency_ids(user)
        if not agency_ids:
            return self.public()
        return self.filter(~Q(status=Constant(Request.Status.DRAFT)) | Q(agency_id__in=agency_ids))

    def in_workspace_of(self, user: AnyUser) -> RequestQuerySet:
        """
        The requests a user works on in the review workspace (the admin).

        Staff, clerks and superusers see every submitted request (no drafts). A liaison sees
        every request of their own agencies, drafts included, and nothing of other agencies';
        someone who is both sees the union.
        """
        agency_ids = roles.liaison_agency_ids(user)
        if roles.is_staff_reviewer(user) or roles.in_group(user, roles.CLERKS):
            return self.filter(~Q(status=Constant(Request.Status.DRAFT)) | Q(agency_id__in=agency_ids))
        if agency_ids:
            return self.filter(agency_id__in=agency_ids)
        return self.none()

    def pending(self) -> RequestQuerySet:
        return self.filter(status__in=Request.PENDING)

    def awaiting_decision(self) -> RequestQuerySet:
        """Pending and with the council: not those returned to the agency, which wait on the agency."""
        return self.filter(status__in=constants(Request.AWAITING_DECISION))

    def open_for_comment(self, today: datetime.date) -> RequestQuerySet:
        """Requests whose public comment period is open on `today`, the one closing soonest first."""
        return self.filter(
            status=Constant(Request.Status.PUBLIC_COMMENT), comment_period_ends_on__gte=today
        ).order_by("comment_period_ends_on", "pk")

    def hearings_ahead(self, now: datetime.datetime) -> RequestQuerySet:
        """Requests whose public hearing is still to come, the soonest first."""
        return self.filter(status=Constant(Request.Status.HEARING_SCHEDULED), hearing_at__gte=now).order_by(
            "hearing_at", "pk"
        )

    def renewable(self) -> RequestQuerySet:
        """What a renewal may renew: approvals, current or expired."""
        return self.filter(status__in=Request.RENEWABLE_STATES)

    def for_list(self) -> RequestQuerySet:
        return self.select_related("agency", "technology", "ordinance", "decision")

    def for_table(self) -> RequestQuerySet:
        """
        The columns a row of a request table shows (`request_rows`, without decision dates)
        and a keyset page's cursor reads (`pagination.cursor_of`), and no others: the request
        list reads a page of rows on every view, and `for_list`'s every column of the request,
        its agency, technology, ordinance (its full text) and decision cost more to read, parse
        and build than the rows' HTML.
        """
        return self.select_related("agency", "technology").only(*Request.TABLE_FIELDS)

    def for_awaiting_rows(self) -> RequestQuerySet:
        """
        The columns a row of the home page's "Awaiting a decision" reads (`awaiting_rows`)
        and its next date (`progress.next_date`: the request's dates, its decision's, its
        ordinance's deadline rows), and no others: `for_list`'s every text of the request and
        its ordinance's full text cost more to read and build than the rows.
        """
        return (
            self.select_related("agency", "technology", "ordinance", "decision")
            .only(*Request.AWAITING_FIELDS)
            .prefetch_related("ordinance__deadlines")
        )

    def for_decided_rows(self) -> RequestQuerySet:
        """The columns a row of the home page's "Decided recently" reads (`decided_rows`), and no others."""
        return self.select_related("agency", "technology", "decision").only(*Request.DECIDED_FIELDS)

    def for_items(self) -> RequestQuerySet:
        """The columns an item of the home page's comment and hearing lists reads (`comment_items`, `hearing_items`)."""
        return self.only(*Request.ITEM_FIELDS)


# What a row of a table built in Python shows of its agency and technology: their links and
# names (`templatetags.portal._Cells`). Each table's own columns are its `TABLE_FIELDS`.
ROW_RECORD_FIELDS = (
    "agency__slug",
    "agency__name",
    "agency__language",
    "technology__slug",
    "technology__name",
    "technology__language",
)


class Request(models.Model):
    """An agency's request for an exception, approval or renewal, or a report of emergency use."""

    class Kind(models.TextChoices):
        EXCEPTION = "exception", _("Exception request")
        APPROVAL = "approval", _("Approval request")
        RENEWAL = "renewal", _("Renewal")
        EMERGENCY_REPORT = "emergency_report", _("Emergency-use report")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        IN_REVIEW = "in_review", _("In review")
        RETURNED = "returned", _("Returned to agency")
        ADVISORY_REVIEW = "advisory_review", _("With the advisory body")
        ADVISED = "advised", _("Advisory review done")
        PUBLIC_COMMENT = "public_comment", _("Public comment")
        HEARING_SCHEDULED = "hearing_scheduled", _("Hearing scheduled")
        APPROVED = "approved", _("Approved")
        APPROVED_WITH_CONDITIONS = "approved_with_conditions", _("Approved with conditions")
        DENIED = "denied", _("Denied")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked")
        ACCEPTED = "accepted", _("Accepted")
        REFERRED = "referred", _("Referred to full review")
        PUBLISHED = "published", _("Policy published")

    PENDING = (
        Status.SUBMITTED,
        Status.IN_REVIEW,
        Status.RETURNED,
        Status.ADVISORY_REVIEW,
        Status.ADVISED,
        Status.PUBLIC_COMMENT,
        Status.HEARING_SCHEDULED,
    )
    # Pending and waiting on the council: a request returned to the agency waits on the agency.
    AWAITING_DECISION = (
        Status.SUBMITTED,
        Status.IN_REVIEW,
        Status.ADVISORY_REVIEW,
        Status.ADVISED,
        Status.PUBLIC_COMMENT,
        Status.HEARING_SCHEDULED,
    )
    APPROVED_STATES = (Status.APPROVED, Status.APPROVED_WITH_CONDITIONS)
    # A use may go on: approved by a vote, or its policy published under a disclosure law.
    ACTIVE_STATES = (*APPROVED_STATES, Status.PUBLISHED)
    # What a renewal may renew.
    RENEWABLE_STATES = (*APPROVED_STATES, Status.EXPIRED)
    # Fields an agency writes; they freeze once the request is with the council.
    AGENCY_FIELDS = (
        "kind",
        "agency",
        "technology",
        "ordinance",
        "exception",
        "title",
        "purpose",
        "justification",
        "alternatives_considered",
        "data_collected",
        "retention",
        "sharing",
        "requested_term_days",
        "emergency_used_on",
        "renews",
        "language",
    )
    EDITABLE_STATES = (Status.DRAFT, Status.RETURNED)
    # What a row of a request table reads (`RequestQuerySet.for_table`): its own link, words,
    # marks and dates, its agency's and technology's links, and the keyset cursor's columns.
    TABLE_FIELDS = (
        "reference",
        "kind",
        "status",
        "title",
        "language",
        "is_demo",
        "created_at",
        "submitted_at",
        *ROW_RECORD_FIELDS,
    )
    # The columns of the home page's rows and items (`RequestQuerySet.for_awaiting_rows` ...).
    ROW_LINK_FIELDS = ("reference", "title", "language", "is_demo")
    AWAITING_FIELDS = (
        *ROW_LINK_FIELDS,
        "kind",
        "status",
        "submitted_at",
        "advisory_referred_on",
        "comment_period_opened_on",
        "comment_period_ends_on",
        "comment_period_closed_on",
        "hearing_noticed_on",
        "hearing_at",
        "emergency_used_on",
        *ROW_RECORD_FIELDS,
        "ordinance__slug",
        "decision__decided_on",
        "decision__effective_on",
    )
    DECIDED_FIELDS = (
        *ROW_LINK_FIELDS,
        "status",
        "agency__slug",
        "agency__name",
        "agency__language",
        "technology__name",
        "technology__language",
        "decision__outcome",
        "decision__decided_on",
        "decision__votes_yes",
        "decision__votes_no",
    )
    ITEM_FIELDS = (
        *ROW_LINK_FIELDS,
        "comment_period_ends_on",
        "hearing_at",
        "hearing_room",
        "hearing_address",
        "hearing_remote_url",
    )
    # What each kind must say before it is submitted (besides title and purpose).
    REQUIRED_AT_SUBMISSION: dict[str, tuple[str, ...]] = {
        Kind.EXCEPTION: (
            "justification",
            "alternatives_considered",
            "data_collected",
            "retention",
            "sharing",
        ),
        Kind.APPROVAL: ("justification", "alternatives_considered", "data_collected", "retention", "sharing"),
        Kind.RENEWAL: ("renews", "justification"),
        Kind.EMERGENCY_REPORT: ("emergency_used_on", "justification", "data_collected"),
    }

    reference = models.CharField(max_length=20, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.EXCEPTION)
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.DRAFT, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="requests")
    technology = models.ForeignKey(Technology, on_delete=models.PROTECT, related_name="requests")
    ordinance = models.ForeignKey(Ordinance, on_delete=models.PROTECT, related_name="requests")
    exception = models.ForeignKey(
        StatutoryException,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="requests",
        help_text="The ordinance's named exception this request relies on, if any.",
    )
    title = models.CharField(max_length=200)
    purpose = models.TextField()
    justification = models.TextField(blank=True)
    alternatives_considered = models.TextField(blank=True)
    data_collected = models.TextField(blank=True)
    retention = models.TextField(blank=True)
    sharing = models.TextField(blank=True, help_text="Every outside body that would receive data, by name.")
    requested_term_days = models.PositiveIntegerField(null=True, blank=True)
    emergency_used_on = models.DateField(
        null=True, blank=True, help_text="For emergency-use reports: when the technology was used."
    )
    renews = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="renewals"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the public record last changed: its latest public event (never an internal note or
    # a draft's step), else its creation. Kept by the workflow (`workflow._record`), its only
    # writer, so the feeds can take a record's newest requests from an index.
    public_updated_at = models.DateTimeField(default=timezone.now, editable=False)
    # Facts of the review path, set only by the workflow; deadlines count from them.
    advisory_referred_on = models.DateField(null=True, blank=True, editable=False)
    comment_period_opened_on = models.DateField(null=True, blank=True, editable=False)
    comment_period_ends_on = models.DateField(null=True, blank=True, editable=False)
    hearing_noticed_on = models.DateField(null=True, blank=True, editable=False)
    hearing_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Where the hearing is held: a room and a street address, a remote link, or both.
    hearing_room = models.CharField(max_length=200, blank=True, editable=False)
    hearing_address = models.CharField(max_length=300, blank=True, editable=False)
    hearing_remote_url = models.URLField(max_length=500, blank=True, editable=False)
    hearing_agenda_url = models.URLField(max_length=500, blank=True, editable=False)
    # Set by `run_deadlines` (or staff) the day after the comment period's last day.
    comment_period_closed_on = models.DateField(null=True, blank=True, editable=False)
    is_demo = models.BooleanField(default=False, help_text="Fictional record for demonstration.")
    language = language_field()

    objects = RequestQuerySet.as_manager()

    class Meta:
        # Newest first; the primary key breaks ties, so a page boundary is never ambiguous.
        ordering = ["-created_at", "-id"]
        # Every filter and ordering of the public lists, the API and `freshness.latest` is
        # served by an index (tests/test_indexes.py reads PostgreSQL's plans): no list
        # reads the whole table, however long the city's history.
        indexes = [
            # The review queue and public lists filter by status.
            models.Index(fields=["status", "-created_at", "-id"], name="request_status_created"),
            # The public list unfiltered, in its order: every request but drafts.
            models.Index(
                fields=["-created_at", "-id"], condition=~Q(status="draft"), name="request_public_created"
            ),
            models.Index(fields=["agency", "-created_at", "-id"], name="request_agency_created"),
            models.Index(fields=["technology", "-created_at", "-id"], name="request_technology_created"),
            # The API's list is in reference order (`api.RequestViewSet`): an agency's or a
            # technology's page reads its own rows, and an agency's requests of one status
            # and year (the common filtered list) only those.
            models.Index(fields=["agency", "-reference"], name="request_agency_reference"),
            models.Index(fields=["technology", "-reference"], name="request_technology_reference"),
            models.Index(fields=["agency", "status", "submitted_at"], name="request_agency_status_submit"),
            # An agency's and a technology's page (`ordinances.board`, the conditions of their
            # approvals): the requests pending or approved, and all the page reads of them, from
            # the index alone rather than from a table page for each request.
            models.Index(
                fields=["agency", "status"],
                include=["technology", "is_demo", "created_at", "id"],
                name="request_agency_telling",
            ),
            models.Index(
                fields=["technology", "status"],
                include=["agency", "is_demo", "created_at", "id"],
                name="request_technology_telling",
            ),
            # The feeds of an agency and of a technology's category: the latest public changes.
            models.Index(
                fields=["agency", "-public_updated_at", "-id"],
                condition=~Q(status="draft"),
                name="request_agency_public_upd",
            ),
            models.Index(
                fields=["-public_updated_at", "-id"],
                condition=~Q(status="draft"),
                name="request_public_updated",
            ),
            # The ordinances list counts each ordinance's public requests from this index alone.
            models.Index(fields=["ordinance", "status"], name="request_ordinance_status"),
            models.Index(fields=["submitted_at"], name="request_submitted"),
            # `freshness.latest`: the newest change and the latest hearing held.
            models.Index(fields=["updated_at"], name="request_updated"),
            models.Index(fields=["hearing_at"], name="request_hearing"),
            # The status board (`board.py`) reads each row's requests from the index alone.
            models.Index(
                fields=["agency", "technology"],
                include=["status", "is_demo"],
                name="request_agency_technology",
            ),
            models.Index(
                fields=["technology", "agency"],
                include=["status", "is_demo"],
                name="request_technology_agency",
            ),
            # The home page: what awaits a decision, newest first, and what is open for comment.
            models.Index(
                fields=["-submitted_at", "-id"],
                # Request.AWAITING_DECISION, which Meta cannot see (tests/test_models.py checks).
                condition=Q(
                    status__in=[
                        "submitted",
                        "in_review",
                        "advisory_review",
                        "advised",
                        "public_comment",
                        "hearing_scheduled",
                    ]
                ),
                name="request_awaiting",
            ),
            models.Index(fields=["status", "comment_period_ends_on"], name="request_comment_period"),
            # The home page's open comment periods and hearings ahead, the soonest first: the
            # first ten read in order, not every request in that state sorted for each view.
            models.Index(
                fields=["comment_period_ends_on", "id"],
                condition=Q(status="public_comment"),
                name="request_open_comment",
            ),
            models.Index(
                fields=["hearing_at", "id"],
                condition=Q(status="hearing_scheduled"),
                name="request_hearing_ahead",
            ),
            # A record's page finds its few demo requests without reading the real ones.
            models.Index(fields=["-created_at"], condition=Q(is_demo=True), name="request_demo_created"),
            # `?status=expired` on the list and the API. A request expires by age alone
            # (`workflow.expire_due`), so the expired are the oldest third of the history: read
            # in the lists' order with the status as a filter, every newer request came first,
            # and PostgreSQL, which takes a status to be spread evenly over time, keeps that
            # plan over `request_status_created`. These hold the expired alone, in each order.
            models.Index(
                fields=["-created_at", "-id"], condition=Q(status="expired"), name="request_expired_created"
            ),
            models.Index(
                fields=["-reference"], condition=Q(status="expired"), name="request_expired_reference"
            ),
            # The request feed (`feeds.RequestsFeed`, newest submitted first) of an agency or a technology.
            models.Index(
                fields=["agency", "-submitted_at", "-id"],
                condition=~Q(status="draft"),
                name="request_agency_submitted",
            ),
            models.Index(
                fields=["technology", "-submitted_at", "-id"],
                condition=~Q(status="draft"),
                name="request_technology_submitted",
            ),
            # The request feed of one status (`feeds.RequestsFeed`): its entries' keys, newest
            # submitted first, from the index alone.
            models.Index(fields=["status", "-submitted_at", "-id"], name="request_status_submitted"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    PAGE: ClassVar[PublicPage] = PublicPage("ordinances:request_detail", "reference", "REQ-0000-0000")

    def get_absolute_url(self) -> str:
        return self.PAGE.url(self)

    def get_status_display(self) -> str:  # type: ignore[no-redef]
        return choice_label(self.Status, self.status)

    def get_kind_display(self) -> str:  # type: ignore[no-redef]
        return choice_label(self.Kind, self.kind)

    def clean(self) -> None:
        """The request must be coherent with the law it names and the record it builds on."""
        errors: dict[str, str] = {}
        technology = self.technology if self.technology_id else None
        ordinance = self.ordinance if self.ordinance_id else None
        if ordinance is not None and technology is not None:
            own_rule = ordinance_rule(ordinance.rules.all(), technology.category)
            if ordinance.is_demo and not self.is_demo:
                errors["ordinance"] = "A fictional demo ordinance cannot govern a real request."
            elif own_rule is None:
                errors["ordinance"] = (
                    f"{ordinance.file_number} has no rule for {technology.get_category_display().lower()}; "
                    "choose the ordinance that governs this technology."
                )
            elif self.kind == self.Kind.EXCEPTION and own_rule.rule != CategoryRule.Rule.PROHIBITED:
                errors["kind"] = (
                    f"{ordinance.file_number} does not prohibit {technology.get_category_display().lower()}, "
                    "so there is nothing to make an exception to; ask for approval instead."
                )
            elif (
                self.kind in (self.Kind.APPROVAL, self.Kind.RENEWAL)
                and own_rule.rule == CategoryRule.Rule.PROHIBITED
            ):
                errors["kind"] = (
                    f"{ordinance.file_number} prohibits {technology.get_category_display().lower()}; "
                    "only an exception request can ask to use it."
                )
        exception = self.exception if self.exception_id else None
        if exception is not None:
            if self.kind != self.Kind.EXCEPTION:
                errors["exception"] = "Only an exception request relies on a named exception."
            elif ordinance is not None and exception.ordinance_id != ordinance.pk:
                errors["exception"] = "This exception belongs to another ordinance."
            elif technology is not None and not exception.applies_to(technology.category):
                errors["exception"] = (
                    f"“{exception.title}” is an exception for {exception.get_category_display().lower()}, "
                    f"not for {technology.get_category_display().lower()}."
                )
        if self.kind == self.Kind.EMERGENCY_REPORT:
            if self.emergency_used_on and self.emergency_used_on > timezone.localdate():
                errors["emergency_used_on"] = "The date of emergency use cannot be in the future."
        elif self.emergency_used_on:
            errors["emergency_used_on"] = "Only an emergency-use report gives a date of emergency use."
        renewed = self.renews if self.renews_id else None
        if renewed is not None:
            if self.kind != self.Kind.RENEWAL:
                errors["renews"] = "Only a renewal renews an earlier request."
            elif renewed.agency_id != self.agency_id or renewed.technology_id != self.technology_id:
                errors["renews"] = "A renewal must be for the same agency and technology."
            elif renewed.status not in self.RENEWABLE_STATES:
                errors["renews"] = (
                    f"{renewed.reference} is {renewed.get_status_display().lower()}; "
                    "only an approval, current or expired, can be renewed."
                )
        if self.requested_term_days == 0:
            errors["requested_term_days"] = "A term is at least one day; leave it blank to ask for none."
        if errors:
            raise ValidationError(errors)

    def missing_fields(self) -> dict[str, str]:
        """What this kind of request must still say before it can be submitted."""
        missing: dict[str, str] = {}
        for name in self.REQUIRED_AT_SUBMISSION.get(self.kind, ()):
            value = getattr(self, f"{name}_id" if name == "renews" else name)
            if value is None or (isinstance(value, str) and not value.strip()):
                kind = self.get_kind_display().lower()
                missing[name] = f"An {kind} must fill this in before it is submitted."
        return missing

    @classmethod
    def field_label(cls, name: str) -> str:
        """A field's label for messages, e.g. "Comment period ends on"."""
        try:
            field = cls._meta.get_field(name)
        except FieldDoesNotExist:
            return name.replace("_", " ").capitalize()
        return str(getattr(field, "verbose_name", name)).capitalize()

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE_STATES

    @property
    def is_public(self) -> bool:
        """Submitted at least once; see `RequestQuerySet.public`."""
        return self.status != self.Status.DRAFT

    @property
    def tone(self) -> str:
        """How a status reads at a glance: ok, bad, muted or pending (colour only adds to the words)."""
        return STATUS_TONES.get(self.status, "pending")

    def is_active_approval(self, today: datetime.date | None = None) -> bool:
        """Approved (or its policy published), in effect and not yet past its expiry date."""
        if self.status not in self.ACTIVE_STATES:
            return False
        today = today or timezone.localdate()
        decision = self.decision
        if decision.effective_on and decision.effective_on > today:
            return False
        return decision.expires_on is None or decision.expires_on >= today

    @property
    def emergency_report_due_on(self) -> datetime.date | None:
        if self.kind != self.Kind.EMERGENCY_REPORT or not self.emergency_used_on:
            return None
        return deadlines.due_on(self.ordinance, Deadline.Kind.EMERGENCY_REPORT, self.emergency_used_on)

    @property
    def is_overdue(self) -> bool:
        """An emergency-use report submitted (or still unsubmitted) after its deadline."""
        due = self.emergency_report_due_on
        if due is None:
            return False
        reported = timezone.localdate(self.submitted_at) if self.submitted_at else timezone.localdate()
        return reported > due


STATUS_TONES: dict[str, str] = {
    Request.Status.APPROVED: "ok",
    Request.Status.APPROVED_WITH_CONDITIONS: "ok",
    Request.Status.ACCEPTED: "ok",
    Request.Status.PUBLISHED: "ok",
    Request.Status.DENIED: "bad",
    Request.Status.REVOKED: "bad",
    Request.Status.REFERRED: "bad",
    Request.Status.WITHDRAWN: "muted",
    Request.Status.EXPIRED: "muted",
    Request.Status.DRAFT: "muted",
}


class Decision(models.Model):
    """The council's decision on a request. Written only by `workflow.decide`."""

    class Outcome(models.TextChoices):
        APPROVED = "approved", _("Approved")
        APPROVED_WITH_CONDITIONS = "approved_with_conditions", _("Approved with conditions")
        DENIED = "denied", _("Denied")
        PUBLISHED = "published", _("Final policy published")

    request = models.OneToOneField(Request, on_delete=models.PROTECT, related_name="decision")
    outcome = models.CharField(max_length=30, choices=Outcome.choices)
    decided_on = models.DateField()
    # Blank when the law decides by publishing the policy, with no vote.
    body = models.CharField(max_length=200, blank=True)
    seats = models.PositiveSmallIntegerField(null=True, blank=True)
    votes_yes = models.PositiveSmallIntegerField(null=True, blank=True)
    votes_no = models.PositiveSmallIntegerField(null=True, blank=True)
    votes_abstain = models.PositiveSmallIntegerField(null=True, blank=True)
    votes_absent = models.PositiveSmallIntegerField(null=True, blank=True)
    effective_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    summary = models.TextField(blank=True)
    # Of the summary and the conditions; the workflow takes the request's.
    language = language_field()

    class Meta:
        indexes = [
            # The home page's "recent decisions" orders by this.
            models.Index(fields=["-decided_on"], name="decision_decided_on"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_outcome_display()} ({self.vote_summary})"
            if self.has_vote
            else self.get_outcome_display()
        )

    @property
    def has_vote(self) -> bool:
        return self.votes_yes is not None

    @property
    def vote_summary(self) -> str:
        if not self.has_vote:
            return ""
        return format_votes(self.votes_yes, self.votes_no, self.votes_abstain, self.votes_absent)

    def get_outcome_display(self) -> str:  # type: ignore[no-redef]
        return choice_label(self.Outcome, self.outcome)


class ConditionQuerySet(models.QuerySet["Condition"]):
    def public(self) -> ConditionQuerySet:
        """Conditions of public requests (every decided request has been submitted)."""
        return self.exclude(decision__request__status=Request.Status.DRAFT)

    def due_by(self, day: datetime.date) -> ConditionQuerySet:
        """Open conditions falling due on or before `day`, and those already marked overdue."""
        return self.filter(
            Q(status=Condition.Status.OPEN, due_on__lte=day) | Q(status=Condition.Status.OVERDUE)
        ).order_by("due_on", "pk")


class Condition(models.Model):
    """
    A condition attached to an approval, with its own due date. Its status changes only
    through `workflow.set_condition_status` (staff, with a note) or `run_deadlines`
    (open past its due date becomes overdue); each change is an Event on the request.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        MET = "met", _("Met")
        OVERDUE = "overdue", _("Overdue")
        WAIVED = "waived", _("Waived")

    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="conditions")
    text = models.TextField()
    due_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    status_changed_on = models.DateField(null=True, blank=True, editable=False)

    objects = ConditionQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "pk"]
        indexes = [models.Index(fields=["status", "due_on"], name="condition_status_due")]

    def __str__(self) -> str:
        return self.text[:80]

    def get_status_display(self) -> str:  # type: ignore[no-redef]
        return choice_label(self.Status, self.status)

    @property
    def is_overdue(self) -> bool:
        """Marked overdue, or still open past its due date (before `run_deadlines` marks it)."""
        if self.status == self.Status.OVERDUE:
            return True
        return (
            self.status == self.Status.OPEN and self.due_on is not None and self.due_on < timezone.localdate()
        )


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"requests/{instance.request.reference}/{filename}"


class Attachment(models.Model):
    """A document filed with a request: impact report, use policy, vendor contract."""

    request = models.ForeignKey(Request, on_delete=models.PROTECT, related_name="attachments")
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to=attachment_path, blank=True)
    url = models.URLField(blank=True, help_text="Or a link to a document published elsewhere.")
    uploaded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["uploaded_at"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        super().clean()
        # A new upload is checked by its content before it is stored (ordinances/uploads.py);
        # a file already on record was checked when it came in.
        if self.file and not self.file._committed:
            try:
                uploads.validate_upload(self.file)
            except ValidationError as exc:
                raise ValidationError({"file": exc.error_list}) from exc

    @property
    def href(self) -> str:
        """Where the document is read: an upload through the view that checks who may see it."""
        if self.file and self.pk:
            return reverse("document", args=[self.pk, self.file.name.rsplit("/", 1)[-1]])
        return self.url


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk updates and deletes: a record that is only ever added to."""

    def update(self, **kwargs: object) -> int:
        raise TypeError(f"{self.model._meta.verbose_name_plural} are append-only; they cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError(f"{self.model._meta.verbose_name_plural} are append-only; they cannot be deleted.")


class AppendOnlyModel(models.Model):
    """A row written once and never changed or deleted by the application."""

    class Meta:
        abstract = True

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise TypeError(f"{self._meta.verbose_name_plural} are append-only; they cannot be changed.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise TypeError(f"{self._meta.verbose_name_plural} are append-only; they cannot be deleted.")


class EventQuerySet(AppendOnlyQuerySet):
    def public(self) -> EventQuerySet:
        return self.filter(is_public=True)

    def seen_in_workspace_by(self, user: AnyUser) -> EventQuerySet:
        """
        What a request's timeline shows in the admin: everything to reviewers and clerks;
        to an agency the public record and its own drafting steps, not staff's internal notes.
        """
        if roles.is_staff_reviewer(user) or roles.in_group(user, roles.CLERKS):
            return self
        return self.filter(Q(is_public=True) | ~Q(actor_role=roles.Role.STAFF))


class Event(AppendOnlyModel):
    """
    One step in a request's life: the public timeline and the audit record at once.

    Facts, not sentences: `action` is a code (a row of the transition table, or a record
    event such as a document added), `data` holds what the step produced (dates, votes,
    terms, conditions) as values, and `note` only what a person typed. Words are made
    where the event is shown, so every language renders the same row.

    Append-only. The application never updates or deletes one, and database triggers
    (see migration 0002) refuse UPDATE and DELETE on this table.
    """

    class Action(models.TextChoices):
        CREATE = "create", _("Draft started")
        EDIT = "edit", _("Changed by the agency")
        SUBMIT = "submit", _("Submitted to the council")
        BEGIN_REVIEW = "begin_review", _("Review begun")
        RETURN_TO_AGENCY = "return_to_agency", _("Returned to the agency")
        REFER_TO_ADVISORY = "refer_to_advisory", _("Referred to the advisory body")
        RECORD_ADVISORY_OPINION = "record_advisory_opinion", _("Advisory opinion recorded")
        PROCEED_AFTER_SILENCE = "proceed_after_silence", _("Went on after the advisory body's silence")
        RECORD_COMMUNITY_MEETING = "record_community_meeting", _("Community meeting held")
        OPEN_COMMENT_PERIOD = "open_comment_period", _("Public comment opened")
        SCHEDULE_HEARING = "schedule_hearing", _("Hearing scheduled")
        APPROVE = "approve", _("Approved")
        APPROVE_WITH_CONDITIONS = "approve_with_conditions", _("Approved with conditions")
        DENY = "deny", _("Denied")
        PUBLISH_POLICY = "publish_policy", _("Final policy published")
        WITHDRAW = "withdraw", _("Withdrawn")
        EXPIRE = "expire", _("Expired")
        REVOKE = "revoke", _("Revoked")
        ACCEPT_REPORT = "accept_report", _("Report accepted")
        REFER_TO_FULL_REVIEW = "refer_to_full_review", _("Referred to full review")
        CLOSE_COMMENT_PERIOD = "close_comment_period", _("Public comment closed")
        NOTE = "note", _("Note")
        CONDITION = "condition", _("Condition updated")
        COMMENT_PUBLISHED = "comment_published", _("Public comment published")
        COMMENT_REJECTED = "comment_rejected", _("Public comment not published")
        DOCUMENT_ADDED = "document_added", _("Document added")
        DOCUMENT_REPLACED = "document_replaced", _("Document replaced")
        DOCUMENT_REMOVED = "document_removed", _("Document removed")

    request = models.ForeignKey(Request, on_delete=models.PROTECT, related_name="events")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Kept as text too: the record must read the same if the account is renamed.
    actor_name = models.CharField(max_length=150, blank=True)
    # The role that permitted this step (see workflow.permitting_role), not merely one the actor holds.
    actor_role = models.CharField(max_length=30, blank=True)
    action = models.CharField(max_length=40, choices=Action.choices)
    from_status = models.CharField(max_length=30, choices=Request.Status.choices, blank=True)
    to_status = models.CharField(max_length=30, choices=Request.Status.choices, blank=True)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    note = models.TextField(blank=True)
    is_public = models.BooleanField(default=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        # `freshness.latest` reads the newest public event on every anonymous page.
        indexes = [models.Index(fields=["created_at"], name="event_created")]

    def __str__(self) -> str:
        return f"{self.get_action_display()}, {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"

    @property
    def actor_role_label(self) -> str:
        return roles.label_of(self.actor_role)

    @property
    def changes_status(self) -> bool:
        return self.from_status != self.to_status

    # A request's timeline shows two or three labels an event (`choice_label`).
    def get_action_display(self) -> str:  # type: ignore[no-redef]
        return choice_label(self.Action, self.action)

    def get_from_status_display(self) -> str:  # type: ignore[no-redef]
        return choice_label(Request.Status, self.from_status)

    def get_to_status_display(self) -> str:  # type: ignore[no-redef]
        return choice_label(Request.Status, self.to_status)


class OrdinanceChange(AppendOnlyModel):
    """
    One change to an ordinance's process (rules, exceptions, steps, deadlines), kept as the
    public change history. `changes` lists {"path", "old", "new"} with values as stored
    (codes and numbers), from `ordinances.process.diff`. Append-only, by the application
    and by database triggers (migrations 0015 and 0016).
    """

    # PROTECT: a cascade would erase the history, which the database refuses anyway.
    ordinance = models.ForeignKey(Ordinance, on_delete=models.PROTECT, related_name="changes")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    actor_name = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=30, blank=True)
    # "admin" or "file": where the change came from.
    via = models.CharField(max_length=10)
    changes = models.JSONField(default=list, encoder=DjangoJSONEncoder)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        # The record's last change (`freshness.latest`), asked by every public answer.
        indexes = [models.Index(fields=["created_at"], name="ordinancechange_created")]

    def __str__(self) -> str:
        return f"{self.ordinance_id} changed at {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def actor_role_label(self) -> str:
        return roles.label_of(self.actor_role)


# ---------------------------------------------------------------------------
# Oversight after the decision: emergency use, violations, annual reports
# ---------------------------------------------------------------------------


class EmergencyUseQuerySet(models.QuerySet["EmergencyUse"]):
    def public(self) -> EmergencyUseQuerySet:
        """Every recorded emergency use is public: the record exists so residents can see it."""
        return self.all()

    def for_table(self) -> EmergencyUseQuerySet:
        """
        The columns a row of partials/emergency_use_table.html reads (`emergency_use_rows`,
        `oversight.emergency_report_state`), and no others: every column of the use, its
        agency, technology, ordinance (its full text) and report cost more to read and build
        than the rows' HTML, and more with every row.
        """
        return self.select_related("agency", "technology", "report").only(
            *EmergencyUse.TABLE_FIELDS, *ROW_RECORD_FIELDS
        )

    def report_outstanding(self) -> EmergencyUseQuerySet:
        """Uses whose report has not been submitted yet (none filed, or still a draft)."""
        return self.filter(Q(report__isnull=True) | Q(report__submitted_at__isnull=True))


class EmergencyUse(models.Model):
    """
    An agency's use of a technology without prior approval, in an emergency, and the
    after-the-fact report the law requires of it. The agency's liaison (or council staff,
    when they learn of it another way) records the use; the report is an emergency-use
    Request, due `report_due_on` (from the ordinance's emergency-report deadline). Written
    only through `ordinances.oversight`.
    """

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="emergency_uses")
    technology = models.ForeignKey(Technology, on_delete=models.PROTECT, related_name="emergency_uses")
    ordinance = models.ForeignKey(Ordinance, on_delete=models.PROTECT, related_name="emergency_uses")
    used_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    circumstances = models.TextField(help_text="What the emergency was and what the technology did. Public.")
    report = models.OneToOneField(
        Request, on_delete=models.PROTECT, null=True, blank=True, related_name="emergency_use"
    )
    # From the ordinance's deadline row when the use is recorded; null where the law sets none.
    report_due_on = models.DateField(null=True, blank=True, editable=False)
    # Set once by `run_deadlines` when the due date passes with no report submitted.
    overdue_since = models.DateField(null=True, blank=True, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    is_demo = models.BooleanField(default=False, help_text="Fictional record for demonstration.")
    language = language_field()

    # What a row of partials/emergency_use_table.html reads of the use and its report (`for_table`).
    TABLE_FIELDS = (
        "used_on",
        "ended_on",
        "circumstances",
        "report_due_on",
        "overdue_since",
        "is_demo",
        "language",
        "report__reference",
        "report__submitted_at",
    )

    objects = EmergencyUseQuerySet.as_manager()

    class Meta:
        ordering = ["-used_on", "-pk"]
        indexes = [
            models.Index(fields=["report_due_on"], name="emergency_use_due"),
            # The public list's order: without it PostgreSQL joined every use to the requests
            # table before keeping 25 (70 ms at 100,000 requests; 2 ms with it).
            models.Index(fields=["-used_on", "-id"], name="emergency_use_recent"),
            # The few demo uses a real page lists apart, without reading its every use.
            models.Index(fields=["-used_on", "-id"], condition=Q(is_demo=True), name="emergency_use_demo"),
        ]

    def __str__(self) -> str:
        return f"{self.agency} used {self.technology} on {self.used_on.isoformat()}"

    @property
    def report_submitted(self) -> bool:
        return self.report is not None and self.report.submitted_at is not None

    @property
    def is_overdue(self) -> bool:
        """The report was due and is not in, or came in after its due date."""
        if self.report_due_on is None:
            return False
        if self.report_submitted:
            assert self.report is not None and self.report.submitted_at is not None
            return timezone.localdate(self.report.submitted_at) > self.report_due_on
        return self.overdue_since is not None or self.report_due_on < timezone.localdate()


class ViolationQuerySet(models.QuerySet["Violation"]):
    def public(self) -> ViolationQuerySet:
        """Violations staff have published; until then they are under internal review."""
        return self.filter(published_at__isnull=False)

    def for_table(self) -> ViolationQuerySet:
        """The columns a row of partials/violation_table.html reads (`violation_rows`), as `EmergencyUseQuerySet.for_table`."""
        return self.select_related("agency", "technology").only(*Violation.TABLE_FIELDS, *ROW_RECORD_FIELDS)


class Violation(models.Model):
    """
    A breach of an ordinance or of an approval's terms, with its investigation and remedy.
    Recorded by council staff, public once they publish it. Written only through
    `ordinances.oversight`.
    """

    class HowFound(models.TextChoices):
        AUDIT = "audit", _("Audit")
        COMPLAINT = "complaint", _("Complaint from the public")
        SELF_REPORTED = "self_reported", _("Reported by the agency")
        ANNUAL_REPORT = "annual_report", _("Annual report")
        NEWS_REPORT = "news_report", _("News report")
        COURT = "court", _("Court case")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        INVESTIGATING = "investigating", _("Under investigation")
        CONFIRMED = "confirmed", _("Confirmed")
        REMEDIED = "remedied", _("Remedied")
        UNFOUNDED = "unfounded", _("Found unfounded")

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="violations")
    technology = models.ForeignKey(Technology, on_delete=models.PROTECT, related_name="violations")
    ordinance = models.ForeignKey(Ordinance, on_delete=models.PROTECT, related_name="violations")
    request = models.ForeignKey(
        Request,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="violations",
        help_text="The approval whose terms were breached, if any.",
    )
    description = models.TextField(help_text="What happened. Public once published.")
    occurred_on = models.DateField(null=True, blank=True, help_text="When it happened, if known.")
    found_on = models.DateField(help_text="When the city learned of it.")
    how_found = models.CharField(max_length=20, choices=HowFound.choices)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.INVESTIGATING, editable=False
    )
    investigation = models.TextField(blank=True, help_text="What the investigation found.")
    remedy = models.TextField(blank=True, help_text="What was done about it.")
    remedied_on = models.DateField(null=True, blank=True, editable=False)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    is_demo = models.BooleanField(default=False, help_text="Fictional record for demonstration.")
    language = language_field()

    # What a row of partials/violation_table.html reads of the violation (`for_table`).
    TABLE_FIELDS = ("description", "found_on", "how_found", "status", "is_demo", "language")

    objects = ViolationQuerySet.as_manager()

    class Meta:
        ordering = ["-found_on", "-pk"]
        indexes = [
            # The public list, latest found first: a page read from here, not every
            # published violation in the city sorted for each one.
            models.Index(
                fields=["-found_on", "-id"],
                condition=Q(published_at__isnull=False),
                name="violation_public_found",
            ),
            demo_rows_index("violation_demo"),
        ]

    def __str__(self) -> str:
        return f"{self.agency}: {self.technology} ({self.found_on.isoformat()})"

    @property
    def is_public(self) -> bool:
        return self.published_at is not None


# Reports submitted at least once, and reports the portal has marked overdue.
PUBLIC_ANNUAL_REPORT = Q(submitted_at__isnull=False) | Q(overdue_since__isnull=False)


class AnnualReportQuerySet(models.QuerySet["AnnualReport"]):
    def public(self) -> AnnualReportQuerySet:
        """Reports submitted at least once, and reports the portal has marked overdue."""
        return self.filter(PUBLIC_ANNUAL_REPORT)

    def for_table(self) -> AnnualReportQuerySet:
        """
        The columns a row of partials/annual_report_table.html reads (`annual_report_rows`)
        and a keyset page's walk (`report_pages`), as `EmergencyUseQuerySet.for_table`.
        """
        return self.select_related("agency", "technology").only(
            *AnnualReport.TABLE_FIELDS, *ROW_RECORD_FIELDS
        )


class AnnualReport(models.Model):
    """
    An agency's annual surveillance report on one technology for one year, with the
    contents the laws ask for (see ../shared/reference/domain.md). Drafted and submitted
    by the agency's liaison, accepted or returned by council staff; `run_deadlines`
    creates the row of a report that is missing past its due date and marks it overdue.
    Written only through `ordinances.oversight`.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Not yet submitted")
        SUBMITTED = "submitted", _("Submitted")
        RETURNED = "returned", _("Returned to agency")
        ACCEPTED = "accepted", _("Accepted")

    # The contents, in the order the laws list them; the agency writes these.
    CONTENT_FIELDS = (
        "use_summary",
        "deployments",
        "non_suspects_captured",
        "sharing",
        "complaints_count",
        "complaints",
        "audits_and_violations",
        "data_breaches",
        "effectiveness",
        "public_records_requests",
        "annual_cost",
        "funding_source",
        "requested_changes",
        "face_recognition_data_received",
    )
    # What a report must say before it is submitted; the counts may be zero but not blank.
    REQUIRED_AT_SUBMISSION = ("use_summary", "non_suspects_captured", "sharing", "complaints_count")

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="annual_reports")
    technology = models.ForeignKey(Technology, on_delete=models.PROTECT, related_name="annual_reports")
    ordinance = models.ForeignKey(Ordinance, on_delete=models.PROTECT, related_name="annual_reports")
    year = models.PositiveSmallIntegerField(help_text="The year the report covers.")
    due_on = models.DateField(editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, editable=False)
    overdue_since = models.DateField(null=True, blank=True, editable=False)
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    accepted_on = models.DateField(null=True, blank=True, editable=False)

    use_summary = models.TextField(blank=True, verbose_name=_("How it was used, and how much"))
    deployments = models.TextField(blank=True, verbose_name=_("Where it was deployed"))
    non_suspects_captured = models.TextField(
        blank=True, verbose_name=_("Whether it captured data on people who were not suspects")
    )
    sharing = models.TextField(
        blank=True, verbose_name=_("Data shared: recipients, what data, under what legal standard")
    )
    complaints_count = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("Complaints received")
    )
    complaints = models.TextField(blank=True, verbose_name=_("What the complaints said"))
    audits_and_violations = models.TextField(blank=True, verbose_name=_("Audits and violations"))
    data_breaches = models.TextField(blank=True, verbose_name=_("Data breaches"))
    effectiveness = models.TextField(blank=True, verbose_name=_("Effectiveness"))
    public_records_requests = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("Public records requests received")
    )
    annual_cost = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, verbose_name=_("Annual cost (USD)")
    )
    funding_source = models.CharField(max_length=300, blank=True, verbose_name=_("Funding source"))
    requested_changes = models.TextField(blank=True, verbose_name=_("Requested changes to the use policy"))
    face_recognition_data_received = models.TextField(
        blank=True, verbose_name=_("Facial recognition data received inadvertently")
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    is_demo = models.BooleanField(default=False, help_text="Fictional record for demonstration.")
    language = language_field()

    # What a row of partials/annual_report_table.html reads of the report (`for_table`).
    TABLE_FIELDS = ("year", "due_on", "status", "submitted_at", "overdue_since", "is_demo")

    objects = AnnualReportQuerySet.as_manager()

    class Meta:
        ordering = ["-year", "agency__name", "technology__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "technology", "ordinance", "year"], name="one_annual_report_per_year"
            )
        ]
        indexes = [
            models.Index(fields=["status", "due_on"], name="annual_report_status_due"),
            # The public list a year at a time (`ordinances.report_pages`): the latest year,
            # then each agency's reports of a year, walking the agencies by name.
            # Public reports only: the year still being reported on has many reports yet to be due.
            models.Index(
                fields=["year", "agency"], condition=PUBLIC_ANNUAL_REPORT, name="annual_report_year_agency"
            ),
            # A technology's page: its latest year's reports first, read from here a year at a
            # time, not all its reports sorted (`views.oversight_sections`). An agency's page
            # reads `annual_report_year_agency`.
            models.Index(
                fields=["technology", "-year"], condition=PUBLIC_ANNUAL_REPORT, name="annual_report_tech_year"
            ),
            # The few demo reports a real page lists apart.
            models.Index(fields=["-year"], condition=Q(is_demo=True), name="annual_report_demo"),
        ]

    def __str__(self) -> str:
        return f"{self.agency} · {self.technology} · {self.year}"

    @property
    def is_public(self) -> bool:
        return self.submitted_at is not None or self.overdue_since is not None

    @property
    def is_overdue(self) -> bool:
        """Not in by its due date: still unsubmitted after it, or first submitted after it."""
        if self.submitted_at is not None:
            return timezone.localdate(self.submitted_at) > self.due_on
        return self.due_on < timezone.localdate()


class OversightEvent(AppendOnlyModel):
    """
    One step in the life of an emergency use, a violation or an annual report: their
    audit record, as `Event` is a request's. Facts, not sentences (see `Event`). Exactly
    one of the three record fields is set. Append-only, by the application and by
    database triggers (migration 0011).
    """

    class Action(models.TextChoices):
        RECORD_EMERGENCY_USE = "record_emergency_use", _("Emergency use recorded")
        EMERGENCY_REPORT_FILED = "emergency_report_filed", _("Emergency-use report filed")
        EMERGENCY_REPORT_OVERDUE = "emergency_report_overdue", _("Emergency-use report overdue")
        RECORD_VIOLATION = "record_violation", _("Violation recorded")
        UPDATE_VIOLATION = "update_violation", _("Investigation updated")
        PUBLISH_VIOLATION = "publish_violation", _("Violation published")
        REPORT_STARTED = "report_started", _("Report started")
        REPORT_EDITED = "report_edited", _("Report changed by the agency")
        REPORT_SUBMITTED = "report_submitted", _("Report submitted")
        REPORT_RETURNED = "report_returned", _("Report returned to the agency")
        REPORT_ACCEPTED = "report_accepted", _("Report accepted")
        REPORT_OVERDUE = "report_overdue", _("Report overdue")

    emergency_use = models.ForeignKey(
        EmergencyUse, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    violation = models.ForeignKey(
        Violation, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    annual_report = models.ForeignKey(
        AnnualReport, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=30, blank=True)
    action = models.CharField(max_length=40, choices=Action.choices)
    from_status = models.CharField(max_length=30, blank=True)
    to_status = models.CharField(max_length=30, blank=True)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    note = models.TextField(blank=True)
    is_public = models.BooleanField(default=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(emergency_use__isnull=False, violation__isnull=True, annual_report__isnull=True)
                    | Q(emergency_use__isnull=True, violation__isnull=False, annual_report__isnull=True)
                    | Q(emergency_use__isnull=True, violation__isnull=True, annual_report__isnull=False)
                ),
                name="oversight_event_one_record",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()}, {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"

    @property
    def actor_role_label(self) -> str:
        return roles.label_of(self.actor_role)


# ---------------------------------------------------------------------------
# Civic participation: public comment, email alerts and the outbox that sends them
# ---------------------------------------------------------------------------


class CommentQuerySet(models.QuerySet["Comment"]):
    def published(self) -> CommentQuerySet:
        return self.filter(status=Comment.Status.PUBLISHED)

    def held(self) -> CommentQuerySet:
        return self.filter(status=Comment.Status.HELD)


class Comment(models.Model):
    """
    A resident's comment on a request during its public comment period. Held for
    moderation; staff publish it or decline to (`ordinances.participation`). The email
    address is kept for staff only and never shown.
    """

    class Status(models.TextChoices):
        HELD = "held", _("Held for moderation")
        PUBLISHED = "published", _("Published")
        REJECTED = "rejected", _("Not published")

    class Position(models.TextChoices):
        SUPPORTS = "supports", _("Supports the request")
        OPPOSES = "opposes", _("Opposes the request")
        NEUTRAL = "neutral", _("Neither, or a question")

    request = models.ForeignKey(Request, on_delete=models.PROTECT, related_name="comments")
    name = models.CharField(max_length=120, blank=True)
    email = models.EmailField(blank=True)
    position = models.CharField(max_length=20, choices=Position.choices, blank=True)
    body = models.TextField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.HELD, editable=False)
    submitted_at = models.DateTimeField(default=timezone.now, editable=False)
    moderated_at = models.DateTimeField(null=True, blank=True, editable=False)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # A keyed hash of the sender's address, for the rate limit; the address itself is not kept.
    address_hash = models.CharField(max_length=64, blank=True, editable=False)
    language = language_field()

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["submitted_at", "pk"]
        indexes = [models.Index(fields=["request", "status"], name="comment_request_status")]

    def __str__(self) -> str:
        return f"Comment on {self.request_id} at {self.submitted_at:%Y-%m-%d %H:%M}"

    # A request page shows the position of each of its (possibly hundreds of) published
    # comments (see `choice_label`).
    def get_position_display(self) -> str:  # type: ignore[no-redef]
        return choice_label(self.Position, self.position)


class Subscription(models.Model):
    """
    An email alert, with no account: one request, an agency, a technology, every decision,
    or a saved search of the request list (its query string). Active once confirmed by the
    link in the confirmation email (double opt-in); ended by the one-click unsubscribe link
    every alert carries.
    """

    class Topic(models.TextChoices):
        REQUEST = "request", _("One request")
        AGENCY = "agency", _("An agency")
        TECHNOLOGY = "technology", _("A technology")
        DECISIONS = "decisions", _("Every decision")
        SEARCH = "search", _("A saved search")

    email = models.EmailField()
    topic = models.CharField(max_length=20, choices=Topic.choices)
    request = models.ForeignKey(
        Request, on_delete=models.CASCADE, null=True, blank=True, related_name="subscriptions"
    )
    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, null=True, blank=True, related_name="subscriptions"
    )
    technology = models.ForeignKey(
        Technology, on_delete=models.CASCADE, null=True, blank=True, related_name="subscriptions"
    )
    query = models.CharField(
        max_length=500, blank=True, help_text="For a saved search: the list's query string."
    )
    token = models.CharField(max_length=64, unique=True, editable=False)
    language = language_field()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    unsubscribed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["topic", "confirmed_at"], name="subscription_topic")]

    def __str__(self) -> str:
        return f"{self.email}: {self.topic}"

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None


class Notification(models.Model):
    """
    One email to send: the transactional outbox. Rows are written in the same transaction
    as the change they report, so a rolled-back change sends nothing; `deliver_notifications`
    sends them, retries failures with backoff, and claims each row before sending so that
    two workers never send one twice. Words are made when the email is rendered, in the
    recipient's language, from `kind` and the linked records.
    """

    class Kind(models.TextChoices):
        CONFIRM_SUBSCRIPTION = "confirm_subscription", _("Confirm an alert")
        ALERT = "alert", _("Alert")
        LIAISON = "liaison", _("Notice to the agency")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        # Nothing to send any more: the subscription ended, or was confirmed, before delivery.
        CANCELLED = "cancelled", _("Cancelled")

    kind = models.CharField(max_length=30, choices=Kind.choices)
    to = models.EmailField()
    language = language_field()
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    event = models.ForeignKey(
        Event, on_delete=models.PROTECT, null=True, blank=True, related_name="notifications"
    )
    # One row per (what happened, recipient): writing it twice is refused by the database.
    key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notification_due")]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to} ({self.status})"
