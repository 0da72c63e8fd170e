"""
Every FilterSet the portal uses, in one module: the public pages use them now, and the
API's views use the same classes, so a filter means the same thing everywhere.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from ordinances.models import Agency, Category, Ordinance, Request, Technology


class SearchFilter(django_filters.CharFilter):
    """Case-insensitive search over several text fields."""

    def __init__(self, *, fields: tuple[str, ...], **kwargs):
        super().__init__(label="Search", **kwargs)
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
            field_name=field_name, lookup_expr="year", label="Year", min_value=1900, max_value=2100, **kwargs
        )


class OrdinanceFilter(django_filters.FilterSet):
    q = SearchFilter(fields=("title", "file_number", "summary", "code_citation"))
    status = django_filters.ChoiceFilter(choices=Ordinance.Status.choices)
    category = django_filters.ChoiceFilter(
        field_name="rules__category", choices=Category.choices, label="Technology category", distinct=True
    )
    year = YearFilter(field_name="adopted_on")

    class Meta:
        model = Ordinance
        fields = ["q", "status", "category", "year"]


class AgencyFilter(django_filters.FilterSet):
    q = SearchFilter(fields=("name", "description"))
    kind = django_filters.ChoiceFilter(choices=Agency.Kind.choices)
    covered = django_filters.BooleanFilter(label="Covered by city ordinances")
    technology = django_filters.ModelChoiceFilter(
        field_name="uses__technology",
        queryset=Technology.objects.all(),
        to_field_name="slug",
        label="Uses technology",
        distinct=True,
    )

    class Meta:
        model = Agency
        fields = ["q", "kind", "covered", "technology"]


class TechnologyFilter(django_filters.FilterSet):
    q = SearchFilter(fields=("name", "description", "vendors"))
    category = django_filters.ChoiceFilter(choices=Category.choices)
    agency = django_filters.ModelChoiceFilter(
        field_name="uses__agency",
        queryset=Agency.objects.all(),
        to_field_name="slug",
        label="Used by agency",
        distinct=True,
    )

    class Meta:
        model = Technology
        fields = ["q", "category", "agency"]


# Drafts are never public, so they are not offered as a filter value.
PUBLIC_STATUSES = [(value, label) for value, label in Request.Status.choices if value != Request.Status.DRAFT]


class RequestFilter(django_filters.FilterSet):
    q = SearchFilter(fields=("reference", "title", "purpose", "agency__name", "technology__name"))
    status = django_filters.ChoiceFilter(choices=PUBLIC_STATUSES)
    kind = django_filters.ChoiceFilter(choices=Request.Kind.choices)
    agency = django_filters.ModelChoiceFilter(queryset=Agency.objects.all(), to_field_name="slug")
    technology = django_filters.ModelChoiceFilter(queryset=Technology.objects.all(), to_field_name="slug")
    category = django_filters.ChoiceFilter(
        field_name="technology__category", choices=Category.choices, label="Technology category"
    )
    ordinance = django_filters.ModelChoiceFilter(queryset=Ordinance.objects.all(), to_field_name="slug")
    year = YearFilter(field_name="submitted_at")

    class Meta:
        model = Request
        fields = ["q", "status", "kind", "agency", "technology", "category", "ordinance", "year"]
