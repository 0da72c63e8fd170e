"""
The oversight domain: ordinances and their process rules, agencies, surveillance
technologies, which agency uses which technology, and requests for exceptions with
their decisions and their append-only timeline of events.

State changes of a Request happen only in `ordinances.workflow`; this module holds the
records and the facts derived from them.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import Case, IntegerField, OuterRef, Prefetch, Q, Subquery, Value, When
from django.urls import reverse
from django.utils import timezone

from ordinances import roles

if TYPE_CHECKING:
    from ordinances.roles import AnyUser


class Category(models.TextChoices):
    """Kinds of surveillance technology. Ordinances set their rules per category."""

    FACIAL_RECOGNITION = "facial_recognition", "Facial recognition"
    LICENSE_PLATE_READERS = "license_plate_readers", "Automated license plate readers"
    BODY_WORN_CAMERAS = "body_worn_cameras", "Body-worn cameras"
    DRONES = "drones", "Drones"
    CELL_SITE_SIMULATORS = "cell_site_simulators", "Cell-site simulators"
    GUNSHOT_DETECTION = "gunshot_detection", "Gunshot detection"
    VIDEO_ANALYTICS = "video_analytics", "Video analytics"
    REAL_TIME_CRIME_CENTER = "real_time_crime_center", "Real-time crime centers"
    SOCIAL_MEDIA_MONITORING = "social_media_monitoring", "Social media monitoring"
    PREDICTIVE_POLICING = "predictive_policing", "Predictive policing"
    CAMERA_REGISTRY = "camera_registry", "Camera registries"
    OTHER = "other", "Other"


class Source(models.Model):
    """A public document a fact comes from: a news article, a council file, a code page."""

    url = models.URLField(max_length=500, unique=True)
    title = models.CharField(max_length=300)
    publisher = models.CharField(max_length=200)
    published_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-published_on", "publisher"]

    def __str__(self) -> str:
        return f"{self.publisher}: {self.title}"


# ---------------------------------------------------------------------------
# Ordinances and the process rules they carry as data
# ---------------------------------------------------------------------------


class OrdinanceQuerySet(models.QuerySet["Ordinance"]):
    def in_force(self) -> OrdinanceQuerySet:
        """Ordinances whose rules apply today."""
        return self.filter(status__in=Ordinance.IN_FORCE)


class Ordinance(models.Model):
    """A law restricting surveillance technology, with its process rules as data."""

    class Status(models.TextChoices):
        INTRODUCED = "introduced", "Introduced"
        ADOPTED = "adopted", "Adopted"
        IN_EFFECT = "in_effect", "In effect"
        AMENDED = "amended", "Amended"
        REPEALED = "repealed", "Repealed"

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
    # Deadlines are data because every city sets its own; blank means the ordinance
    # sets none (or we could not verify one), and staff must enter dates by hand.
    comment_period_days = models.PositiveSmallIntegerField(null=True, blank=True)
    hearing_notice_days = models.PositiveSmallIntegerField(null=True, blank=True)
    emergency_report_days = models.PositiveSmallIntegerField(null=True, blank=True)
    approval_term_days = models.PositiveSmallIntegerField(null=True, blank=True)
    deadlines_verified = models.BooleanField(
        default=False, help_text="Checked against the ordinance's own text."
    )
    sources = models.ManyToManyField(Source, blank=True, related_name="ordinances")
    is_demo = models.BooleanField(default=False, help_text="Fictional record for demonstration.")

    objects = OrdinanceQuerySet.as_manager()

    class Meta:
        ordering = ["-adopted_on", "file_number"]

    def __str__(self) -> str:
        return f"{self.file_number} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("ordinances:ordinance_detail", args=[self.slug])

    @property
    def has_vote(self) -> bool:
        return self.votes_yes is not None

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


class CategoryRule(models.Model):
    """What an ordinance says about one category of technology."""

    class Rule(models.TextChoices):
        PROHIBITED = "prohibited", "Prohibited"
        APPROVAL_REQUIRED = "approval_required", "Council approval required"
        DISCLOSURE_ONLY = "disclosure_only", "Disclosure only"

    # Where two ordinances in force speak about one category, the stricter one governs.
    STRICTNESS = (Rule.PROHIBITED, Rule.APPROVAL_REQUIRED, Rule.DISCLOSURE_ONLY)

    ordinance = models.ForeignKey(Ordinance, on_delete=models.CASCADE, related_name="rules")
    category = models.CharField(max_length=40, choices=Category.choices)
    rule = models.CharField(max_length=20, choices=Rule.choices)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["ordinance", "category"]
        constraints = [
            models.UniqueConstraint(fields=["ordinance", "category"], name="one_rule_per_category")
        ]

    def __str__(self) -> str:
        return f"{self.ordinance.file_number}: {self.get_category_display()} {self.get_rule_display()}"


class StatutoryException(models.Model):
    """A named exception an ordinance allows, that a request may rely on."""

    ordinance = models.ForeignKey(Ordinance, on_delete=models.CASCADE, related_name="exceptions")
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
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


# ---------------------------------------------------------------------------
# Agencies, technologies and the inventory of who uses what
# ---------------------------------------------------------------------------


class Agency(models.Model):
    """A city department or outside body that may use surveillance technology."""

    class Kind(models.TextChoices):
        POLICE = "police", "Police"
        FIRE = "fire", "Fire"
        IT = "it", "Information technology"
        PUBLIC_WORKS = "public_works", "Public works"
        HEALTH = "health", "Health"
        REGULATORY = "regulatory", "Regulatory services"
        TRANSPORTATION = "transportation", "Transportation"
        SHERIFF = "sheriff", "Sheriff (county)"
        OTHER = "other", "Other"

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

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("ordinances:agency_detail", args=[self.slug])


class Technology(models.Model):
    """A surveillance technology, described for residents."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    category = models.CharField(max_length=40, choices=Category.choices)
    description = models.TextField(help_text="Plain-language: what it does.")
    civil_liberties_concerns = models.TextField(blank=True)
    vendors = models.CharField(max_length=300, blank=True, help_text="Known vendors, comma separated.")
    is_demo = models.BooleanField(default=False, help_text="Fictional record for demonstration.")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "technologies"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("ordinances:technology_detail", args=[self.slug])

    @property
    def governing_rule_label(self) -> str:
        """Needs the `governing_rule` annotation (see `rule_in_force_subquery`)."""
        rule = self.governing_rule  # type: ignore[attr-defined]
        return CategoryRule.Rule(rule).label if rule else "No rule in force"


def rule_in_force_subquery(category_ref: str, demo_ref: str) -> Subquery:
    """
    The governing rule for the category at `category_ref`, as a subquery.

    A fictional demo ordinance must never govern a real record, so demo ordinances apply
    only where the outer record's `demo_ref` flag is set.
    """
    strictness = Case(
        *[When(rule=rule, then=Value(i)) for i, rule in enumerate(CategoryRule.STRICTNESS)],
        output_field=IntegerField(),
    )
    rules = (
        CategoryRule.objects.filter(
            Q(ordinance__is_demo=False) | Q(ordinance__is_demo=OuterRef(demo_ref)),
            category=OuterRef(category_ref),
            ordinance__status__in=Ordinance.IN_FORCE,
        )
        .annotate(strictness=strictness)
        .order_by("strictness")
        .values("rule")[:1]
    )
    return Subquery(rules)


class TechnologyUseQuerySet(models.QuerySet["TechnologyUse"]):
    def with_public_status(self) -> TechnologyUseQuerySet:
        """Everything `public_status` needs, in a fixed number of queries."""
        return (
            self.select_related("agency", "technology")
            .annotate(governing_rule=rule_in_force_subquery("technology__category", "is_demo"))
            .prefetch_related(
                Prefetch(
                    "requests",
                    queryset=Request.objects.public().select_related("decision"),
                    to_attr="public_requests",
                )
            )
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

    objects = TechnologyUseQuerySet.as_manager()

    class Meta:
        ordering = ["agency__name", "technology__name"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "technology"], name="one_use_per_agency_technology")
        ]

    def __str__(self) -> str:
        return f"{self.agency} uses {self.technology}"

    @property
    def recipients(self) -> list[str]:
        return [line.strip() for line in self.data_sharing_recipients.splitlines() if line.strip()]

    @property
    def public_status(self) -> str:
        """The status residents see, derived from the rule in force and the decisions."""
        if hasattr(self, "governing_rule"):
            rule = self.governing_rule
        else:
            rule = (
                TechnologyUse.objects.filter(pk=self.pk)
                .annotate(rule=rule_in_force_subquery("technology__category", "is_demo"))
                .values_list("rule", flat=True)
                .first()
            )
        if hasattr(self, "public_requests"):
            requests = self.public_requests
        else:
            requests = list(self.requests.public().select_related("decision"))
        return derive_public_status(
            rule=rule, agency_covered=self.agency.covered, requests=requests, today=timezone.localdate()
        )


def derive_public_status(
    *, rule: str | None, agency_covered: bool, requests: list[Request], today: datetime.date
) -> str:
    """
    Say in a few words where an agency stands with a technology.

    `rule` is the governing CategoryRule.rule (or None), `requests` the agency's public
    requests for that technology with their decisions loaded.
    """
    if not agency_covered:
        return "Not covered by city ordinances"
    active = sorted(
        (r for r in requests if r.is_active_approval(today)),
        key=lambda r: r.decision.expires_on or datetime.date.max,
    )
    pending = [r for r in requests if r.status in Request.PENDING]
    if rule == CategoryRule.Rule.PROHIBITED:
        if not active:
            return "Prohibited"
        until = active[-1].decision.expires_on
        noun = "exception" if len(active) == 1 else "exceptions"
        text = f"Prohibited, {len(active)} permitted {noun}"
        return f"{text} until {until.isoformat()}" if until else text
    if rule == CategoryRule.Rule.APPROVAL_REQUIRED:
        if active:
            latest = active[-1]
            label = (
                "Approved with conditions"
                if latest.status == Request.Status.APPROVED_WITH_CONDITIONS
                else "Approved"
            )
            until = latest.decision.expires_on
            return f"{label} until {until.isoformat()}" if until else label
        if pending:
            return "Pending council decision"
        return "Not approved"
    if rule == CategoryRule.Rule.DISCLOSURE_ONLY:
        return "Disclosed"
    return "No rule in force"


# ---------------------------------------------------------------------------
# Requests, their decisions and their timeline
# ---------------------------------------------------------------------------


class RequestQuerySet(models.QuerySet["Request"]):
    def public(self) -> RequestQuerySet:
        """What anyone may see: every request an agency has submitted at least once."""
        return self.exclude(status=Request.Status.DRAFT)

    def visible_to(self, user: AnyUser) -> RequestQuerySet:
        """Public requests, plus the drafts of the agencies the user is liaison for."""
        if not user.is_authenticated:
            return self.public()
        return self.filter(~Q(status=Request.Status.DRAFT) | Q(agency__liaisons=user)).distinct()

    def in_workspace_of(self, user: AnyUser) -> RequestQuerySet:
        """
        The requests a user works on in the review workspace (the admin).

        Staff, clerks and superusers see every submitted request (no drafts). A liaison sees
        every request of their own agencies, drafts included, and nothing of other agencies';
        someone who is both sees the union.
        """
        agency_ids = roles.liaison_agency_ids(user)
        if roles.is_staff_reviewer(user) or roles.in_group(user, roles.CLERKS):
            return self.filter(~Q(status=Request.Status.DRAFT) | Q(agency_id__in=agency_ids))
        if agency_ids:
            return self.filter(agency_id__in=agency_ids)
        return self.none()

    def pending(self) -> RequestQuerySet:
        return self.filter(status__in=Request.PENDING)

    def for_list(self) -> RequestQuerySet:
        return self.select_related("agency", "technology", "ordinance", "decision")


class Request(models.Model):
    """An agency's request for an exception, approval or renewal, or a report of emergency use."""

    class Kind(models.TextChoices):
        EXCEPTION = "exception", "Exception request"
        APPROVAL = "approval", "Approval request"
        RENEWAL = "renewal", "Renewal"
        EMERGENCY_REPORT = "emergency_report", "Emergency-use report"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        IN_REVIEW = "in_review", "In review"
        RETURNED = "returned", "Returned to agency"
        PUBLIC_COMMENT = "public_comment", "Public comment"
        HEARING_SCHEDULED = "hearing_scheduled", "Hearing scheduled"
        APPROVED = "approved", "Approved"
        APPROVED_WITH_CONDITIONS = "approved_with_conditions", "Approved with conditions"
        DENIED = "denied", "Denied"
        WITHDRAWN = "withdrawn", "Withdrawn"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"
        ACCEPTED = "accepted", "Accepted"
        REFERRED = "referred", "Referred to full review"

    PENDING = (
        Status.SUBMITTED,
        Status.IN_REVIEW,
        Status.RETURNED,
        Status.PUBLIC_COMMENT,
        Status.HEARING_SCHEDULED,
    )
    APPROVED_STATES = (Status.APPROVED, Status.APPROVED_WITH_CONDITIONS)
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
    )
    EDITABLE_STATES = (Status.DRAFT, Status.RETURNED)

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
    # Not a column: the inventory row for this request's agency and technology, if any,
    # joined on both fields so a use's requests prefetch in one query.
    use = models.ForeignObject(
        TechnologyUse,
        on_delete=models.DO_NOTHING,
        from_fields=["agency", "technology"],
        to_fields=["agency", "technology"],
        related_name="requests",
        null=True,
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    comment_period_ends_on = models.DateField(null=True, blank=True, editable=False)
    hearing_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_demo = models.BooleanField(default=False, help_text="Fictional record for demonstration.")

    objects = RequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The review queue and public lists filter by status.
            models.Index(fields=["status", "-created_at"], name="request_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("ordinances:request_detail", args=[self.reference])

    def clean_fields(self, exclude: Collection[str] | None = None) -> None:
        # `use` is a join on agency and technology, not a value anyone enters.
        super().clean_fields(exclude={*(exclude or ()), "use"})

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.exception and self.ordinance_id and self.exception.ordinance_id != self.ordinance_id:
            errors["exception"] = "This exception belongs to another ordinance."
        if self.kind == self.Kind.EMERGENCY_REPORT and not self.emergency_used_on:
            errors["emergency_used_on"] = "An emergency-use report must say when the technology was used."
        if self.emergency_used_on and self.emergency_used_on > timezone.localdate():
            errors["emergency_used_on"] = "The date of emergency use cannot be in the future."
        if self.renews and (
            self.renews.agency_id != self.agency_id or self.renews.technology_id != self.technology_id
        ):
            errors["renews"] = "A renewal must be for the same agency and technology."
        if errors:
            raise ValidationError(errors)

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

    def is_active_approval(self, today: datetime.date | None = None) -> bool:
        """Approved, in effect and not yet past its expiry date."""
        if self.status not in self.APPROVED_STATES:
            return False
        today = today or timezone.localdate()
        decision = self.decision
        if decision.effective_on and decision.effective_on > today:
            return False
        return decision.expires_on is None or decision.expires_on >= today

    @property
    def emergency_report_due_on(self) -> datetime.date | None:
        days = self.ordinance.emergency_report_days
        if self.kind != self.Kind.EMERGENCY_REPORT or not self.emergency_used_on or days is None:
            return None
        return self.emergency_used_on + datetime.timedelta(days=days)

    @property
    def is_overdue(self) -> bool:
        """An emergency-use report submitted (or still unsubmitted) after its deadline."""
        due = self.emergency_report_due_on
        if due is None:
            return False
        reported = timezone.localdate(self.submitted_at) if self.submitted_at else timezone.localdate()
        return reported > due


class Decision(models.Model):
    """The council's decision on a request. Written only by `workflow.decide`."""

    class Outcome(models.TextChoices):
        APPROVED = "approved", "Approved"
        APPROVED_WITH_CONDITIONS = "approved_with_conditions", "Approved with conditions"
        DENIED = "denied", "Denied"

    request = models.OneToOneField(Request, on_delete=models.PROTECT, related_name="decision")
    outcome = models.CharField(max_length=30, choices=Outcome.choices)
    decided_on = models.DateField()
    votes_yes = models.PositiveSmallIntegerField()
    votes_no = models.PositiveSmallIntegerField()
    votes_abstain = models.PositiveSmallIntegerField(default=0)
    votes_absent = models.PositiveSmallIntegerField(default=0)
    effective_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    summary = models.TextField(blank=True)

    class Meta:
        indexes = [
            # The home page's "recent decisions" orders by this.
            models.Index(fields=["-decided_on"], name="decision_decided_on"),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} ({self.vote_summary})"

    @property
    def vote_summary(self) -> str:
        return format_votes(self.votes_yes, self.votes_no, self.votes_abstain, self.votes_absent)


class Condition(models.Model):
    """A condition attached to an approval, with its own due date."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MET = "met", "Met"
        NOT_MET = "not_met", "Not met"

    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="conditions")
    text = models.TextField()
    due_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)

    class Meta:
        ordering = ["due_on", "pk"]

    def __str__(self) -> str:
        return self.text[:80]

    @property
    def is_overdue(self) -> bool:
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

    @property
    def href(self) -> str:
        return self.file.url if self.file else self.url


class EventQuerySet(models.QuerySet["Event"]):
    def public(self) -> EventQuerySet:
        return self.filter(is_public=True)

    def update(self, **kwargs: object) -> int:
        raise TypeError("Events are append-only; they cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("Events are append-only; they cannot be deleted.")


class Event(models.Model):
    """
    One step in a request's life: the public timeline and the audit record at once.

    Append-only. The application never updates or deletes one, and database triggers
    (see migration 0002) refuse UPDATE and DELETE on this table.
    """

    request = models.ForeignKey(Request, on_delete=models.PROTECT, related_name="events")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Kept as text too: the record must read the same if the account is renamed.
    actor_name = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=30, blank=True)
    action = models.CharField(max_length=40)
    from_status = models.CharField(max_length=30, choices=Request.Status.choices, blank=True)
    to_status = models.CharField(max_length=30, choices=Request.Status.choices, blank=True)
    note = models.TextField(blank=True)
    is_public = models.BooleanField(default=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.action} at {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise TypeError("Events are append-only; they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise TypeError("Events are append-only; they cannot be deleted.")

    @property
    def actor_role_label(self) -> str:
        try:
            return roles.Role(self.actor_role).label
        except ValueError:
            return self.actor_role
