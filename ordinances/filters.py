"""
Every FilterSet the portal uses, in one module: the public pages use them now, and the
API's views use the same classes, so a filter means the same thing everywhere.

No list starts with Django's "---------": each select's empty choice says what it shows
("Any status"), and its value is empty, so a list with every filter at "any" has a clean
address (the list views drop empty parameters).
"""

from __future__ import annotations

import copy
import datetime
import functools
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import django_filters
import django_filters.fields
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import slug_re
from django.db.models import Case, DateTimeField, Model, Q, QuerySet, Value, When
from django.forms.renderers import DjangoTemplates
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django_filters.constants import EMPTY_VALUES

from ordinances import workflow
from ordinances.models import (
    Agency,
    AnnualReport,
    Category,
    Constant,
    Decision,
    EmergencyUse,
    Ordinance,
    Request,
    Technology,
    Violation,
)

# The longest text a list's search box takes, as the site search's (ordinances/search.py):
# longer is refused with a 400. SQLite refuses a LIKE pattern past 50,000 bytes with an error.
SEARCH_MAX = 200


class SearchFilter(django_filters.CharFilter):
    """Case-insensitive search over several text fields."""

    def __init__(self, *, fields: tuple[str, ...], **kwargs):
        super().__init__(label=_("Search"), max_length=SEARCH_MAX, **kwargs)
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

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if value in EMPTY_VALUES:
            return qs
        # The year's bounds written into the SQL (Constant): a generic plan guesses a range
        # between parameters holds a few rows, and would read a whole year to sort it.
        start, end = year_bounds(qs.model, self.field_name, int(value))
        return qs.filter(
            **{f"{self.field_name}__gte": Constant(start), f"{self.field_name}__lt": Constant(end)}
        )


def year_bounds(model: type[Model], field_name: str, year: int) -> tuple[datetime.date, datetime.date]:
    """The first day of `year` and of the next, as midnights in the city's time zone for a datetime field."""
    start, end = datetime.date(year, 1, 1), datetime.date(year + 1, 1, 1)
    if isinstance(model._meta.get_field(field_name), DateTimeField):
        return (
            timezone.make_aware(datetime.datetime.combine(start, datetime.time())),
            timezone.make_aware(datetime.datetime.combine(end, datetime.time())),
        )
    return start, end


class SubmittedYearFilter(YearFilter):
    """
    The year a request was submitted, which also bounds where its row lies in the lists'
    orders: a request is created before it is submitted (`workflow.create_draft`, then
    `submit`), and its reference carries the year it was created (`workflow.reference`). So a
    request submitted in a year was created in it or before, and its reference sorts below
    the next year's first. Saying so lets the request list (newest created first) and the
    API (newest reference first) read from that year's end down, rather than read every
    newer request of the history and drop it.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(field_name="submitted_at", **kwargs)

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if value in EMPTY_VALUES:
            return qs
        qs = super().filter(qs, value)
        _, end = year_bounds(qs.model, "created_at", int(value))
        return qs.filter(
            created_at__lt=Constant(end), reference__lt=Constant(workflow.reference(int(value) + 1, 0))
        )


# The most answers a `FixedSelect` keeps (values × languages × attributes); past it, it starts over.
FIXED_SELECT_KEPT = 64


class _MadeOnce(forms.Select):
    """
    A select of the code's own choices (statuses, kinds, categories, yes or no; never rows
    of a table), so that its HTML follows from its name, value and attributes, the language
    and the renderer alone: each is made once per process rather than on every list page,
    where Django built and rendered every option of every select on every view. The copies
    each form makes of a filter set's widget (a shallow copy) share what it made.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.made: dict[tuple[Any, ...], SafeString] = {}

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        key = (
            name,
            tuple(self.format_value(value)),
            tuple((attrs or {}).items()),
            tuple(self.attrs.items()),
            get_language(),
            id(renderer),
        )
        if (made := self.made.get(key)) is None:
            if len(self.made) >= FIXED_SELECT_KEPT:
                self.made.clear()
            made = self.made[key] = super().render(name, value, attrs, renderer)
        return made


class FixedSelect(_MadeOnce):
    """The select of a `FixedChoiceFilter`."""


class FixedChoiceField(django_filters.fields.ChoiceField):
    widget = FixedSelect


class FixedChoiceFilter(django_filters.ChoiceFilter):
    """A choice among the code's own values (a status, a kind, a category), shown as a `FixedSelect`."""

    field_class = FixedChoiceField

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        # The form has checked the value against the code's own choices, so it may be written
        # into the SQL (Constant), where a partial index's condition can match it:
        # `?status=expired` reads its requests from `request_expired_created`.
        if value in EMPTY_VALUES or value == self.null_value:
            return super().filter(qs, value)
        return super().filter(qs, Constant(str(value)))


class AnyYesNo(_MadeOnce, forms.NullBooleanSelect):
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


# ---------------------------------------------------------------------------
# "An agency" and "a technology": a select while the table is short, a text box that
# suggests names (an accessible combobox, static/js/combobox.js) once it is long.
# ---------------------------------------------------------------------------

# The most suggestions the choices endpoints send (and so the most the combobox announces).
SUGGESTIONS = 20
# The longest text the choices endpoints search for; longer is refused with a 400.
SUGGESTION_QUERY_MAX = 100
# The longest value worth looking up: no name is longer (`max_length` of both models).
RECORD_VALUE_MAX = 200


@dataclass(frozen=True)
class RecordKind:
    """
    What the record filters and the choices endpoints need to know of agencies or of
    technologies: which rows a resident may pick (the lists show every one, demo records
    with their badge, so every row), the endpoint that suggests them, and the words.
    """

    model: type[Agency] | type[Technology]
    choices_url: str
    empty_label: Promise | str
    unknown: Promise | str

    def records(self) -> QuerySet:
        return self.model.objects.all()


AGENCIES = RecordKind(
    model=Agency,
    choices_url="ordinances:agency_choices",
    empty_label=_("Any agency"),
    # %(value)s is what the resident typed or the address held.
    unknown=_("No agency has the name or address “%(value)s”."),
)
TECHNOLOGIES = RecordKind(
    model=Technology,
    choices_url="ordinances:technology_choices",
    empty_label=_("Any technology"),
    # %(value)s is what the resident typed or the address held.
    unknown=_("No technology has the name or address “%(value)s”."),
)


def suggest(kind: RecordKind, text: str) -> list[dict[str, str]]:
    """
    At most `SUGGESTIONS` records whose name holds `text` (any case), those whose name
    starts with it first, each group by name: one query. Empty text suggests the first
    names in order.
    """
    text = text.strip()
    rows = kind.records()
    if text:
        starts = Case(When(name__istartswith=text, then=Value(0)), default=Value(1))
        rows = rows.filter(name__icontains=text).annotate(_starts=starts).order_by("_starts", "name")
    else:
        rows = rows.order_by("name")
    return [{"value": slug, "label": name} for slug, name in rows.values_list("slug", "name")[:SUGGESTIONS]]


def _may_be_key(key: str, value: str) -> bool:
    """Whether `value` may be a record's `key`: anything may be a primary key, only a slug a slug."""
    return key != "slug" or bool(slug_re.match(value))


class RecordChoiceField(django_filters.fields.ModelChoiceField):
    """
    A record by its slug (what links and the API send) or by its exact name in any case
    (what a resident without JavaScript types into the text box): one query, or two for a
    name that could be a slug. A slug wins over another record's name. A value that names
    nothing is refused with a message that repeats it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._found: dict[str, Model] = {}

    def __deepcopy__(self, memo: dict[int, Any]) -> RecordChoiceField:
        # Each form gets its own copy of the field: what one form found is not another's.
        result = super().__deepcopy__(memo)
        result._found = {}
        return result

    def to_python(self, value: Any) -> Model | None:
        if value in self.empty_values:
            return None
        typed = str(value).strip()
        if not typed:
            return None
        key = self.to_field_name or "pk"
        found: Model | None = None
        # A NUL never reaches the database (PostgreSQL refuses it); an over-long value names nothing.
        if len(typed) <= RECORD_VALUE_MAX and "\x00" not in typed:
            # The slug first, through its unique index, unless the value cannot be one; the
            # name only when no slug matches. One query for both (an OR) read every row of the
            # table, no index holding names in any case: 1.4 ms for the technologies, on every
            # filtered list.
            rows = list(self.queryset.filter(**{key: typed})[:1]) if _may_be_key(key, typed) else []
            found = rows[0] if rows else self.queryset.filter(name__iexact=typed).first()
        if found is None:
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={"value": typed}
            )
        self._found[str(value)] = found
        return found

    def prepare_value(self, value: Any) -> Any:
        # The record itself when the form found one, so the widget shows its slug (select)
        # or its name (text box) whichever the address held.
        if isinstance(value, str) and value in self._found:
            return self._found[value]
        return value


def _attrs_html(attrs: dict[str, Any]) -> SafeString:
    """A widget's attributes as Django's `attrs.html` writes them: `True` bare, `False` left out."""
    # `escape`, not `conditional_escape`: the template's `stringformat:'s'` escapes even safe strings.
    return format_html_join(
        "",
        " {}{}",
        (
            (name, "" if value is True else format_html('="{}"', escape(value)))
            for name, value in attrs.items()
            if value is not False
        ),
    )


def input_html(widget: dict[str, Any]) -> SafeString:
    """An `<input>` from its widget context, the HTML of Django's `input.html`."""
    value = widget["value"]
    return format_html(
        '<input type="{}" name="{}"{}{}>',
        widget["type"],
        widget["name"],
        "" if value is None else format_html(' value="{}"', escape(value)),
        _attrs_html(widget["attrs"]),
    )


def select_html(widget: dict[str, Any]) -> SafeString:
    """
    A `<select>` from its widget context, the HTML of Django's `select.html` and
    `select_option.html`, which render one template per option: on a list page, the
    filter form's options cost more than its rows.
    """
    parts: list[str] = [format_html('<select name="{}"{}>', widget["name"], _attrs_html(widget["attrs"]))]
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(format_html('\n  <optgroup label="{}">', group_name))
        for option in options:
            parts.append(
                format_html(
                    '\n  <option value="{}"{}>{}</option>',
                    str(option["value"]),
                    _attrs_html(option["attrs"]),
                    option["label"],
                )
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return mark_safe("".join(parts))


class FilterFormRenderer(DjangoTemplates):
    """
    The form renderer of the public lists' filter forms: selects by `select_html`, text and
    number boxes by `input_html`, rather than by a template per control and per option.
    """

    SELECT = forms.Select.template_name
    # Django's templates that only include `input.html`.
    INPUTS = frozenset((forms.TextInput.template_name, forms.NumberInput.template_name))

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        widget = context.get("widget")
        if widget is not None:
            if template_name in self.INPUTS:
                return input_html(widget)
            if template_name == self.SELECT and self._stock_options(widget):
                return select_html(widget)
        return super().render(template_name, context, request)

    @staticmethod
    def _stock_options(widget: dict[str, Any]) -> bool:
        return all(
            option["template_name"] == forms.Select.option_template_name
            for _name, options, _index in widget["optgroups"]
            for option in options
        )


FILTER_FORM_RENDERER = FilterFormRenderer()


class _Filters(OrderedDict):
    """
    A filter set's declared filters, which each filter set copies when it is made
    (django-filter's `copy.deepcopy(self.base_filters)`): a shallow copy of each filter is
    enough, as a filter set only sets its own `model` and `parent` on its copies, and
    filtering only reads a filter's settings. A deep copy would copy each filter's
    queryset, widget and words on every request.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> OrderedDict[str, django_filters.Filter]:
        return OrderedDict((name, copy.copy(filter_)) for name, filter_ in self.items())


class PortalFilterSet(django_filters.FilterSet):
    """A filter set whose filters are copied shallowly, and whose form class is made once per process."""

    @classmethod
    def get_filters(cls) -> OrderedDict[str, django_filters.Filter]:
        return _Filters(super().get_filters())

    def get_form_class(self) -> type[forms.Form]:
        filterset_class = type(self)
        if (form_class := _FORM_CLASSES.get(filterset_class)) is None:
            form_class = _FORM_CLASSES.setdefault(filterset_class, _form_class(filterset_class))
        return form_class


_FORM_CLASSES: dict[type[django_filters.FilterSet], type[forms.Form]] = {}


def _form_class(filterset_class: type[django_filters.FilterSet]) -> type[forms.Form]:
    """
    The form class of a filter set, as django-filter's `get_form_class` makes it, but once:
    its fields are only the prototypes each form deep-copies, and depend on the code alone
    (their words are lazy, their querysets unevaluated). Made from a copy of the filters,
    so the class's own filters stay as declared.
    """
    filters = {name: copy.deepcopy(filter_) for name, filter_ in filterset_class.base_filters.items()}
    fields = {name: filter_.field for name, filter_ in filters.items()}
    return type(f"{filterset_class.__name__}Form", (filterset_class._meta.form,), fields)


@functools.lru_cache(maxsize=16)
def _announcements(language: str | None) -> SafeString:
    """
    The combobox's words for each count of suggestions, 0 to SUGGESTIONS, as its
    `data-results-N` attributes (one each, so each language keeps its own plural forms).
    They depend on the language alone: worked out once per language, not on every list page.
    """
    return format_html_join(
        "",
        ' data-results-{}="{}"',
        (
            (n, ngettext("%(counter)s result", "%(counter)s results", n) % {"counter": n})
            for n in range(SUGGESTIONS + 1)
        ),
    )


class RecordWidget(forms.Widget):
    """
    The plain `<select>` while the table holds at most `PORTAL_SELECT_LIMIT` rows; past
    that, a text box with a hint that `static/js/combobox.js` turns into a combobox
    suggesting names from the kind's choices endpoint. Deciding costs one query of at most
    LIMIT + 1 rows, which are also the select's options: a page never loads every row.

    Its field sets `choices` (a ModelChoiceIterator, whose queryset it reads).
    """

    # No template: `_render` builds the HTML (`combobox_html`).
    template_name = ""
    choices: Any

    def __init__(self, kind: RecordKind, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.kind = kind
        self.rendered_combobox = False

    @property
    def media(self) -> forms.Media:
        # Only a form that showed a text box needs the script (render the media after the fields).
        if not self.rendered_combobox:
            return forms.Media()
        # django-stubs does not know Django 5.2's `Script` assets yet.
        return forms.Media(js=[forms.Script("js/combobox.js", defer=True)])  # type: ignore[list-item]

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, Model):
            return str(getattr(value, "name", value))
        return super().format_value(value)

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        field = self.choices.field
        limit = settings.PORTAL_SELECT_LIMIT
        rows = list(self.choices.queryset.values_list(field.to_field_name or "pk", "name")[: limit + 1])
        if len(rows) <= limit:
            self.rendered_combobox = False
            return self._render_select(name, value, attrs, renderer, rows)
        self.rendered_combobox = True
        return super().render(name, value, attrs, renderer)

    def _render_select(
        self, name: str, value: Any, attrs: dict[str, Any] | None, renderer: Any, rows: list[tuple[Any, str]]
    ) -> SafeString:
        field = self.choices.field
        if isinstance(value, Model):
            value = getattr(value, field.to_field_name or "pk")
        attrs = dict(attrs or {})
        # The USWDS class of a select, where the form asked for a text input's.
        if "class" in attrs:
            attrs["class"] = " ".join(
                "usa-select" + css[len("usa-input") :] if css.startswith("usa-input") else css
                for css in attrs["class"].split()
            )
        select = forms.Select(attrs=self.attrs, choices=[("", field.empty_label), *rows])
        return select.render(name, value, attrs, renderer)

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        widget_id = widget["attrs"].get("id") or f"id_{name}"
        hint_id = f"{widget_id}-hint"
        described_by = [hint_id, *widget["attrs"].get("aria-describedby", "").split()]
        widget["attrs"].update(
            {
                "class": " ".join([widget["attrs"].get("class", "usa-input"), "portal-combobox__input"]),
                "aria-describedby": " ".join(described_by),
                "autocomplete": "off",
                "maxlength": RECORD_VALUE_MAX,
            }
        )
        widget.update(
            {
                "id": widget_id,
                "hint_id": hint_id,
                "listbox_id": f"{widget_id}-listbox",
                "status_id": f"{widget_id}-status",
                "label": self.choices.field.label,
                "source": reverse(self.kind.choices_url),
                "announcements": _announcements(get_language()),
            }
        )
        return context

    def _render(self, template_name: str, context: dict[str, Any], renderer: Any = None) -> SafeString:
        return combobox_html(context["widget"])


def combobox_html(widget: dict[str, Any]) -> SafeString:
    """
    A record filter past PORTAL_SELECT_LIMIT rows (`RecordWidget`): a text box that takes a
    name, with a hint. static/js/combobox.js makes it a WAI-ARIA 1.2 combobox with a listbox
    popup (USWDS's combo box list styles) fed by the choices endpoint; every word it shows
    comes from the data- attributes, translated here and in `_announcements` (one
    announcement per count, 0 to SUGGESTIONS, so each language keeps its own plural forms).
    Without JavaScript the text box is submitted as typed and the server finds the record by
    its exact name. Built here rather than by a template, as on every list page.
    """
    value = widget["value"]
    return format_html(
        '<div class="portal-combobox position-relative" data-combobox data-source="{}" data-hint="{}"{}>\n'
        '  <span class="usa-hint text-base-dark portal-combobox__hint" id="{}">{}</span>\n'
        '  <input type="text" name="{}"{}{}>\n'
        '  <ul class="usa-combo-box__list" id="{}" role="listbox" aria-label="{}" hidden></ul>\n'
        '  <div class="usa-sr-only" id="{}" role="status" aria-live="polite" aria-atomic="true"></div>\n'
        "</div>\n",
        widget["source"],
        # Catalogs are trusted, as `{% translate %}` gives them.
        mark_safe(gettext("Type part of the name, then choose it from the list.")),
        widget["announcements"],
        widget["hint_id"],
        mark_safe(gettext("Type the full name.")),
        widget["name"],
        "" if value is None else format_html(' value="{}"', value),
        _attrs_html(widget["attrs"]),
        widget["listbox_id"],
        widget["label"],
        widget["status_id"],
    )


class RecordFilter(django_filters.ModelChoiceFilter):
    """
    One agency or one technology, by slug or exact name (see `RecordChoiceField`), shown
    as `RecordWidget`. In the API it stays a string parameter holding a slug.
    """

    field_class = RecordChoiceField

    def __init__(self, *, kind: RecordKind, **kwargs: Any) -> None:
        kwargs.setdefault("empty_label", kind.empty_label)
        super().__init__(
            queryset=kind.records(),
            to_field_name="slug",
            widget=RecordWidget(kind),
            error_messages={"invalid_choice": kind.unknown},
            **kwargs,
        )


class _ListedChoiceIterator(django_filters.fields.ModelChoiceIterator):
    """
    The options of a short table read by one plain query. Django reads them through
    `QuerySet.iterator()`, on PostgreSQL a server-side cursor (DECLARE, FETCH, CLOSE: three
    round trips), meant for tables too long to hold in memory: for the request list's six
    ordinances it cost more than the rest of the filter form.
    """

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        if self.field.null_label is not None:
            yield (self.field.null_value, self.field.null_label)
        for record in self.queryset.all():
            yield self.choice(record)


class ShortTableChoiceField(django_filters.fields.ModelChoiceField):
    iterator = _ListedChoiceIterator


class ShortTableFilter(django_filters.ModelChoiceFilter):
    """A record of a table short enough to offer whole as a select's options (the ordinances)."""

    field_class = ShortTableChoiceField


class OrdinanceFilter(PortalFilterSet):
    q = SearchFilter(fields=("title", "file_number", "summary", "code_citation"))
    status = FixedChoiceFilter(
        choices=Ordinance.Status.choices, label=_("Status"), empty_label=_("Any status")
    )
    category = FixedChoiceFilter(
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


class AgencyFilter(PortalFilterSet):
    q = SearchFilter(fields=("name", "description"))
    kind = FixedChoiceFilter(choices=Agency.Kind.choices, label=_("Kind"), empty_label=_("Any kind"))
    covered = django_filters.BooleanFilter(label=_("Covered by city ordinances"), widget=AnyYesNo)
    technology = RecordFilter(
        kind=TECHNOLOGIES, field_name="uses__technology", label=_("Uses technology"), distinct=True
    )

    class Meta:
        model = Agency
        fields = ["q", "kind", "covered", "technology"]


class TechnologyFilter(PortalFilterSet):
    q = SearchFilter(fields=("name", "description", "vendors"))
    category = FixedChoiceFilter(choices=Category.choices, label=_("Category"), empty_label=_("Any category"))
    agency = RecordFilter(kind=AGENCIES, field_name="uses__agency", label=_("Used by agency"), distinct=True)

    class Meta:
        model = Technology
        fields = ["q", "category", "agency"]


# Drafts are never public, so they are not offered as a filter value.
PUBLIC_STATUSES = [(value, label) for value, label in Request.Status.choices if value != Request.Status.DRAFT]


class RequestFilter(PortalFilterSet):
    q = SearchFilter(fields=("reference", "title", "purpose", "agency__name", "technology__name"))
    status = FixedChoiceFilter(choices=PUBLIC_STATUSES, label=_("Status"), empty_label=_("Any status"))
    kind = FixedChoiceFilter(choices=Request.Kind.choices, label=_("Kind"), empty_label=_("Any kind"))
    agency = RecordFilter(kind=AGENCIES, label=_("Agency"))
    technology = RecordFilter(kind=TECHNOLOGIES, label=_("Technology"))
    category = FixedChoiceFilter(
        field_name="technology__category",
        choices=Category.choices,
        label=_("Technology category"),
        empty_label=_("Any category"),
    )
    # Only what an option shows (`Ordinance.__str__`) and sends: the request list's form lists
    # every ordinance on every view, and an ordinance's other columns hold its full text.
    ordinance = ShortTableFilter(
        queryset=Ordinance.objects.only("slug", "file_number", "title"),
        to_field_name="slug",
        label=_("Ordinance"),
        empty_label=_("Any ordinance"),
    )
    year = SubmittedYearFilter()

    class Meta:
        model = Request
        fields = ["q", "status", "kind", "agency", "technology", "category", "ordinance", "year"]


class DecisionFilter(PortalFilterSet):
    """The decisions list of the API (`/api/v1/decisions/`): by outcome, by the request's agency, technology and ordinance."""

    outcome = FixedChoiceFilter(
        choices=Decision.Outcome.choices, label=_("Outcome"), empty_label=_("Any outcome")
    )
    agency = RecordFilter(kind=AGENCIES, field_name="request__agency", label=_("Agency"))
    technology = RecordFilter(kind=TECHNOLOGIES, field_name="request__technology", label=_("Technology"))
    category = FixedChoiceFilter(
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


class _AgencyTechnologyFilter(PortalFilterSet):
    """The agency and technology filters the three oversight lists share."""

    agency = RecordFilter(kind=AGENCIES, label=_("Agency"))
    technology = RecordFilter(kind=TECHNOLOGIES, label=_("Technology"))


class EmergencyUseFilter(_AgencyTechnologyFilter):
    """`/emergency-use/`."""

    year = YearFilter(field_name="used_on")

    class Meta:
        model = EmergencyUse
        fields = ["agency", "technology", "year"]


class ViolationFilter(_AgencyTechnologyFilter):
    """`/violations/`."""

    status = FixedChoiceFilter(
        choices=Violation.Status.choices, label=_("Status"), empty_label=_("Any status")
    )
    year = YearFilter(field_name="found_on")

    class Meta:
        model = Violation
        fields = ["agency", "technology", "status", "year"]


class _ReportYearFilter(django_filters.NumberFilter):
    # The year a report covers is a plain number, not a date (so not a `YearFilter`).
    field_class = forms.IntegerField


class AnnualReportFilter(_AgencyTechnologyFilter):
    """`/annual-reports/`."""

    year = _ReportYearFilter(field_name="year", label=_("Year covered"), min_value=1900, max_value=2100)

    class Meta:
        model = AnnualReport
        fields = ["agency", "technology", "year"]
