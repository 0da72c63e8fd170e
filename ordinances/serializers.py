"""
The public API's representations (`/api/v1/`, views in `ordinances.api`).

Facts, not sentences, as everywhere in the record: codes (some with a `*_label` in English,
from the same choices the pages use: the API has one address, outside the language prefixes), ISO 8601 dates and moments, numbers,
and text as the agency or the clerk wrote it. Records are named by their stable public
identifiers (slugs, request references) and linked by `url` (the API resource) and
`html_url` (the public page); numeric primary keys never leave the database.

What the public may see is decided before a row gets here (`Request.objects.public()`,
`Event.objects.public()`): nothing in this module reads a draft, an internal note, a login
name or an e-mail address, and no field names a user account.
"""

from __future__ import annotations

import copy
import datetime
import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist
from django.db import models
from django.db.models import Model
from django.db.models.manager import BaseManager
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.reverse import preserve_builtin_query_params
from rest_framework.settings import api_settings

from ordinances import deadlines, ocd, progress
from ordinances.board import BoardEntry, StatusCode
from ordinances.models import (
    _PLAIN_KEY,
    Agency,
    Attachment,
    CategoryRule,
    Condition,
    Deadline,
    Decision,
    Event,
    Ordinance,
    OrdinanceChange,
    ProcessStep,
    PublicPage,
    Request,
    Source,
    StatutoryException,
    Technology,
    record_url,
)
from ordinances.templatetags.portal import BOARD_STATUS_LABELS

# A path as `reverse()` gives it for a slug or a reference: nothing for `build_absolute_uri`
# to resolve (`.`, `//`) or to quote, only the scheme and host to put before it.
_PLAIN_PATH = re.compile(r"/(?:[-A-Za-z0-9_~%!$&'()*+,;=:@]+/?)*\Z")


def _absolute(context: dict[str, Any], path: str, *, keep_format: bool = False) -> str:
    """
    `request.build_absolute_uri(path)`, and with `keep_format` the `?format=` DRF's `reverse()`
    keeps (a CSV links to CSV). `context` is the serializer's: the scheme and host are read
    once per response, a list of requests has two hundred links.
    """
    request = context.get("request")
    if request is None:
        return path
    if not _PLAIN_PATH.match(path):
        url = request.build_absolute_uri(path)
    else:
        origin = context.get("_origin")
        if origin is None:
            origin = context["_origin"] = request.build_absolute_uri("/")[:-1]
        url = origin + path
    if keep_format and api_settings.URL_FORMAT_OVERRIDE in request.GET:
        return preserve_builtin_query_params(url, request)
    return url


# A key in place of which a link's template holds a row's own: plain (`models._PLAIN_KEY`, what `record_url` puts in place itself), so that
# no step that makes a link absolute changes it, and unlike any part of an address.
_TEMPLATE_KEY = "Zq7TemplateKey7qZ"


def _record_link(context: dict[str, Any], view_name: str, key: str, sample: str, keep_format: bool) -> str:
    """
    `_absolute(context, record_url(view_name, key, sample), keep_format=keep_format)`: the
    link is made once per response for a stand-in key, and each row's key is put in its place
    (the scheme, host, script prefix, language and `?format=` are the same for every row of
    a response). A key that needs quoting is linked the long way.
    """
    links = context.get("_links")
    if links is None:
        links = context["_links"] = {}
    template = links.get((view_name, sample, keep_format), _GENERIC)
    if template is _GENERIC:
        url = _absolute(context, record_url(view_name, _TEMPLATE_KEY, sample), keep_format=keep_format)
        before, found, after = url.rpartition(_TEMPLATE_KEY)
        template = (before, after) if found and _TEMPLATE_KEY not in before else None
        links[(view_name, sample, keep_format)] = template
    if template is None or not _PLAIN_KEY.match(key):
        return _absolute(context, record_url(view_name, key, sample), keep_format=keep_format)
    return template[0] + key + template[1]


class ApiUrlField(serializers.Field):
    """A read-only link to an API resource found by one of the row's public identifiers."""

    def __init__(self, view_name: str, *, lookup: str = "slug", url_kwarg: str | None = None, **kwargs):
        kwargs["source"] = "*"
        kwargs["read_only"] = True
        super().__init__(**kwargs)
        self.view_name = view_name
        self.lookup = lookup
        # A value the router's pattern accepts, for `record_url` to reverse once.
        self.url_kwarg = url_kwarg or lookup.rsplit(".", 1)[-1]

    def key(self, value: Any) -> str:
        for part in self.lookup.split("."):
            value = getattr(value, part)
        return str(value)

    def to_representation(self, value: Any) -> str:
        return _absolute(
            self.context, record_url(self.view_name, self.key(value), self.url_kwarg), keep_format=True
        )

    def link(self, context: dict[str, Any], value: Any) -> str:
        """`to_representation` for the serializer whose context this is, without reversing."""
        return _record_link(context, self.view_name, self.key(value), self.url_kwarg, True)


class HtmlUrlField(serializers.Field):
    """The absolute address of the record's public page (`get_absolute_url`, its model's `PAGE`)."""

    def __init__(self, **kwargs):
        kwargs["source"] = "*"
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Model) -> str:
        return _absolute(self.context, value.get_absolute_url())  # type: ignore[attr-defined]

    def link(self, context: dict[str, Any], value: Model) -> str:
        """`to_representation` for the serializer whose context this is, without reversing."""
        page: PublicPage = value.PAGE  # type: ignore[attr-defined]
        return _record_link(context, page.name, str(getattr(value, page.key)), page.sample, False)


class LabelField(serializers.Field):
    """The words for a code field (`get_<field>_display`), in the active language (English under /api/)."""

    def __init__(self, code_field: str, **kwargs):
        kwargs["source"] = "*"
        kwargs["read_only"] = True
        super().__init__(**kwargs)
        self.code_field = code_field

    def to_representation(self, value: Model) -> str:
        return str(getattr(value, f"get_{self.code_field}_display")())


extend_schema_field(OpenApiTypes.URI)(ApiUrlField)
extend_schema_field(OpenApiTypes.URI)(HtmlUrlField)
extend_schema_field(OpenApiTypes.STR)(LabelField)


class UTCDateTimeField(serializers.DateTimeField):
    """A moment in UTC, ISO 8601 with a `Z`, as the downloads write it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default_timezone", datetime.UTC)
        super().__init__(**kwargs)


UTC_MOMENT = UTCDateTimeField()

# The lists the API's querysets load a request's documents and a decision's conditions into
# (`Prefetch(..., to_attr=...)`, ordinances.api), which the serializers below read.
DOCUMENT_LIST = "document_list"
CONDITION_LIST = "condition_list"


class PrefetchedList(serializers.ListSerializer):
    """
    A nested list read from the list a view's queryset prefetched into `source`
    (`Prefetch(..., to_attr=source)`). A row without it is a view's mistake, said out loud:
    DRF would leave the key out of the answer without a word, as it does for any read-only
    field whose attribute is missing.
    """

    def get_attribute(self, instance: Any) -> Any:
        try:
            return getattr(instance, self.source)
        except AttributeError:
            raise ImproperlyConfigured(
                f"{type(instance).__name__}.{self.source} is missing: the queryset behind"
                f" {self.parent.__class__.__name__}.{self.field_name} must load it with"
                f" Prefetch(..., to_attr={self.source!r})."
            ) from None


def child(parent: serializers.Serializer, serializer_class: type[serializers.Serializer]) -> Any:
    """
    A serializer that `parent`'s method fields use for each row, made once per `parent`
    (building one finds its fields anew, which cost more than the row it represented).
    """
    made = parent.__dict__.setdefault("_children", {})
    if serializer_class not in made:
        made[serializer_class] = serializer_class(context=parent.context)
    return made[serializer_class]


class FastRepresentation:
    """
    DRF's `Serializer.to_representation` with each field's way to its value worked out once
    per serializer class, not once per response, row and field: a plain attribute is read
    with `getattr`, anything else (a dotted source, a callable, a value that raises) the way
    DRF reads it; a field whose answer does not depend on the response (a number, a date, a
    code) is written by one made for the class, a nested serializer by one per response
    (`child`), a label once per response and code, a link from a template made once per
    response. The rows are the same, in the same order; a list of 25 requests spent most of
    its time in DRF's generic attribute lookup, in copying its fields for every response and
    in reversing two hundred links.

    A class's fields must be the same for every instance (none here takes `fields=`); one
    with a field this does not know is written DRF's way, its fields copied per response.
    """

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if isinstance(instance, Mapping):
            return super().to_representation(instance)  # type: ignore[misc]
        plan = _PLANS.get(type(self))
        if plan is None:
            plan = _PLANS[type(self)] = _make_plan(type(self))
        if plan is _PER_RESPONSE:
            plan = self.__dict__.get("_plan") or self.__dict__.setdefault("_plan", _bound_plan(self))
        context = self.context  # type: ignore[attr-defined]
        row: dict[str, Any] = {}
        for name, attribute, kind, field in plan:
            value: Any = _GENERIC
            if attribute == "*":
                value = instance
            elif attribute is not None:
                try:
                    value = getattr(instance, attribute)
                except (AttributeError, KeyError, ObjectDoesNotExist):
                    value = _GENERIC
                if callable(value) and not isinstance(value, BaseManager):
                    value = _GENERIC
            if value is _GENERIC:
                try:
                    value = field.get_attribute(instance)
                except SkipField:
                    continue
                if isinstance(value, PKOnlyObject):
                    value = value if value.pk is not None else None
            if value is None:
                row[name] = None
            elif kind is _VALUE:
                row[name] = field.to_representation(value)
            elif kind is _TEXT:
                row[name] = value if value.__class__ is str else str(value)
            elif kind is _LINK:
                row[name] = field.link(context, value)
            elif kind is _LABEL:
                row[name] = _label(context, field, value)
            elif kind is _METHOD:
                row[name] = getattr(self, field.method_name)(value)
            elif kind is _NESTED:
                row[name] = child(self, type(field)).to_representation(value)
            elif kind is _MANY:
                nested = child(self, type(field.child))
                rows = value.all() if isinstance(value, BaseManager) else value
                row[name] = [nested.to_representation(item) for item in rows]
            else:
                row[name] = field.to_representation(value)
        return row


# A field whose value is found the way DRF finds it (`Field.get_attribute`).
_GENERIC: Any = object()

# How a plan writes a field's value: with the field made for the class (its answer depends on
# nothing but the value), as text, as a link or a label (`_record_link`, `_label`), by the
# serializer's own method, by a nested serializer or a list of them; `_BOUND` by the field of
# this serializer (`_bound_plan`).
_VALUE, _TEXT, _LINK, _LABEL, _METHOD, _NESTED, _MANY, _BOUND = (object() for _ in range(8))

# Fields whose `to_representation` reads nothing but the value and the field's own options.
_CONTEXT_FREE: tuple[type[serializers.Field], ...] = (
    serializers.IntegerField,
    serializers.BooleanField,
    serializers.DateField,
    serializers.DateTimeField,
    serializers.ChoiceField,
    serializers.JSONField,
)
# DRF's `CharField` and its subclasses that do not write it otherwise: `str(value)`.
_TEXT_FIELDS: tuple[type[serializers.Field], ...] = (
    serializers.CharField,
    serializers.SlugField,
    serializers.URLField,
    serializers.EmailField,
)

Plan = list[tuple[str, str | None, object, Any]]

# Each serializer class's plan, or `_PER_RESPONSE` for a class written with its own fields.
_PLANS: dict[type, Plan] = {}
_PER_RESPONSE: Plan = []


def _attribute(field: serializers.Field) -> str | None:
    """What `FastRepresentation` reads with `getattr`: `*`, one attribute, or None for DRF's lookup."""
    if field.source == "*":
        return "*"
    if len(field.source_attrs) == 1 and not isinstance(
        field, serializers.RelatedField | serializers.ManyRelatedField
    ):
        return field.source_attrs[0]
    return None


def _make_plan(serializer_class: type) -> Plan:
    """
    The plan of a class, its fields those of one instance made for it (they are never given a
    response's context), or `_PER_RESPONSE` when a field's answer could depend on the response.
    """
    plan: Plan = []
    for field in serializer_class()._readable_fields:
        kind: object
        if type(field) in _CONTEXT_FREE or type(field) is UTCDateTimeField:
            kind = _VALUE
        elif type(field) in _TEXT_FIELDS:
            kind = _TEXT
        elif type(field) in (ApiUrlField, HtmlUrlField):
            kind = _LINK
        elif type(field) is LabelField:
            kind = _LABEL
        elif type(field) is serializers.SerializerMethodField:
            kind = _METHOD
        elif isinstance(field, FastRepresentation):
            kind = _NESTED
        elif type(field) in (serializers.ListSerializer, PrefetchedList) and isinstance(
            field.child, FastRepresentation
        ):
            kind = _MANY
        else:
            return _PER_RESPONSE
        plan.append((field.field_name, _attribute(field), kind, field))
    return plan


def _bound_plan(serializer: Any) -> Plan:
    """The plan of one serializer whose fields are its own (DRF's, copied per response)."""
    return [(field.field_name, _attribute(field), _BOUND, field) for field in serializer._readable_fields]


def _label(context: dict[str, Any], field: LabelField, row: Model) -> str:
    """`field.to_representation(row)`, looked up once per response for each code."""
    code = getattr(row, field.code_field)
    labels = context.get("_labels")
    if labels is None:
        labels = context["_labels"] = {}
    key = (field, row.__class__, code)
    try:
        return labels[key]
    except KeyError:
        label = labels[key] = field.to_representation(row)
        return label
    except TypeError:  # a code that cannot be a key
        return field.to_representation(row)


class Serializer(FastRepresentation, serializers.Serializer):
    """A read-only representation of something that is not one model row."""


class ModelSerializer(FastRepresentation, serializers.ModelSerializer):
    """Read-only representations whose moments are in UTC."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # DRF works out a model serializer's fields from the model anew for every response;
        # they never change, so each response gets a copy of the first response's (a copy
        # is what DRF gives of the declared ones), unbound as DRF's own are.
        fields = _MODEL_FIELDS.get(type(self))
        if fields is None:
            fields = _MODEL_FIELDS[type(self)] = super().get_fields()
        return copy.deepcopy(fields)

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UTCDateTimeField,
    }


_MODEL_FIELDS: dict[type[serializers.ModelSerializer], dict[str, serializers.Field]] = {}


class VotesSerializer(Serializer):
    """A vote's count, from the `votes_*` fields of an ordinance or a decision."""

    yes = serializers.IntegerField(source="votes_yes", allow_null=True, read_only=True)
    no = serializers.IntegerField(source="votes_no", allow_null=True, read_only=True)
    abstain = serializers.IntegerField(source="votes_abstain", allow_null=True, read_only=True)
    absent = serializers.IntegerField(source="votes_absent", allow_null=True, read_only=True)


# ---------------------------------------------------------------------------
# References from one record to another
# ---------------------------------------------------------------------------


class AgencyRefSerializer(ModelSerializer):
    url = ApiUrlField("api:agency-detail")

    class Meta:
        model = Agency
        fields = ["slug", "name", "url"]


class TechnologyRefSerializer(ModelSerializer):
    url = ApiUrlField("api:technology-detail")

    class Meta:
        model = Technology
        fields = ["slug", "name", "category", "url"]


class OrdinanceRefSerializer(ModelSerializer):
    url = ApiUrlField("api:ordinance-detail")

    class Meta:
        model = Ordinance
        fields = ["slug", "file_number", "title", "url"]


class RequestRefSerializer(ModelSerializer):
    url = ApiUrlField("api:request-detail", lookup="reference")

    class Meta:
        model = Request
        fields = ["reference", "status", "url"]


class ExceptionRefSerializer(ModelSerializer):
    class Meta:
        model = StatutoryException
        fields = ["slug", "title"]


# ---------------------------------------------------------------------------
# Ordinances and their process
# ---------------------------------------------------------------------------


class SourceSerializer(ModelSerializer):
    class Meta:
        model = Source
        fields = ["url", "title", "publisher", "published_on"]


class RuleSerializer(ModelSerializer):
    class Meta:
        model = CategoryRule
        fields = ["category", "rule", "note"]


class ExceptionSerializer(ModelSerializer):
    class Meta:
        model = StatutoryException
        fields = ["slug", "title", "category", "description", "verified", "verification_note"]


class StepSerializer(ModelSerializer):
    """One step of the path: for a vote, the deciding body, its seats and the majority it needs."""

    class Meta:
        model = ProcessStep
        fields = ["kind", "body", "seats", "majority", "verified", "note"]


class DeadlineSerializer(ModelSerializer):
    class Meta:
        model = Deadline
        fields = [
            "kind",
            "amount",
            "unit",
            "counted_from",
            "month",
            "day",
            "extension_amount",
            "verified",
            "note",
        ]


class OrdinanceSerializer(ModelSerializer):
    """An ordinance with its process as data: rules, exceptions, steps in order, deadlines."""

    url = ApiUrlField("api:ordinance-detail")
    html_url = HtmlUrlField()
    changes_url = ApiUrlField("api:ordinance-changes")
    status_label = LabelField("status")
    ocd_id = serializers.SerializerMethodField(help_text="Its Open Civic Data bill id (docs/api.md).")
    votes = VotesSerializer(source="*", read_only=True)
    sources = SourceSerializer(many=True, read_only=True)
    rules = RuleSerializer(many=True, read_only=True)
    exceptions = ExceptionSerializer(many=True, read_only=True)
    steps = serializers.SerializerMethodField()
    deadlines = DeadlineSerializer(many=True, read_only=True)

    class Meta:
        model = Ordinance
        fields = [
            "slug",
            "url",
            "html_url",
            "changes_url",
            "ocd_id",
            "file_number",
            "title",
            "jurisdiction",
            "code_citation",
            "status",
            "status_label",
            "introduced_on",
            "adopted_on",
            "effective_on",
            "author",
            "votes",
            "summary",
            "full_text",
            "unverified_note",
            "language",
            "is_demo",
            "sources",
            "rules",
            "exceptions",
            "steps",
            "deadlines",
        ]

    @extend_schema_field(OpenApiTypes.STR)
    def get_ocd_id(self, ordinance: Ordinance) -> str:
        return ocd.bill_id(ordinance)

    @extend_schema_field(StepSerializer(many=True))
    def get_steps(self, ordinance: Ordinance) -> list[dict[str, Any]]:
        # In the order a request meets them (`Ordinance.path`), not the table's order.
        step = child(self, StepSerializer)
        return [step.to_representation(row) for row in ordinance.path()]


class OrdinanceChangeSerializer(ModelSerializer):
    """One change to an ordinance's process: each changed value's path, old and new, as stored."""

    changes = serializers.JSONField(read_only=True)

    class Meta:
        model = OrdinanceChange
        fields = ["created_at", "actor_name", "actor_role", "via", "changes"]


# ---------------------------------------------------------------------------
# Agencies and technologies
# ---------------------------------------------------------------------------


class AgencySerializer(ModelSerializer):
    url = ApiUrlField("api:agency-detail")
    html_url = HtmlUrlField()
    board_url = ApiUrlField("api:agency-board")
    kind_label = LabelField("kind")

    class Meta:
        model = Agency
        fields = [
            "slug",
            "url",
            "html_url",
            "board_url",
            "name",
            "kind",
            "kind_label",
            "covered",
            "website",
            "description",
            "language",
            "is_demo",
        ]


class TechnologySerializer(ModelSerializer):
    url = ApiUrlField("api:technology-detail")
    html_url = HtmlUrlField()
    board_url = ApiUrlField("api:technology-board")
    category_label = LabelField("category")
    # Annotated by the view (`rule_in_force_subquery`): the rule in force for its category.
    governing_rule = serializers.ChoiceField(
        choices=CategoryRule.Rule.choices, allow_null=True, read_only=True
    )

    class Meta:
        model = Technology
        fields = [
            "slug",
            "url",
            "html_url",
            "board_url",
            "name",
            "category",
            "category_label",
            "governing_rule",
            "description",
            "civil_liberties_concerns",
            "vendors",
            "language",
            "is_demo",
        ]


# ---------------------------------------------------------------------------
# Requests, decisions, conditions and the timeline
# ---------------------------------------------------------------------------


class ConditionSerializer(ModelSerializer):
    class Meta:
        model = Condition
        fields = ["text", "due_on", "status"]


class DecisionSerializer(ModelSerializer):
    """A decision on a public request, with its vote (when the law has one) and its conditions."""

    url = ApiUrlField("api:decision-detail", lookup="request.reference", url_kwarg="reference")
    request = RequestRefSerializer(read_only=True)
    outcome_label = LabelField("outcome")
    ocd_id = serializers.SerializerMethodField(
        help_text="The Open Civic Data id of the vote; null for a decision made without one."
    )
    votes = VotesSerializer(source="*", read_only=True)
    conditions = PrefetchedList(child=ConditionSerializer(), source=CONDITION_LIST, read_only=True)

    class Meta:
        model = Decision
        fields = [
            "url",
            "request",
            "outcome",
            "outcome_label",
            "ocd_id",
            "decided_on",
            "body",
            "seats",
            "votes",
            "effective_on",
            "expires_on",
            "summary",
            "language",
            "conditions",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_ocd_id(self, decision: Decision) -> str | None:
        return ocd.vote_id(decision)


class NestedDecisionSerializer(DecisionSerializer):
    """A decision inside its request, which it does not repeat."""

    class Meta(DecisionSerializer.Meta):
        fields = [name for name in DecisionSerializer.Meta.fields if name != "request"]


class DocumentSerializer(ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["title", "url", "uploaded_at"]

    @extend_schema_field(OpenApiTypes.STR)
    def get_url(self, attachment: Attachment) -> str:
        href = attachment.href
        return _absolute(self.context, href) if href else ""


class DueSerializer(Serializer):
    """A deadline that has started to run: the ordinance's row, the date it counts from, the day it falls due."""

    kind = serializers.ChoiceField(choices=Deadline.Kind.choices, read_only=True)
    anchor = serializers.DateField(read_only=True)
    due_on = serializers.DateField(read_only=True)


class UpcomingSerializer(Serializer):
    """A date ahead of a pending request: a deadline running for it, the close of comment, its hearing."""

    kind = serializers.CharField(
        read_only=True,
        help_text="A deadline kind (as in the ordinance's deadlines), `comment_closes` or `hearing`.",
    )
    on = serializers.SerializerMethodField(
        help_text="A date (YYYY-MM-DD), or for a hearing a moment (ISO 8601)."
    )

    @extend_schema_field(OpenApiTypes.STR)
    def get_on(self, item: progress.Upcoming) -> str:
        if isinstance(item.on, datetime.datetime):
            return UTC_MOMENT.to_representation(item.on)
        return item.on.isoformat()


class RequestSerializer(ModelSerializer):
    """A public request (never a draft) with its decision, conditions, documents and dates."""

    url = ApiUrlField("api:request-detail", lookup="reference")
    html_url = HtmlUrlField()
    timeline_url = ApiUrlField("api:request-timeline", lookup="reference")
    kind_label = LabelField("kind")
    status_label = LabelField("status")
    agency = AgencyRefSerializer(read_only=True)
    technology = TechnologyRefSerializer(read_only=True)
    ordinance = OrdinanceRefSerializer(read_only=True)
    exception = ExceptionRefSerializer(read_only=True, allow_null=True)
    renews = RequestRefSerializer(read_only=True, allow_null=True)
    decision = serializers.SerializerMethodField()
    documents = PrefetchedList(child=DocumentSerializer(), source=DOCUMENT_LIST, read_only=True)
    deadlines = serializers.SerializerMethodField()
    upcoming = serializers.SerializerMethodField()

    class Meta:
        model = Request
        fields = [
            "reference",
            "url",
            "html_url",
            "timeline_url",
            "kind",
            "kind_label",
            "status",
            "status_label",
            "title",
            "agency",
            "technology",
            "ordinance",
            "exception",
            "renews",
            "purpose",
            "justification",
            "alternatives_considered",
            "data_collected",
            "retention",
            "sharing",
            "requested_term_days",
            "emergency_used_on",
            "submitted_at",
            "advisory_referred_on",
            "comment_period_opened_on",
            "comment_period_ends_on",
            "hearing_noticed_on",
            "hearing_at",
            "decision",
            "documents",
            "deadlines",
            "upcoming",
            "language",
            "is_demo",
        ]

    @extend_schema_field(NestedDecisionSerializer(allow_null=True))
    def get_decision(self, request: Request) -> dict[str, Any] | None:
        decision = getattr(request, "decision", None)
        if decision is None:
            return None
        return child(self, NestedDecisionSerializer).to_representation(decision)

    @extend_schema_field(DueSerializer(many=True))
    def get_deadlines(self, request: Request) -> list[dict[str, Any]]:
        due = child(self, DueSerializer)
        return [due.to_representation(row) for row in deadlines.for_request(request)]

    @extend_schema_field(UpcomingSerializer(many=True))
    def get_upcoming(self, request: Request) -> list[dict[str, Any]]:
        upcoming = child(self, UpcomingSerializer)
        return [upcoming.to_representation(row) for row in progress.upcoming(request)]


class EventSerializer(ModelSerializer):
    """
    One public timeline entry: what happened (a code), the status it moved from and to, when,
    the role that permitted it, the person's display name (never a login), the facts the
    step produced and the note a person wrote for the public record.
    """

    action_label = LabelField("action")
    data = serializers.JSONField(read_only=True)

    class Meta:
        model = Event
        fields = [
            "action",
            "action_label",
            "from_status",
            "to_status",
            "created_at",
            "actor_role",
            "actor_name",
            "data",
            "note",
        ]


# ---------------------------------------------------------------------------
# The status board
# ---------------------------------------------------------------------------


class ApprovalSerializer(Serializer):
    """An approval (or exception, or published policy) in effect on a board row."""

    reference = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Request.Status.choices, read_only=True)
    url = ApiUrlField("api:request-detail", lookup="reference")
    effective_on = serializers.DateField(source="decision.effective_on", allow_null=True, read_only=True)
    expires_on = serializers.DateField(source="decision.expires_on", allow_null=True, read_only=True)


class BoardEntrySerializer(Serializer):
    """Where one agency stands with one technology: the derived status code and the record behind it."""

    agency = AgencyRefSerializer(read_only=True)
    technology = TechnologyRefSerializer(read_only=True)
    status = serializers.ChoiceField(
        choices=[(code.value, code.name) for code in StatusCode], source="code", read_only=True
    )
    status_label = serializers.SerializerMethodField()
    rule = serializers.ChoiceField(
        choices=CategoryRule.Rule.choices, source="rule.rule", allow_null=True, read_only=True
    )
    ordinance = OrdinanceRefSerializer(source="rule.ordinance", allow_null=True, read_only=True)
    in_inventory = serializers.SerializerMethodField()
    approvals = ApprovalSerializer(source="active", many=True, read_only=True)
    pending = RequestRefSerializer(many=True, read_only=True)
    until = serializers.DateField(allow_null=True, read_only=True)
    is_demo = serializers.BooleanField(read_only=True)

    @extend_schema_field(OpenApiTypes.STR)
    def get_status_label(self, entry: BoardEntry) -> str:
        return str(BOARD_STATUS_LABELS.get(str(entry.code), entry.code))

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_in_inventory(self, entry: BoardEntry) -> bool:
        return entry.use is not None
