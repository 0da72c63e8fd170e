"""
Every FilterSet the portal uses, in one module: the public pages use them now, and the
API's views use the same classes, so a filter means the same thing everywhere.

No list starts with Django's "---------": each select's empty choice says what it shows
("Any status"), and its value is empty, so a list with every filter at "any" has a clean
address (the list views drop empty parameters).
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ordinances.models import Agency, Category, Decision, Ordinance, Request, Technology


class SearchFilter(django_filters.CharFilter):
    """Case-insensitive search over several text fields."""

    def __init__(self, *, fields: tuple[str, ...], **kwargs):
        super().__init__(label=_("Search"), **kwargs)
        self.search_fields = fields

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        if not value:
            return qs
        query = Q()
        for name in self.search_fields:
            query |= Q(**{f"{name}__icontains": value})
        return qs.filter(query)


class YearFilter(django_filters.NumberFilter):
    """A four-digit year; out-of-range years are refused before they reach the database."""

    field_class = forms.IntegerField

    def __init__(self, *, field_name: str, **kwargs):
        super().__init__(
            field_name=field_name,
            lookup_expr="year",
            label=_("Year"),
            min_value=1900,
            max_value=2100,
            **kwargs,
        )


class AnyYesNo(forms.NullBooleanSelect):
    """
    A yes/no filter whose empty choice reads "Any" and is sent as an empty value (Django's
    own widget says "Unknown" and sends "unknown"). Values it does not know read as "Any".
    """

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", _("Any")), ("true", _("Yes")), ("false", _("No"))]

    def format_value(self, value: object) -> list[str]:  # type: ignore[override]
        # A list, as `Select` matches it: Django's string would find "" inside "true".
        if value is True or value == "true":
            return ["true"]
        if value is False or value == "false":
            return ["false"]
        return [""]


class OrdinanceFilter(django_filters.FilterSet):
    q = SearchFilter(fields=("title", "file_number", "summary", "code_citation"))
    status = django_filters.ChoiceFilter(
        choices=Ordinance.Status.choices, label=_("Status"), empty_label=_("Any status")
    )
    category = django_filters.ChoiceFilter(
        field_name="rules__category",
        choices=Category.choices,
        label=_("Technology category"),
        empty_label=_("Any category"),
        distinct=True,
    )
    year = YearFilter(field_name="adopted_on")

    class Meta:
        model = Ordinance
        fields = ["q", "status", "category", "year"]


class AgencyFilter(django_filters.FilterSet):
    q = SearchFilter(fields=("name", "description"))
    kind = django_filters.ChoiceFilter(
        choices=Agency.Kind.choices, label=_("Kind"), empty_label=_("Any kind")
    )
    covered = django_filters.BooleanFilter(label=_("Covered by city ordinances"), widget=AnyYesNo)
    technology = django_filters.ModelChoiceFilter(
        field_name="uses__technology",
        queryset=Technology.objects.all(),
        to_field_name="slug",
        label=_("Uses technology"),
        empty_label=_("Any technology"),
        distinct=True,
    )

    class Meta:
        model = Agency
        fields = ["q", "kind", "covered", "technology"]


class TechnologyFilter(django_filters.FilterSet):
    q = SearchFilter(fields=("name", "description", "vendors"))
    category = django_filters.ChoiceFilter(
        choices=Category.choices, label=_("Category"), empty_label=_("Any category")
    )
    agency = django_filters.ModelChoiceFilter(
        field_name="uses__agency",
        queryset=Agency.objects.all(),
        to_field_name="slug",
        label=_("Used by agency"),
        empty_label=_("Any agency"),
        distinct=True,
    )

    class Meta:
        model = Technology
        fields = ["q", "category", "agency"]


# Drafts are never public, so they are not offered as a filter value.
PUBLIC_STATUSES = [(value, label) for value, label in Request.Status.choices if value != Request.Status.DRAFT]


class RequestFilter(django_filters.FilterSet):
    q = SearchFilter(fields=("reference", "title", "purpose", "agency__name", "technology__name"))
    status = django_filters.ChoiceFilter(
        choices=PUBLIC_STATUSES, label=_("Status"), empty_label=_("Any status")
    )
    kind = django_filters.ChoiceFilter(
        choices=Request.Kind.choices, label=_("Kind"), empty_label=_("Any kind")
    )
    agency = django_filters.ModelChoiceFilter(
        queryset=Agency.objects.all(), to_field_name="slug", label=_("Agency"), empty_label=_("Any agency")
    )
    technology = django_filters.ModelChoiceFilter(
        queryset=Technology.objects.all(),
        to_field_name="slug",
        label=_("Technology"),
        empty_label=_("Any technology"),
    )
    category = django_filters.ChoiceFilter(
        field_name="technology__category",
        choices=Category.choices,
        label=_("Technology category"),
        empty_label=_("Any category"),
    )
    ordinance = django_filters.ModelChoiceFilter(
        queryset=Ordinance.objects.all(),
        to_field_name="slug",
        label=_("Ordinance"),
        empty_label=_("Any ordinance"),
    )
    year = YearFilter(field_name="submitted_at")

    class Meta:
        model = Request
        fields = ["q", "status", "kind", "agency", "technology", "category", "ordinance", "year"]


class DecisionFilter(django_filters.FilterSet):
    """The decisions list of the API (`/api/v1/decisions/`): by outcome, by the request's agency, technology and ordinance."""

    outcome = django_filters.ChoiceFilter(
        choices=Decision.Outcome.choices, label=_("Outcome"), empty_label=_("Any outcome")
    )
    agency = django_filters.ModelChoiceFilter(
        field_name="request__agency",
        queryset=Agency.objects.all(),
        to_field_name="slug",
        label=_("Agency"),
        empty_label=_("Any agency"),
    )
    technology = django_filters.ModelChoiceFilter(
        field_name="request__technology",
        queryset=Technology.objects.all(),
        to_field_name="slug",
        label=_("Technology"),
        empty_label=_("Any technology"),
    )
    category = django_filters.ChoiceFilter(
        field_name="request__technology__category",
        choices=Category.choices,
        label=_("Technology category"),
        empty_label=_("Any category"),
    )
    ordinance = django_filters.ModelChoiceFilter(
        field_name="request__ordinance",
        queryset=Ordinance.objects.all(),
        to_field_name="slug",
        label=_("Ordinance"),
        empty_label=_("Any ordinance"),
    )
    year = YearFilter(field_name="decided_on")

    class Meta:
        model = Decision
        fields = ["outcome", "agency", "technology", "category", "ordinance", "year"]
