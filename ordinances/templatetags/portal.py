"""Template helpers for the public pages."""

from __future__ import annotations

import calendar
import datetime
import html
from collections.abc import Callable, Iterable
from typing import Any

import markdown as markdown_lib
import nh3
from django import template
from django.core.exceptions import FieldDoesNotExist
from django.core.signals import setting_changed
from django.db.models import Choices, Model
from django.dispatch import receiver
from django.http import QueryDict
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, localize
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator, get_text_list
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ordinances import deadlines, pagination, progress
from ordinances.board import BoardEntry, StatusCode
from ordinances.models import (
    EVERY_OTHER_CATEGORY,
    STATUS_TONES,
    Agency,
    AnnualReport,
    Category,
    Comment,
    Condition,
    Deadline,
    Decision,
    EmergencyUse,
    Event,
    Ordinance,
    Request,
    Technology,
    Violation,
    choice_label,
    record_urls,
)

register = template.Library()

# Markdown may carry HTML; only these tags survive sanitizing.
ALLOWED_TAGS = {
    "p", "br", "em", "strong", "a", "ul", "ol", "li", "blockquote", "code", "pre",
    "h2", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td", "hr",
}  # fmt: skip


@register.filter
def markdown(text: str) -> SafeString:
    """Render clerk-entered markdown as sanitized HTML."""
    html = markdown_lib.markdown(text or "", extensions=["tables"])
    return mark_safe(nh3.clean(html, tags=ALLOWED_TAGS, link_rel="noopener noreferrer nofollow"))


@register.simple_tag(takes_context=True)
def page_url(context: template.Context, number: int, parameter: str = "", fragment: str = "") -> str:
    """
    The current URL's query string with another page number, filters kept. A page with two
    paginated tables names each one's `parameter` (`page` by default) and the `fragment` of
    the table, so a reader who turns one table's page lands back on it.
    """
    query: QueryDict = context["request"].GET.copy()
    query[parameter or "page"] = str(number)
    return "?" + query.urlencode() + (f"#{fragment}" if fragment else "")


@register.simple_tag(takes_context=True)
def cursor_url(context: template.Context, direction: str = "", cursor: str = "") -> str:
    """
    The current URL's query string for another keyset page (`ordinances.pagination`):
    `direction` "after" or "before" the `cursor`, or neither for the first page. Filters kept.
    """
    query: QueryDict = context["request"].GET.copy()
    for name in ("page", *pagination.CURSOR_PARAMETERS):
        query.pop(name, None)
    if direction in pagination.CURSOR_PARAMETERS and cursor:
        query[direction] = cursor
    return "?" + query.urlencode() if query else context["request"].path


@register.filter
def status_class(status: str) -> str:
    """A CSS modifier for a request status badge (the tones live on the model)."""
    return STATUS_TONES.get(status, "pending")


@register.filter
def status_tag(req: Request) -> SafeString:
    """A request's status as a tag in its tone (partials/status.html, and the lists' rows)."""
    return format_html(
        '<span class="usa-tag status status--{}">{}</span>',
        status_class(req.status),
        req.get_status_display(),
    )


@register.filter
def badges(record: object) -> SafeString:
    """The marks of a record: Demo for a fictional one (partials/badges.html, and the lists' rows)."""
    if not getattr(record, "is_demo", False):
        return mark_safe("")
    return format_html(
        '<span class="usa-tag badge badge--demo" title="{}">{}</span>',
        gettext("A fictional record for demonstration"),
        gettext("Demo"),
    )


# The words for each status code of the status board (`ordinances.board.StatusCode`).
BOARD_STATUS_LABELS = {
    "not_covered": _("Not covered by city ordinances"),
    "prohibited": _("Prohibited"),
    "prohibited_with_exceptions": _("Prohibited"),
    "approved": _("Approved"),
    "approved_with_conditions": _("Approved with conditions"),
    "pending": _("Pending council decision"),
    "not_approved": _("Not approved"),
    "disclosed": _("Disclosed"),
    "disclosure_pending": _("Disclosure pending"),
    "no_rule": _("No rule in force"),
}


@register.filter
def board_status_label(entry: BoardEntry | str) -> str:
    """
    A board row's status in words, without its dates (the template marks those up).

    Takes a `BoardEntry` or a bare code; a row prohibited with exceptions says how many.
    """
    if isinstance(entry, BoardEntry):
        if entry.code == StatusCode.PROHIBITED_WITH_EXCEPTIONS:
            count = entry.active_count
            return ngettext(
                "Prohibited, %(count)d permitted exception",
                "Prohibited, %(count)d permitted exceptions",
                count,
            ) % {"count": count}
        code = str(entry.code)
    else:
        code = str(entry)
    return str(BOARD_STATUS_LABELS.get(code, code))


@register.filter
def board_status_class(code: str) -> str:
    """A CSS modifier for a board status, in the request badges' colours."""
    groups = {
        "approved": "ok",
        "approved_with_conditions": "ok",
        "disclosed": "ok",
        "prohibited": "bad",
        "prohibited_with_exceptions": "bad",
        "not_approved": "bad",
        "not_covered": "muted",
        "no_rule": "muted",
    }
    return groups.get(str(code), "pending")


@register.filter
def month_day(month: int, day: int) -> str:
    """A fixed day of the year in words, e.g. "15 March"."""
    return f"{day} {calendar.month_name[month]}"


@register.filter
def as_date(value: str | datetime.date | None) -> datetime.date | None:
    """A date stored in an Event's data (ISO text) as a date, for the `date` filter."""
    if value is None or isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(value[:10])
    except ValueError:
        return None


@register.filter
def as_datetime(value: str | datetime.datetime | None) -> datetime.datetime | None:
    """A moment stored in an Event's data, in the city's time zone."""
    if value is None:
        return None
    if not isinstance(value, datetime.datetime):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            return None
    return timezone.localtime(value) if timezone.is_aware(value) else value


@register.filter
def when(value: str | datetime.date | datetime.datetime | None, fmt: str = "") -> SafeString:
    """
    A date or moment as `<time>`: machine-readable ISO in `datetime`, the reader's own
    format inside ("12 February 2021", "12 February 2021, 6:00 p.m."). ISO text from an
    Event's data is read as well. `fmt` may name another Django format, e.g. "SHORT_DATE_FORMAT".
    An empty value gives an empty string, so `|default:` works after it.
    """
    if isinstance(value, str):
        value = as_datetime(value) if "T" in value else as_date(value)
    if value is None or value == "":
        return mark_safe("")
    zone: datetime.tzinfo | None = None
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        zone, default = value.tzinfo, "DATETIME_FORMAT"
    else:
        default = "DATE_FORMAT"
    # The ISO text and the time zone (a format may name it) tell apart what the output does.
    machine = value.isoformat()
    key = (machine, zone, fmt, get_language())
    shown = _WHEN_SHOWN.get(key)
    if shown is None:
        if len(_WHEN_SHOWN) >= WHEN_CACHE_SIZE:
            _WHEN_SHOWN.clear()
        shown = _WHEN_SHOWN[key] = format_html(
            '<time datetime="{}">{}</time>', machine, date_format(value, fmt or default)
        )
    return shown


# `when`'s answers by (ISO text, time zone, format, language): a page shows the same
# few dates many times (a timeline, a status board), and formatting one in the reader's
# language cost more than the rest of its row. Bounded; emptied when formats may change.
WHEN_CACHE_SIZE = 4096
_WHEN_SHOWN: dict[tuple[str, datetime.tzinfo | None, str, str | None], SafeString] = {}


@receiver(setting_changed)
def _forget_formatted_dates(**kwargs: Any) -> None:
    _WHEN_SHOWN.clear()


@register.filter
def opinion_label(code: str) -> str:
    from ordinances.workflow import Opinion

    return str(dict(Opinion.choices).get(code, code))


@register.filter
def condition_status_label(code: str) -> str:
    return str(dict(Condition.Status.choices).get(code, code))


@register.filter
def request_field_labels(names: list[str]) -> list[str]:
    return [Request.field_label(name).lower() for name in names or []]


@register.filter
def next_due(row: Deadline) -> datetime.date | None:
    """The next date a recurring deadline falls due, computed by `ordinances.deadlines`."""
    return deadlines.next_due(row)


@register.filter
def request_deadlines(request: Request) -> list[deadlines.Due]:
    """The deadlines running for a request under its ordinance, from `ordinances.deadlines`."""
    return deadlines.for_request(request)


# ---------------------------------------------------------------------------
# The rows of the request and violation tables
# ---------------------------------------------------------------------------

# One row of partials/request_table.html and violation_table.html, written here rather than
# in the template: a list shows a page of rows, and the template engine's dozen lookups,
# filters and includes a row cost more than the rest of the page's rendering.
REQUEST_ROW = (
    "\n    <tr>"
    '\n      <th scope="row" data-label="{reference_label}"><a href="{url}">{reference}</a></th>'
    '\n      <td data-label="{request_label}">{title} {badges}<br><span class="muted">{kind}</span></td>'
    '\n      <td data-label="{agency_label}"><a href="{agency_url}"{agency_lang}>{agency}</a></td>'
    '\n      <td data-label="{technology_label}"><a href="{technology_url}"{technology_lang}>{technology}</a></td>'
    '\n      <td data-label="{status_label}">{status}</td>'
    "\n      "
    '\n      <td data-label="{date_label}">{date}</td>'
    "\n      "
    "\n    </tr>"
    "\n    "
)

VIOLATION_ROW = (
    '\n    <tr id="violation-{pk}">'
    '\n      <th scope="row" data-label="{what_label}"><a class="usa-link" href="{url}"{lang}>{description}</a> {badges}'
    "\n</th>"
    '\n      <td data-label="{agency_label}"><a class="usa-link" href="{agency_url}"{agency_lang}>{agency}</a></td>'
    '\n      <td data-label="{technology_label}"><a class="usa-link" href="{technology_url}"{technology_lang}>{technology}</a></td>'
    '\n      <td data-label="{found_label}">{found}<br><span class="muted">{how_found}</span></td>'
    '\n      <td data-label="{status_label}">{status}'
    "\n</td>"
    "\n    </tr>"
    "\n    "
)

# The tone of each violation status (partials/violation_status.html, for the detail page).
VIOLATION_TONES = {"remedied": "ok", "confirmed": "bad", "unfounded": "muted"}


def _label(translated: str) -> SafeString:
    """
    A label as `{% translate "…" as label %}` gives it: catalogs are trusted, not escaped.
    Callers pass `gettext("…")` with the words written out, so that makemessages finds them.
    """
    return mark_safe(translated)


class _Cells:
    """
    What the rows of one oversight table share, worked out once for the table rather than in
    every row: the reader's language (for `lang`), the agency and technology links' address
    pattern, and each small piece of HTML the rows repeat (a status tag, a date). The rows
    are then put together with `str.format` from values escaped here: `format_html` escaped
    every label and piece again in every row, which cost more than the rest of a row.
    """

    def __init__(self) -> None:
        self._langs: dict[object, str] = {}
        self._pieces: dict[object, str] = {}
        self._agency_url = Agency.PAGE.urls()
        self._technology_url = Technology.PAGE.urls()

    def lang(self, record: object) -> str:
        """`lang_attr(record)`, once per language met."""
        language = getattr(record, "language", "")
        if (shown := self._langs.get(language)) is None:
            shown = self._langs[language] = lang_attr(language)
        return shown

    def piece(self, key: object, make: Callable[..., str], *args: Any) -> str:
        """The HTML `make(*args)` gives, made once for each `key` (a date, a status) in a table."""
        if (shown := self._pieces.get(key)) is None:
            shown = self._pieces[key] = make(*args)
        return shown

    def label(self, choices: type[Choices], value: str) -> str:
        """`choice_label(choices, value)`, escaped, once per value in a table."""
        return self.piece(("label", choices, value), lambda: html.escape(choice_label(choices, value)))

    def agency_url(self, agency: Agency) -> str:
        """The address of an agency's page, from the table's pattern."""
        return self._agency_url(agency)

    def agency_and_technology(self, agency: Agency, technology: Technology) -> dict[str, str]:
        """The agency and technology cells of a row: their links' addresses, `lang` and names, escaped."""
        return {
            "agency_url": html.escape(self._agency_url(agency)),
            "agency_lang": self.lang(agency),
            "agency": html.escape(agency.name),
            "technology_url": html.escape(self._technology_url(technology)),
            "technology_lang": self.lang(technology),
            "technology": html.escape(technology.name),
        }


@register.simple_tag
def request_rows(requests: Iterable[Request], decided: bool = False) -> SafeString:
    """
    The `<tr>` of each request of partials/request_table.html; `decided` shows decision dates.

    Built as the oversight tables' rows are (`_Cells`): what rows share (a status's tag, a
    kind's words, the Demo badge, a language's `lang`, the links' address patterns) is made
    once a table, so that a row costs little more than its own reference, title and date, and
    a list's cost grows as little as it can with its rows.
    """
    labels = {
        "reference_label": _label(gettext("Reference")),
        "request_label": _label(gettext("Request")),
        "agency_label": _label(gettext("Agency")),
        "technology_label": _label(gettext("Technology")),
        "status_label": _label(gettext("Status")),
        "date_label": _label(gettext("Decided")) if decided else _label(gettext("Submitted")),
    }
    cells, url = _Cells(), Request.PAGE.urls()
    rows = []
    for req in requests:
        if decided:
            decision = getattr(req, "decision", None)
            date = when(decision.decided_on if decision is not None else None)
        else:
            date = when(req.submitted_at, "DATE_FORMAT")
        rows.append(
            REQUEST_ROW.format(
                url=html.escape(url(req)),
                reference=html.escape(req.reference),
                # `lang_text` only for a title in another language than the page's.
                title=lang_text(req.title, req) if cells.lang(req) else html.escape(req.title),
                badges=cells.piece(("badges", req.is_demo), badges, req),
                kind=cells.label(Request.Kind, req.kind),
                **cells.agency_and_technology(req.agency, req.technology),
                status=cells.piece(("status_tag", req.status), status_tag, req),
                date=date or "—",
                **labels,
            )
        )
    return mark_safe("".join(rows))


# One row of the agency and technology lists (templates/ordinances/agency_list.html and
# technology_list.html), built here as the request rows are: in the template, a row's
# lookups, filters and translations cost more than the rest of the list's rendering.
AGENCY_ROW = (
    "\n    <tr>"
    '\n      <th scope="row" data-label="{agency_label}"><a href="{url}"{lang}>{name}</a> {badges}</th>'
    '\n      <td data-label="{kind_label}">{kind}</td>'
    '\n      <td data-label="{covered_label}">{covered}</td>'
    '\n      <td data-label="{technologies_label}">{use_count}</td>'
    '\n      <td data-label="{requests_label}">{request_count}</td>'
    "\n    </tr>"
    "\n    "
)

TECHNOLOGY_ROW = (
    "\n    <tr>"
    '\n      <th scope="row" data-label="{technology_label}"><a href="{url}"{lang}>{name}</a> {badges}</th>'
    '\n      <td data-label="{category_label}">{category}</td>'
    '\n      <td data-label="{rule_label}">{rule}</td>'
    '\n      <td data-label="{agencies_label}">{agency_count}</td>'
    "\n    </tr>"
    "\n    "
)


def _escaped_rule_label(technology: Technology) -> str:
    return html.escape(technology.governing_rule_label)


def _number(value: object) -> str:
    """A number as `{{ value }}` shows it: localized, escaped."""
    return conditional_escape(str(localize(value)))


@register.simple_tag
def agency_rows(agencies: Iterable[Agency]) -> SafeString:
    """
    The `<tr>` of each agency of the agency list; each needs the `use_count` and
    `request_count` annotations (`views.agency_list`).
    """
    labels = {
        "agency_label": _label(gettext("Agency")),
        "kind_label": _label(gettext("Kind")),
        "covered_label": _label(gettext("Covered by city ordinances")),
        "technologies_label": _label(gettext("Technologies")),
        "requests_label": _label(gettext("Requests")),
    }
    covered = {True: _label(gettext("Yes")), False: _label(gettext("No"))}
    cells, url = _Cells(), Agency.PAGE.urls()
    rows = []
    for agency in agencies:
        rows.append(
            AGENCY_ROW.format(
                url=html.escape(url(agency)),
                lang=cells.lang(agency),
                name=html.escape(agency.name),
                badges=cells.piece(("badges", agency.is_demo), badges, agency),
                kind=cells.label(Agency.Kind, agency.kind),
                covered=covered[bool(agency.covered)],
                use_count=_number(agency.use_count),  # type: ignore[attr-defined]
                request_count=_number(agency.request_count),  # type: ignore[attr-defined]
                **labels,
            )
        )
    return mark_safe("".join(rows))


@register.simple_tag
def technology_rows(technologies: Iterable[Technology]) -> SafeString:
    """
    The `<tr>` of each technology of the technology list; each needs the `governing_rule`
    and `agency_count` annotations (`views.technology_list`).
    """
    labels = {
        "technology_label": _label(gettext("Technology")),
        "category_label": _label(gettext("Category")),
        "rule_label": _label(gettext("Rule in force")),
        "agencies_label": _label(gettext("Agencies using it")),
    }
    cells, url = _Cells(), Technology.PAGE.urls()
    rows = []
    for technology in technologies:
        rule = technology.governing_rule  # type: ignore[attr-defined]
        rows.append(
            TECHNOLOGY_ROW.format(
                url=html.escape(url(technology)),
                lang=cells.lang(technology),
                name=html.escape(technology.name),
                badges=cells.piece(("badges", technology.is_demo), badges, technology),
                category=cells.label(Category, technology.category),
                rule=cells.piece(("rule", rule), _escaped_rule_label, technology),
                agency_count=_number(technology.agency_count),  # type: ignore[attr-defined]
                **labels,
            )
        )
    return mark_safe("".join(rows))


@register.simple_tag
def violation_rows(violations: Iterable[Violation]) -> SafeString:
    """The `<tr>` of each violation of partials/violation_table.html."""
    labels = {
        "what_label": _label(gettext("What happened")),
        "agency_label": _label(gettext("Agency")),
        "technology_label": _label(gettext("Technology")),
        "found_label": _label(gettext("Found")),
        "status_label": _label(gettext("Status")),
    }
    cells, url = _Cells(), record_urls("ordinances:violation_detail", "1")
    rows = []
    for violation in violations:
        rows.append(
            VIOLATION_ROW.format(
                pk=violation.pk,
                url=html.escape(url(str(violation.pk))),
                lang=cells.lang(violation),
                description=html.escape(Truncator(violation.description).words(24, truncate=" …")),
                badges=badges(violation),
                **cells.agency_and_technology(violation.agency, violation.technology),
                found=cells.piece(violation.found_on, when, violation.found_on),
                how_found=cells.label(Violation.HowFound, violation.how_found),
                status=cells.piece(("status", violation.status), violation_status, violation),
                **labels,
            )
        )
    return mark_safe("".join(rows))


# One row of partials/emergency_use_table.html and annual_report_table.html (see REQUEST_ROW).
EMERGENCY_USE_ROW = (
    '\n    <tr id="emergency-use-{pk}">'
    '\n      <th scope="row" data-label="{agency_label}"><a class="usa-link" href="{agency_url}"{agency_lang}>{agency}</a> {badges}'
    "\n</th>"
    '\n      <td data-label="{technology_label}"><a class="usa-link" href="{technology_url}"{technology_lang}>{technology}</a></td>'
    '\n      <td data-label="{used_label}">{used}{ended}</td>'
    '\n      <td data-label="{due_label}">{due}</td>'
    '\n      <td data-label="{report_label}">{report}'
    "\n</td>"
    "\n      {circumstances}"
    "\n    </tr>"
    "\n    "
)

ANNUAL_REPORT_ROW = (
    '\n    <tr id="annual-report-{pk}">'
    '\n      <th scope="row" data-label="{year_label}"><a class="usa-link" href="{url}">{title}</a> {badges}'
    "\n</th>"
    '\n      <td data-label="{agency_label}"><a class="usa-link" href="{agency_url}"{agency_lang}>{agency}</a></td>'
    '\n      <td data-label="{technology_label}"><a class="usa-link" href="{technology_url}"{technology_lang}>{technology}</a></td>'
    '\n      <td data-label="{due_label}">{due}</td>'
    '\n      <td data-label="{status_label}">{status}'
    "\n</td>"
    "\n    </tr>"
    "\n    "
)

# The tone and words of each `oversight.emergency_report_state` code but "no_deadline".
EMERGENCY_REPORT_STATES = {
    "filed_on_time": ("ok", _("Filed on time")),
    "filed_late": ("pending", _("Filed late")),
    "overdue": ("bad", _("Overdue")),
    "due": ("muted", _("Due")),
}


@register.filter
def emergency_report_state(use: EmergencyUse) -> SafeString:
    """
    Where the report of an emergency use stands, from `use.report_state`
    (`ordinances.oversight.emergency_report_state`), with a link to the report when it is filed.
    """
    state = _emergency_report_tag(getattr(use, "report_state", ""))
    report = use.report
    if report is not None and report.submitted_at:
        title = gettext("Report %(reference)s") % {"reference": conditional_escape(report.reference)}
        state += format_html(EMERGENCY_REPORT_LINK, url=report.get_absolute_url(), title=_label(title))
    return state


# The link of a filed emergency-use report (`emergency_report_state`, `emergency_use_rows`).
EMERGENCY_REPORT_LINK = '<br><a class="usa-link" href="{url}">{title}</a>'


def _emergency_report_tag(state: str) -> SafeString:
    """The tag of an `oversight.emergency_report_state` code, in its tone."""
    tone, words = EMERGENCY_REPORT_STATES.get(state, ("muted", _("Not filed")))
    return format_html('<span class="usa-tag status status--{}">{}</span>', tone, _label(str(words)))


def _until(day: datetime.date) -> SafeString:
    """The end of an emergency use that lasted past its first day."""
    until = gettext("until %(date)s") % {"date": when(day)}
    return format_html('<br><span class="muted">{}</span>', _label(until))


@register.simple_tag
def emergency_use_rows(uses: Iterable[EmergencyUse], circumstances: bool = False) -> SafeString:
    """The `<tr>` of each emergency use of partials/emergency_use_table.html; `circumstances` shows what happened."""
    labels = {
        "agency_label": _label(gettext("Agency")),
        "technology_label": _label(gettext("Technology")),
        "used_label": _label(gettext("Used on")),
        "due_label": _label(gettext("Report due")),
        "report_label": _label(gettext("Report")),
    }
    what_label = _label(gettext("What happened"))
    report_title = gettext("Report %(reference)s")
    cells, report_url = _Cells(), Request.PAGE.urls()
    rows = []
    for use in uses:
        ended = ""
        if use.ended_on and use.ended_on != use.used_on:
            ended = cells.piece(("until", use.ended_on), _until, use.ended_on)
        what = ""
        if circumstances:
            what = (
                f'<td data-label="{what_label}"{cells.lang(use)}>{linebreaksbr(use.circumstances, True)}</td>'
            )
        state = getattr(use, "report_state", "")
        report = cells.piece(("state", state), _emergency_report_tag, state)
        if use.report is not None and use.report.submitted_at:
            report += EMERGENCY_REPORT_LINK.format(
                url=html.escape(report_url(use.report)),
                title=report_title % {"reference": html.escape(use.report.reference)},
            )
        rows.append(
            EMERGENCY_USE_ROW.format(
                pk=use.pk,
                badges=badges(use),
                **cells.agency_and_technology(use.agency, use.technology),
                used=cells.piece(use.used_on, when, use.used_on),
                ended=ended,
                due=cells.piece(use.report_due_on, when, use.report_due_on) or "—",
                report=report,
                circumstances=what,
                **labels,
            )
        )
    return mark_safe("".join(rows))


@register.filter
def annual_report_state(report: AnnualReport) -> SafeString:
    """
    Where a public annual report stands: overdue (never submitted), submitted, returned to the
    agency or accepted; a report first submitted after its due date says it came in late.
    """
    if not report.submitted_at:
        return format_html(
            '<span class="usa-tag status status--bad">{}</span>', _label(gettext("Overdue, not submitted"))
        )
    state = format_html(
        '<span class="usa-tag status status--{}">{}</span>',
        "ok" if report.status == "accepted" else "pending",
        choice_label(AnnualReport.Status, report.status),
    )
    if report.is_overdue:
        state += format_html(' <span class="muted">{}</span>', _label(gettext("submitted late")))
    return state


@register.simple_tag
def annual_report_rows(reports: Iterable[AnnualReport]) -> SafeString:
    """The `<tr>` of each annual report of partials/annual_report_table.html."""
    labels = {
        "year_label": _label(gettext("Year covered")),
        "agency_label": _label(gettext("Agency")),
        "technology_label": _label(gettext("Technology")),
        "due_label": _label(gettext("Due")),
        "status_label": _label(gettext("Status")),
    }
    cells, url = _Cells(), record_urls("ordinances:annual_report_detail", "1")
    rows = []
    for report in reports:
        # The state depends on these alone (`annual_report_state`).
        state = (report.status, report.is_overdue) if report.submitted_at else None
        rows.append(
            ANNUAL_REPORT_ROW.format(
                pk=report.pk,
                url=html.escape(url(str(report.pk))),
                title=cells.piece(("year", report.year), _report_title, report.year),
                badges=badges(report),
                **cells.agency_and_technology(report.agency, report.technology),
                due=cells.piece(report.due_on, when, report.due_on),
                status=cells.piece(("state", state), annual_report_state, report),
                **labels,
            )
        )
    return mark_safe("".join(rows))


def _report_title(year: int) -> str:
    """An annual report's name in a list: the year it covers."""
    return gettext("Report for %(year)s") % {"year": conditional_escape(localize(year))}


@register.filter
def violation_status(violation: Violation) -> SafeString:
    """A violation's status as a tag in its tone."""
    return format_html(
        '<span class="usa-tag status status--{}">{}</span>',
        VIOLATION_TONES.get(violation.status, "pending"),
        choice_label(Violation.Status, violation.status),
    )


# ---------------------------------------------------------------------------
# The residents' pages: the home page, request pages, status boards, ordinance history
# ---------------------------------------------------------------------------


@register.filter
def next_date(request: Request) -> progress.Upcoming | None:
    """The soonest date ahead of a pending request (`ordinances.progress.next_date`), or None."""
    return progress.next_date(request)


# The words for the dates `progress.upcoming` gives that are not a deadline's own name.
UPCOMING_LABELS = {
    "comment_closes": _("Public comment closes"),
    "hearing": _("Public hearing"),
    "advisory_silence": _("The advisory body's opinion is due"),
    "policy_before_use": _("Use may begin, at the earliest,"),
}


@register.filter
def upcoming(item: progress.Upcoming) -> SafeString:
    """One date ahead of a pending request, what it is and when (partials/upcoming.html)."""
    label = UPCOMING_LABELS.get(item.kind)
    words = mark_safe(str(label)) if label is not None else item.label
    return format_html("{}: {}", words, when(item.on))


# One row of partials/status_board.html (see REQUEST_ROW): a board's page shows 25 rows, each
# with a few approvals and pending requests, and the template engine's lookups, filters and
# includes for them cost more than the rest of an agency's or a technology's page.
BOARD_ROW = (
    "\n    <tr>"
    '\n      <th scope="row" data-label="{name_label}">{name} {badges}'
    "\n</th>"
    '\n      <td data-label="{status_label}"><span class="usa-tag status status--{tone}">{status}</span>{until}</td>'
    '\n      <td data-label="{rule_label}">{rule}</td>'
    '\n      <td data-label="{active_label}">{active}</td>'
    '\n      <td data-label="{pending_label}">{pending}</td>'
    '\n      <td data-label="{use_label}">{use}</td>'
    "\n    </tr>"
    "\n    "
)


def _sentence(translated: str, **values: object) -> SafeString:
    """
    A sentence as `{% blocktranslate %}` makes it: the catalog's words trusted, each value
    escaped unless safe, numbers in the reader's format. Callers pass `gettext("…")` or
    `ngettext(…)` with the words written out, so that makemessages finds them.
    """
    return mark_safe(
        translated % {key: conditional_escape(str(localize(value))) for key, value in values.items()}
    )


def _muted(translated: str) -> SafeString:
    return format_html('<span class="muted">{}</span>', _label(translated))


def _board_rule(entry: BoardEntry) -> SafeString:
    """The rule cell of a board row: the rule in force and its ordinance, or that there is none."""
    rule = entry.rule
    if rule is None:
        return _muted(gettext("No rule in force"))
    if rule.category == EVERY_OTHER_CATEGORY:
        said = gettext("%(rule)s, for every kind of technology it does not name, under")
    else:
        said = gettext("%(rule)s under")
    ordinance = rule.ordinance
    return format_html(
        '{} <a class="usa-link" href="{}">{}</a> {}\n',
        _sentence(said, rule=rule.get_rule_display()),
        ordinance.get_absolute_url(),
        ordinance.file_number,
        badges(ordinance),
    )


def _board_more(entry: BoardEntry, count: int, list_url: str) -> SafeString:
    """The last item of a cell that names only the first few: how many more, linked to their list."""
    return format_html(
        '<li><a class="usa-link" href="{}?agency={}&amp;technology={}">{}</a></li>',
        list_url,
        entry.agency.slug,
        entry.technology.slug,
        _sentence(ngettext("and %(counter)s more", "and %(counter)s more", count), counter=count),
    )


def _board_active(entry: BoardEntry, list_url: str) -> SafeString:
    """The approvals in effect of a board row, each with its exception and its end."""
    if not entry.active:
        return _muted(gettext("None"))
    items = []
    for req in entry.active:
        exception = ""
        if req.exception:
            exception = format_html(
                ", {}",
                _sentence(
                    gettext("exception “%(exception)s”"),
                    exception=lang_text(req.exception.title, req.ordinance),
                ),
            )
        expires_on = req.decision.expires_on
        if expires_on:
            end = _sentence(gettext("expires %(date)s"), date=when(expires_on))
        else:
            end = _label(gettext("no end date"))
        items.append(
            format_html(
                '<li><a class="usa-link" href="{}">{}</a>{}: {}</li>',
                req.get_absolute_url(),
                req.reference,
                exception,
                end,
            )
        )
    if entry.more_active:
        items.append(_board_more(entry, entry.more_active, list_url))
    return format_html('<ul class="usa-list usa-list--unstyled">{}</ul>', mark_safe("".join(items)))


def _board_pending(entry: BoardEntry, list_url: str) -> SafeString:
    """The pending requests of a board row, each with its status and the next date ahead of it."""
    if not entry.pending:
        return _muted(gettext("None"))
    items = []
    for req in entry.pending:
        next_one = next_date(req)
        items.append(
            format_html(
                '<li><a class="usa-link" href="{}">{}</a> {}\n{}</li>',
                req.get_absolute_url(),
                req.reference,
                status_tag(req),
                format_html("<br>{}", upcoming(next_one)) if next_one else "",
            )
        )
    if entry.more_pending:
        items.append(_board_more(entry, entry.more_pending, list_url))
    return format_html('<ul class="usa-list usa-list--unstyled">{}</ul>', mark_safe("".join(items)))


def _board_use(entry: BoardEntry) -> SafeString:
    """The inventory cell of a board row: product and since when, how long kept, with whom shared."""
    use = entry.use
    if use is None:
        return _muted(gettext("Not in the inventory"))
    agency = entry.agency
    if use.vendor_product:
        since = ""
        if use.in_use_since:
            since = format_html(
                ", {}", _sentence(gettext("in use since %(date)s"), date=when(use.in_use_since))
            )
        product = format_html("{}{}", lang_text(use.vendor_product, agency), since)
    elif use.in_use_since:
        product = _sentence(gettext("In use since %(date)s"), date=when(use.in_use_since))
    else:
        product = _label(gettext("Recorded in the inventory"))
    kept = ""
    if use.retention:
        kept = format_html(
            "<br>{}", _sentence(gettext("Kept: %(retention)s"), retention=lang_text(use.retention, agency))
        )
    if recipients := use.recipients:
        shared = _sentence(gettext("Shared with %(names)s"), names=lang_text(and_list(recipients), agency))
    else:
        shared = _label(gettext("Sharing: none reported"))
    # The template's line breaks, kept so the page's bytes did not change when rows moved here.
    return format_html("\n        {}\n        {}\n        <br>{}\n      ", product, kept, shared)


@register.simple_tag
def board_rows(entries: Iterable[BoardEntry], by_agency: bool = False) -> SafeString:
    """
    The `<tr>` of each row of partials/status_board.html: named by its agency (`by_agency`, on
    a technology's page) or its technology, its status, rule, approvals, pending requests and
    inventory row.
    """
    labels = {
        "name_label": _label(gettext("Agency")) if by_agency else _label(gettext("Technology")),
        "status_label": _label(gettext("Status")),
        "rule_label": _label(gettext("Rule and ordinance")),
        "active_label": _label(gettext("Approvals and exceptions in effect")),
        "pending_label": _label(gettext("Pending requests")),
        "use_label": _label(gettext("Inventory")),
    }
    list_url = reverse("ordinances:request_list")
    # What rows share is made once a table (`_Cells`): the links' address pattern, each
    # language's `lang`, the Demo badge, each status's words, each rule's cell (rows of one
    # category share it), and the empty cells' words.
    cells, none = _Cells(), _muted(gettext("None"))
    url_of = Agency.PAGE.urls() if by_agency else Technology.PAGE.urls()
    rows = []
    for entry in entries:
        if by_agency:
            agency = entry.agency
            name = format_html(
                '<a class="usa-link" href="{}"{}>{}</a>', url_of(agency), cells.lang(agency), agency.name
            )
        else:
            technology = entry.technology
            name = format_html(
                '<a class="usa-link" href="{}"{}>{}</a>',
                url_of(technology),
                cells.lang(technology),
                technology.name,
            )
            category = technology.get_category_display()
            if category != technology.name:
                name = format_html('{}<br><span class="muted">{}</span>', name, category)
        until = ""
        if entry.until:
            until = format_html(" {}", _sentence(gettext("until %(date)s"), date=when(entry.until)))
        rule = entry.rule.pk if entry.rule is not None else None
        rows.append(
            format_html(
                BOARD_ROW,
                name=name,
                badges=cells.piece(("badges", entry.is_demo), badges, entry),
                tone=board_status_class(entry.code),
                status=cells.piece(("status", entry.code, entry.active_count), board_status_label, entry),
                until=until,
                rule=cells.piece(("rule", rule), _board_rule, entry),
                active=_board_active(entry, list_url) if entry.active else none,
                pending=_board_pending(entry, list_url) if entry.pending else none,
                use=_board_use(entry),
                **labels,
            )
        )
    return mark_safe("".join(rows))


# One row of each table of the home page (see REQUEST_ROW).
AWAITING_ROW = (
    "\n      <tr>"
    '\n        <th scope="row" data-label="{request_label}"><a class="usa-link" href="{url}"{lang}>{title}</a> {badges}<br><span class="muted">{reference} · {kind}</span></th>'
    '\n        <td data-label="{agency_label}"><a class="usa-link" href="{agency_url}"{agency_lang}>{agency}</a></td>'
    '\n        <td data-label="{technology_label}"><a class="usa-link" href="{technology_url}"{technology_lang}>{technology}</a></td>'
    '\n        <td data-label="{status_label}">{status}</td>'
    '\n        <td data-label="{next_label}">{next}</td>'
    "\n      </tr>"
    "\n      "
)

DECIDED_ROW = (
    "\n      <tr>"
    '\n        <th scope="row" data-label="{request_label}"><a class="usa-link" href="{url}"{lang}>{title}</a> {badges}<br><span class="muted">{reference} · {technology}</span></th>'
    '\n        <td data-label="{agency_label}"><a class="usa-link" href="{agency_url}"{agency_lang}>{agency}</a></td>'
    '\n        <td data-label="{outcome_label}"><span class="usa-tag status status--{tone}">{outcome}</span>{now}{vote}</td>'
    '\n        <td data-label="{date_label}">{date}</td>'
    "\n      </tr>"
    "\n      "
)


@register.simple_tag
def awaiting_rows(requests: Iterable[Request]) -> SafeString:
    """The `<tr>` of each request of the home page's "Awaiting a decision", with its next date."""
    labels = {
        "request_label": _label(gettext("Request")),
        "agency_label": _label(gettext("Agency")),
        "technology_label": _label(gettext("Technology")),
        "status_label": _label(gettext("Where it stands")),
        "next_label": _label(gettext("Next date")),
    }
    no_date = format_html('<span class="muted">{}</span>', _label(gettext("No date set yet")))
    # Built as `request_rows` builds its rows (`_Cells`): what rows share is made once.
    cells, url, now = _Cells(), Request.PAGE.urls(), timezone.now()
    rows = []
    for req in requests:
        next_one = progress.next_date(req, now)
        rows.append(
            AWAITING_ROW.format(
                url=html.escape(url(req)),
                lang=cells.lang(req),
                title=html.escape(req.title),
                badges=cells.piece(("badges", req.is_demo), badges, req),
                reference=html.escape(req.reference),
                kind=cells.label(Request.Kind, req.kind),
                **cells.agency_and_technology(req.agency, req.technology),
                status=cells.piece(("status_tag", req.status), status_tag, req),
                next=upcoming(next_one) if next_one else no_date,
                **labels,
            )
        )
    return mark_safe("".join(rows))


@register.simple_tag
def decided_rows(requests: Iterable[Request]) -> SafeString:
    """The `<tr>` of each request of the home page's "Decided recently": outcome, vote, date."""
    labels = {
        "request_label": _label(gettext("Request")),
        "agency_label": _label(gettext("Agency")),
        "outcome_label": _label(gettext("Outcome")),
        "date_label": _label(gettext("Decided on")),
    }
    cells, url = _Cells(), Request.PAGE.urls()
    rows = []
    for req in requests:
        agency, technology, decision = req.agency, req.technology, req.decision
        now = ""
        if req.status != decision.outcome:
            status = conditional_escape(req.get_status_display().lower())
            now = format_html(
                ' <span class="muted">({})</span>', mark_safe(gettext("now %(status)s") % {"status": status})
            )
        vote = ""
        if decision.has_vote:
            numbers = {"yes": localize(decision.votes_yes), "no": localize(decision.votes_no)}
            said = gettext("%(yes)s–%(no)s vote") % {
                key: conditional_escape(str(value)) for key, value in numbers.items()
            }
            vote = format_html('<br><span class="muted">{}</span>', mark_safe(said))
        rows.append(
            DECIDED_ROW.format(
                url=html.escape(url(req)),
                lang=cells.lang(req),
                title=html.escape(req.title),
                badges=cells.piece(("badges", req.is_demo), badges, req),
                reference=html.escape(req.reference),
                technology=lang_text(technology.name, technology),
                agency_url=html.escape(cells.agency_url(agency)),
                agency_lang=cells.lang(agency),
                agency=html.escape(agency.name),
                tone=status_class(decision.outcome),
                outcome=cells.label(Decision.Outcome, decision.outcome),
                now=now,
                vote=vote,
                date=when(decision.decided_on),
                **labels,
            )
        )
    return mark_safe("".join(rows))


# One item of the home page's lists of comment periods open and hearings ahead (see REQUEST_ROW).
COMMENT_ITEM = '\n    <li><a class="usa-link" href="{url}"{lang}>{title}</a>: {until} {badges}</li>\n    '
HEARING_ITEM = (
    '\n    <li><a class="usa-link" href="{url}"{lang}>{title}</a>: {when}{place}\n {badges}</li>\n    '
)


@register.simple_tag
def comment_items(requests: Iterable[Request]) -> SafeString:
    """The `<li>` of each request of the home page's open comment periods, with the day each closes."""
    items, url = [], Request.PAGE.urls()
    for req in requests:
        until = gettext("open until %(date)s") % {"date": when(req.comment_period_ends_on)}
        items.append(
            format_html(
                COMMENT_ITEM,
                url=url(req),
                lang=lang_attr(req),
                title=req.title,
                until=_label(until),
                badges=badges(req),
            )
        )
    return mark_safe("".join(items))


def hearing_place_inline(req: Request) -> SafeString:
    """
    Where a request's public hearing is held, as one short phrase for a list (the home
    page): ", room, address", with " (also online)" or ", online". The request page shows
    the full place (partials/hearing_place.html).
    """
    place = mark_safe("")
    if req.hearing_address:
        where = f"{req.hearing_room}, {req.hearing_address}" if req.hearing_room else req.hearing_address
        place = format_html(", <span{}>{}</span>", lang_attr(req), where)
    if req.hearing_remote_url:
        if req.hearing_address:
            place += format_html(" {}", _label(gettext("(also online)")))
        else:
            place += format_html(", {}", _label(gettext("online")))
    return place


@register.simple_tag
def hearing_items(requests: Iterable[Request]) -> SafeString:
    """The `<li>` of each request of the home page's hearings ahead: when and where."""
    items, url = [], Request.PAGE.urls()
    for req in requests:
        items.append(
            format_html(
                HEARING_ITEM,
                url=url(req),
                lang=lang_attr(req),
                title=req.title,
                when=when(req.hearing_at),
                place=hearing_place_inline(req),
                badges=badges(req),
            )
        )
    return mark_safe("".join(items))


@register.filter
def and_list(items: Iterable[object]) -> str:
    """Words joined as a reader lists them: "a", "a and b", "a, b and c"."""
    return get_text_list([str(item) for item in items], gettext("and"))


def _history_value(model: type[Model] | None, name: str, value: object) -> str:
    """One stored value of the change history in words: a choice by its label, yes or no, a dash for nothing."""
    if value is None or value == "":
        return "—"
    if value is True or value is False:
        return gettext("yes") if value else gettext("no")
    if isinstance(value, dict):
        # In the model's field order: PostgreSQL's jsonb keeps an object's keys in an order of its own.
        order = [field.name for field in model._meta.get_fields()] if model is not None else []
        keys = sorted(value, key=lambda key: (order.index(key) if key in order else len(order), key))
        return "; ".join(
            f"{_history_field(model, key)}: {_history_value(model, key, value[key])}"
            for key in keys
            if value[key] not in ("", None)
        )
    if model is not None:
        try:
            choices = dict(getattr(model._meta.get_field(name), "flatchoices", ()))
        except FieldDoesNotExist:
            choices = {}
        if value in choices:
            return str(choices[value])
    return str(value)


def _history_field(model: type[Model] | None, name: str) -> str:
    if model is None:
        return name.replace("_", " ")
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return name.replace("_", " ")
    return str(getattr(field, "verbose_name", name))


# The part of the law an entry of the change history is about (`change_entry`).
CHANGE_SECTION_WORDS = {
    "ordinance": _("The ordinance"),
    "sources": _("Source"),
    "rules": _("Rule"),
    "exceptions": _("Exception"),
    "steps": _("Step"),
    "deadlines": _("Deadline"),
}

CHANGE_ITEM = "\n        <li>{section}{item}{field}: {change}</li>\n        "


@register.simple_tag
def change_items(changes: Iterable[dict[str, Any]]) -> SafeString:
    """
    The `<li>` of each entry of one change of an ordinance's history (`change_entry`): what
    it is about, and what was added, removed, or changed from what to what.
    """
    items = []
    for raw in changes:
        entry = change_entry(raw)
        if raw.get("old") is None:
            said = gettext("added (%(value)s)") % {"value": conditional_escape(entry["new"])}
        elif raw.get("new") is None:
            said = gettext("removed (was %(value)s)") % {"value": conditional_escape(entry["old"])}
        else:
            said = gettext("%(old)s → %(new)s") % {
                "old": conditional_escape(entry["old"]),
                "new": conditional_escape(entry["new"]),
            }
        items.append(
            format_html(
                CHANGE_ITEM,
                section=entry["section"],
                item=format_html(" “{}”", entry["item"]) if entry["item"] else "",
                field=format_html(", {}", entry["field"]) if entry["field"] else "",
                change=_label(said),
            )
        )
    return mark_safe("".join(items))


@register.filter
def change_entry(change: dict[str, Any]) -> dict[str, str]:
    """
    One entry of an ordinance's change history ({"path", "old", "new"} from
    `ordinances.process.diff`) in words: what it is about (the part of the law, the item,
    the field) and its values before and after, codes shown by their labels.
    """
    from ordinances.process import SECTIONS

    section_name, _dot, rest = str(change.get("path", "")).partition(".")
    sections = {section.name: section for section in SECTIONS}
    model: type[Model] | None
    if section_name == "ordinance":
        # "votes.yes" is stored on the ordinance as `votes_yes`.
        model, item, field = Ordinance, "", rest.replace(".", "_")
    elif section_name in sections:
        section = sections[section_name]
        model = section.model
        key, _dot, last = rest.rpartition(".")
        item, field = (key, last) if key and last in section.fields else (rest, "")
        item = _history_value(model, section.key, item)
    else:
        model, item, field = None, rest, ""
    words = CHANGE_SECTION_WORDS.get(section_name)
    return {
        "section": str(words) if words is not None else section_name,
        "item": item,
        "field": _history_field(model, field) if field else "",
        "old": _history_value(model, field, change.get("old")),
        "new": _history_value(model, field, change.get("new")),
    }


# The names of the segments of a review path that are not an ordinance's own steps
# (`ordinances.progress`); the ordinance's steps are named by their kind.
SEGMENT_LABELS = {
    progress.SUBMISSION: _("Submitted"),
    progress.REVIEW: _("Staff review"),
    progress.REPORT_DECISION: _("Staff decision"),
    progress.DECISION: _("Decision"),
    "vote": _("Vote"),
    "publication": _("Policy published"),
}


@register.filter
def segment_label(segment: progress.Segment | progress.PathStep) -> str:
    """The short name of one segment of a review path, for step indicators and lists."""
    if segment.kind in SEGMENT_LABELS:
        return str(SEGMENT_LABELS[segment.kind])
    if segment.step is not None:
        return str(segment.step.get_kind_display())
    return segment.kind


@register.filter
def segment_labels(segments: Iterable[progress.Segment | progress.PathStep]) -> list[str]:
    return [segment_label(segment) for segment in segments]


# The moment a deadline counts from, as its sentence names it (`Deadline.Anchor`).
DEADLINE_ANCHORS = {
    "submission": _("the request is submitted"),
    "advisory_referral": _("the request is referred to the advisory body"),
    "comment_opening": _("the comment period opens"),
    "hearing_notice": _("the hearing is announced"),
    "decision": _("the decision"),
    "approval_effective": _("the approval takes effect"),
    "emergency_use": _("the emergency use"),
    "quarter_end": _("each quarter ends"),
}

# The sentence of each kind of deadline counted from a moment (`Deadline.Kind`), the
# advisory body's when it counts from the referral apart; other kinds say their label.
DEADLINE_SENTENCES = {
    "advisory_silence": _("The advisory body has %(duration)s to give its opinion after %(anchor)s."),
    "comment_period": _("The public has at least %(duration)s to comment after %(anchor)s."),
    "hearing_notice": _("The hearing takes place at least %(duration)s after %(anchor)s."),
    "policy_before_use": _("Use may begin no sooner than %(duration)s after %(anchor)s."),
    "emergency_report": _("An agency reports an emergency use within %(duration)s after %(anchor)s."),
    "approval_term": _("An approval lasts at most %(duration)s after %(anchor)s."),
    "annual_report": _("The annual surveillance report is due %(duration)s after %(anchor)s."),
    "quarterly_report": _("A quarterly report is due %(duration)s after %(anchor)s."),
}


def _deadline_duration(amount: int, unit: str) -> SafeString:
    """An amount of days or months in words ("30 days", "1 month")."""
    n = conditional_escape(localize(amount))
    if unit == "months":
        return _label(ngettext("%(n)s month", "%(n)s months", amount) % {"n": n})
    return _label(ngettext("%(n)s day", "%(n)s days", amount) % {"n": n})


@register.simple_tag
def deadline_sentence(row: Deadline, body: str = "", demo: bool = False) -> SafeString:
    """
    One deadline row of an ordinance in plain words, from its amount, unit and the moment it
    counts from: "The public has at least 30 days to comment after the comment period opens."
    `body` is the advisory body's name, if any (marked up); `demo`: the ordinance is a demo
    record, so no Unverified mark. The process and next-step partials list a few a page.
    """
    duration = "" if row.amount is None else _deadline_duration(row.amount, row.unit)
    anchor = DEADLINE_ANCHORS.get(row.counted_from, "")
    words: dict[str, object] = {"duration": duration, "anchor": _label(str(anchor))}
    if row.counted_from == "fixed_day":
        # A fixed day names its month and day (`Deadline.clean`).
        assert row.month is not None and row.day is not None
        words = {"day": conditional_escape(month_day(row.month, row.day))}
        if row.kind == "annual_report":
            text = gettext("The annual surveillance report is due on %(day)s each year.") % words
        else:
            words["label"] = conditional_escape(row.get_kind_display())
            text = gettext("%(label)s: due on %(day)s each year.") % words
    elif row.kind == "advisory_silence" and row.counted_from == "advisory_referral":
        if body:
            words["body"] = conditional_escape(body)
            text = (
                gettext("The %(body)s has %(duration)s to give its opinion on a request referred to it.")
                % words
            )
        else:
            text = (
                gettext("The advisory body has %(duration)s to give its opinion on a request referred to it.")
                % words
            )
    elif row.kind in DEADLINE_SENTENCES:
        text = str(DEADLINE_SENTENCES[row.kind]) % words
    else:
        words["label"] = conditional_escape(row.get_kind_display())
        text = gettext("%(label)s: %(duration)s after %(anchor)s.") % words
    parts = [text]
    if row.extension_amount:
        extension = _deadline_duration(row.extension_amount, row.unit)
        parts.append(" " + gettext("It may be extended by %(extension)s.") % {"extension": extension})
    if due := when(next_due(row)):
        parts.append(" " + gettext("(next: %(due)s)") % {"due": due})
    if not demo and not row.verified:
        parts.append(
            format_html(
                ' <span class="usa-tag badge badge--unverified">{}</span>', _label(gettext("Unverified"))
            )
        )
    if row.note:
        parts.append(format_html(' <span class="muted"{}>{}</span>', lang_attr(row.ordinance), row.note))
    return format_html('<span class="deadline-sentence">{}</span>', _label("".join(parts)))


def _process_segment(segment: progress.PathStep, ordinance: Ordinance, demo: bool) -> SafeString:
    """One `<li>` of the list of segments of `process_path` (see `process_segments`)."""
    step = segment.step
    unverified = ""
    if step is not None and not demo and not step.verified:
        unverified = format_html(
            ' <span class="usa-tag badge badge--unverified">{}</span>', _label(gettext("Unverified"))
        )
    taken = ""
    if step is not None and step.kind == "vote":
        said = gettext("The %(body)s decides. It has %(seats)s seats; an approval needs %(majority)s.") % {
            "body": lang_text(step.body, ordinance),
            "seats": conditional_escape(str(localize(step.seats))),
            "majority": conditional_escape(step.get_majority_display().lower()),
        }
        taken = format_html("<p>{}</p>\n    ", _label(said))
    elif step is not None and step.body:
        said = gettext("Taken by the %(body)s.") % {"body": lang_text(step.body, ordinance)}
        taken = format_html("<p>{}</p>", _label(said))
    body = lang_text(step.body if step is not None else "", ordinance)
    sentences = ""
    if segment.deadlines:
        items = "".join(f"<li>{deadline_sentence(row, body, demo)}\n</li>" for row in segment.deadlines)
        sentences = format_html('\n    <ul class="usa-list">\n      {}\n    </ul>\n    ', _label(items))
    note = ""
    if step is not None and step.note:
        note = format_html('<p class="muted"{}>{}</p>', lang_attr(ordinance), step.note)
    return format_html(
        '\n  <li class="usa-process-list__item">'
        '\n    <p class="usa-process-list__heading">{}{}</p>'
        "\n    \n    {}\n    "
        "\n    {}"
        "\n    {}"
        "\n    {}"
        "\n  </li>"
        "\n  ",
        segment_label(segment),
        unverified,
        taken,
        format_html_join("", "<p>{}</p>", ((row.description,) for row in segment.rows)),
        sentences,
        note,
    )


@register.simple_tag
def process_segments(path: progress.Path) -> SafeString:
    """
    The `<li>` of each segment of an ordinance's review path (`process_path`): who
    takes it, what happens and the deadlines that count from it. How it works shows every
    ordinance's path, a few segments each, and the template engine's lookups cost more
    than the rest of the page.
    """
    ordinance = path.ordinance
    return mark_safe(
        "".join(_process_segment(segment, ordinance, ordinance.is_demo) for segment in path.steps)
    )


@register.simple_tag
def status_meanings(statuses: Iterable[tuple[str, Iterable[progress.Transition]]]) -> SafeString:
    """
    The `<dt>` and `<dd>` of each status of How it works: its badge, then the descriptions
    of the rows of the transition table that lead into it (`progress.ways_into`), as one
    paragraph. Built here rather than by a template loop, for the same reason as `process_path`.
    """
    return mark_safe(
        "".join(
            f'\n    <dt id="status-{conditional_escape(Request.Status(status).value)}"><span class="usa-tag status '
            f'status--{conditional_escape(status_class(status))}">{conditional_escape(Request.Status(status).label)}</span></dt>'
            f"\n    <dd>{' '.join(conditional_escape(row.description) for row in rows)}</dd>\n    "
            for status, rows in statuses
        )
    )


def _description_items(rows: Iterable[progress.Transition]) -> str:
    """The `<li>` of each row's description, for the lists of `process_path`."""
    return "".join(f"<li>{conditional_escape(row.description)}</li>" for row in rows)


@register.simple_tag
def process_path(path: progress.Path) -> SafeString:
    """
    An ordinance's review path in words (`progress.Path`, the ordinance with `steps` and
    `deadlines` prefetched): a step indicator of its segments, then each segment
    (`process_segments`), the deadlines no segment begins and what may happen at any
    time. Built here rather than by an included template: How it works shows every
    ordinance's path, and the template engine's lookups cost more than the words.
    """
    ordinance = path.ordinance
    demo = ordinance.is_demo
    labels = "".join(
        '\n    <li class="usa-step-indicator__segment"><span class="usa-step-indicator__segment-label">'
        f"{conditional_escape(segment_label(segment))}</span></li>\n    "
        for segment in path.steps
    )
    parts = [
        '\n<div class="usa-step-indicator usa-step-indicator--counters">'
        f'\n  <ol class="usa-step-indicator__segments">\n    {labels}\n  </ol>\n</div>'
        f'\n<ol class="usa-process-list process-path">\n  {process_segments(path)}\n</ol>\n'
    ]
    if path.other_deadlines:
        sentences = "".join(f"<li>{deadline_sentence(row, demo=demo)}\n</li>" for row in path.other_deadlines)
        heading = _label(gettext("Other deadlines"))
        parts.append(f'\n<p><strong>{heading}</strong></p>\n<ul class="usa-list">\n  {sentences}\n</ul>\n')
    parts.append("\n")
    if not ordinance.deadlines.all():
        if demo:
            none_set = _label(gettext("This record sets no deadlines. Council staff set each date by hand."))
        else:
            none_set = _label(
                gettext(
                    "This record sets no deadlines: none could be verified against the ordinance's text. Council staff set each date by hand."
                )
            )
        parts.append(f"\n<p>{none_set}</p>\n")
    parts.append(
        f"\n<p><strong>{_label(gettext('Reports of emergency use'))}</strong></p>"
        f'\n<ul class="usa-list">{_description_items(path.reporting.rows)}</ul>\n'
    )
    if path.aside:
        parts.append(
            f"\n<p><strong>{_label(gettext('At other times'))}</strong></p>"
            f'\n<ul class="usa-list">{_description_items(path.aside)}</ul>\n'
        )
    parts.append("\n\n")
    return mark_safe("".join(parts))


# ---------------------------------------------------------------------------
# The language of records staff typed (WCAG 3.1.2): see `ordinances.languages`
# ---------------------------------------------------------------------------


@register.filter
def lang_attr(record: object) -> SafeString:
    """
    ` lang="xx"` when the record's text is not in the page's language, else nothing: put it
    on the element that holds only the record's text, e.g. `<h1{{ req|lang_attr }}>`.
    """
    from ordinances.languages import lang_attribute

    return lang_attribute(record)


@register.filter
def lang_text(text: object, record: object) -> SafeString:
    """
    The text in a `<span lang="xx">` when the record's language is not the page's, else as
    it is: for record text sharing an element with interface words, e.g.
    `{{ req.title|lang_text:req }}` beside a badge, or a name inside a translated sentence.
    """
    from ordinances.languages import in_language

    return in_language(text, record)


# ---------------------------------------------------------------------------
# The public timeline of a request, and the facts each event produced
# ---------------------------------------------------------------------------

# One entry of partials/timeline.html (see REQUEST_ROW): a request's page shows every public
# event, and the template engine's branching over each event's facts cost more than the rest
# of the page. The facts are worded by `event_facts`, also used by the feed and the admin.
TIMELINE_ITEM = (
    '\n  <li class="usa-process-list__item timeline__item" id="event-{pk}">'
    '\n    <p class="usa-process-list__heading timeline__what">{what}</p>'
    '\n    <p class="timeline__when">{when} · <span class="muted">{by}</span></p>'
    "\n    {facts}\n"
    "\n    {note}"
    "\n  </li>"
    "\n  "
)


def _fact(data: object, key: str) -> Any:
    """`data.key` as a template looks it up: the value in a mapping, "" when there is none."""
    return data.get(key, "") if isinstance(data, dict) else ""


def _votes(data: dict[str, Any], law: object) -> SafeString:
    """The vote of a decision: the body, the count (abstaining, absent), the seats and the date."""
    votes = data["votes"]
    abstain, absent = _fact(votes, "abstain"), _fact(votes, "absent")
    values = {
        "body": lang_text(_fact(data, "body"), law),
        "yes": _fact(votes, "yes"),
        "no": _fact(votes, "no"),
        "date": when(_fact(data, "decided_on")),
        "abstaining": _sentence(ngettext(", %(n)s abstaining", ", %(n)s abstaining", abstain), n=abstain)
        if abstain
        else "",
        "absent": _sentence(ngettext(", %(n)s absent", ", %(n)s absent", absent), n=absent) if absent else "",
    }
    seats = data.get("seats")
    if seats:
        return _sentence(
            gettext("%(body)s voted %(yes)s–%(no)s%(abstaining)s%(absent)s (%(seats)s seats) on %(date)s."),
            seats=seats,
            **values,
        )
    return _sentence(gettext("%(body)s voted %(yes)s–%(no)s%(abstaining)s%(absent)s on %(date)s."), **values)


def _hearing_facts(data: dict[str, Any], record: object) -> str:
    """The `<li>`s of a scheduled hearing: when and since when announced, where, the links."""
    moment = _sentence(
        gettext("Public hearing on %(moment)s, announced %(noticed)s."),
        moment=when(_fact(data, "hearing_at")),
        noticed=when(_fact(data, "noticed_on")),
    )
    address = room = remote = agenda = ""
    if data.get("address"):
        where = lang_text(data["address"], record)
        if data.get("room"):
            room = _sentence(
                gettext("At %(room)s, %(address)s."), room=lang_text(data["room"], record), address=where
            )
        else:
            room = _sentence(gettext("At %(address)s."), address=where)
        address = format_html("<li>{}</li>", room)
    if data.get("remote_url"):
        remote = format_html(
            '<li><a class="usa-link" href="{}" rel="noopener noreferrer">{}</a></li>',
            data["remote_url"],
            _label(gettext("Join remotely")),
        )
    if data.get("agenda_url"):
        agenda = format_html(
            '<li><a class="usa-link" href="{}" rel="noopener noreferrer">{}</a></li>',
            data["agenda_url"],
            _label(gettext("Agenda")),
        )
    return f"<li>{moment}</li>\n{address}\n{remote}\n{agenda}"


def _effective_fact(data: dict[str, Any], action: str) -> SafeString:
    """When a decision's term begins (and ends), or when a published policy allows use."""
    start, end = when(data["effective_on"]), when(_fact(data, "expires_on"))
    if action == "publish_policy":
        return _sentence(gettext("Use may begin on %(start)s."), start=start)
    if data.get("expires_on") and action != "expire":
        return _sentence(gettext("In effect from %(start)s until %(end)s."), start=start, end=end)
    return _sentence(gettext("In effect from %(start)s."), start=start)


def _condition_fact(condition: object, record: object) -> SafeString:
    """One condition of a decision, with its due date when it has one."""
    text = lang_text(_fact(condition, "text"), record)
    if _fact(condition, "due_on"):
        return _sentence(
            gettext("Condition: %(text)s (due %(date)s)"), text=text, date=when(_fact(condition, "due_on"))
        )
    return _sentence(gettext("Condition: %(text)s"), text=text)


def _document_fact(data: dict[str, Any], record: object) -> SafeString:
    """The title of a document added, replaced or removed, and the one it replaced."""
    title = lang_text(data["title"], record)
    if data.get("replaces"):
        old = lang_text(_fact(data["replaces"], "title"), record)
        return _sentence(gettext("%(title)s (replacing %(old)s)"), title=title, old=old)
    return title


def event_facts(data: object, action: str, req: Request | None = None) -> SafeString:
    """
    The facts one Event produced (its `data`: dates, votes, terms, conditions), in words: a
    `<ul class="timeline__facts">` of them, or "" when none is worded. Free text in the facts
    is in the language of `req` (the request), the names of bodies in its ordinance's.
    The line breaks between the items are those the template that wrote them had.
    """
    if not data or not isinstance(data, dict):
        return mark_safe("")
    record = req

    def law() -> object:
        return req.ordinance if req is not None else None

    lines: list[str] = []
    add = lines.append
    item = "<li>{}</li>".format
    add(
        item(_label(gettext("Resubmitted with the information requested.")))
        if data.get("resubmission")
        else ""
    )
    add(
        item(_sentence(gettext("Report of emergency use due %(date)s."), date=when(data["report_due_on"])))
        if data.get("report_due_on")
        else ""
    )
    fact: object = ""
    if action == "refer_to_advisory":
        body = lang_text(_fact(data, "body"), law())
        if data.get("respond_by"):
            fact = _sentence(
                gettext("Referred to %(body)s, which has until %(date)s to respond."),
                body=body,
                date=when(data["respond_by"]),
            )
        else:
            fact = _sentence(gettext("Referred to %(body)s."), body=body)
    add(item(fact) if action == "refer_to_advisory" else "")
    add(
        item(
            _sentence(
                gettext("%(body)s: %(opinion)s."),
                body=lang_text(_fact(data, "body"), law()),
                opinion=opinion_label(_fact(data, "opinion")).lower(),
            )
        )
        if action == "record_advisory_opinion"
        else ""
    )
    add(
        item(
            _sentence(
                gettext("%(body)s did not respond by %(date)s."),
                body=lang_text(_fact(data, "body"), law()),
                date=when(_fact(data, "respond_by")),
            )
        )
        if action == "proceed_after_silence"
        else ""
    )
    add(
        item(
            _sentence(
                gettext("Held on %(date)s at %(place)s."),
                date=when(_fact(data, "held_on")),
                place=lang_text(_fact(data, "place"), record),
            )
        )
        if action == "record_community_meeting"
        else ""
    )
    add(
        item(
            _sentence(
                gettext("Public comment open from %(opened)s until %(ends)s."),
                opened=when(_fact(data, "opened_on")),
                ends=when(_fact(data, "ends_on")),
            )
        )
        if action == "open_comment_period"
        else ""
    )
    add(_hearing_facts(data, record) if action == "schedule_hearing" else "")
    add(
        item(_sentence(gettext("Its last day was %(date)s."), date=when(data["ends_on"])))
        if action == "close_comment_period" and data.get("ends_on")
        else ""
    )
    if data.get("votes"):
        add(item(_votes(data, law())) + "\n")
    elif data.get("decided_on"):
        decided = when(data["decided_on"])
        if action == "publish_policy":
            add(item(_sentence(gettext("Final policy published on %(date)s."), date=decided)))
        else:
            add(item(_sentence(gettext("Decided on %(date)s."), date=decided)))
    else:
        add("")
    add(item(_effective_fact(data, action)) if data.get("effective_on") else "")
    add(
        item(_sentence(gettext("The term ended on %(date)s."), date=when(_fact(data, "expires_on"))))
        if action == "expire"
        else ""
    )
    add("".join(item(_condition_fact(condition, record)) for condition in data.get("conditions") or ()))
    add(
        item(
            _sentence(
                gettext("Condition “%(text)s” marked %(status)s."),
                text=lang_text(_fact(data, "text"), record),
                status=condition_status_label(_fact(data, "new")).lower(),
            )
        )
        if action == "condition"
        else ""
    )
    add(
        item(
            _sentence(
                gettext("Changed: %(fields)s."), fields=", ".join(request_field_labels(_fact(data, "fields")))
            )
        )
        if action == "edit"
        else ""
    )
    add(item(_document_fact(data, record)) if data.get("title") and action[:9] == "document_" else "")
    facts = "".join(line + "\n" for line in lines)
    if not facts.strip():
        return mark_safe("")
    return mark_safe(f'<ul class="usa-list timeline__facts">\n{facts}</ul>')


@register.simple_tag
def event_facts_list(event: Event, req: Request | None = None) -> SafeString:
    """`event_facts` of an Event in a template (the review workspace's timeline)."""
    return event_facts(event.data, event.action, req)


@register.simple_tag
def timeline_items(events: Iterable[Event], req: Request) -> SafeString:
    """The `<li>` of each public Event of partials/timeline.html, with its facts and note."""
    note_lang = lang_attr(req)
    # A timeline repeats a few actions and actors many times (each published comment adds
    # one): their words are made once a page, not translated again for every event.
    whats: dict[tuple[str, str, str], str] = {}
    bys: dict[tuple[str, str], str] = {}
    items = []
    for event in events:
        what_key = (event.action, event.from_status, event.to_status)
        what = whats.get(what_key)
        if what is None:
            what = event.get_action_display()
            if event.changes_status and event.from_status:
                what = format_html(
                    '{} <span class="muted">({} → {})</span>',
                    what,
                    event.get_from_status_display().lower(),
                    event.get_to_status_display().lower(),
                )
            whats[what_key] = what
        by_key = (event.actor_name, event.actor_role)
        by = bys.get(by_key)
        if by is None:
            role = event.actor_role_label
            if event.actor_name:
                by = _sentence(gettext("by %(name)s, %(role)s"), name=event.actor_name, role=role)
            else:
                by = _sentence(gettext("by %(role)s"), role=role)
            bys[by_key] = by
        note = (
            format_html(
                '<p class="timeline__note"{}>{}</p>', note_lang, linebreaksbr(event.note, autoescape=True)
            )
            if event.note
            else ""
        )
        items.append(
            format_html(
                TIMELINE_ITEM,
                pk=localize(event.pk),
                what=what,
                when=when(event.created_at),
                by=by,
                facts=event_facts(event.data, event.action, req),
                note=note,
            )
        )
    return mark_safe("".join(items))


# One published comment of a request page (see TIMELINE_ITEM).
COMMENT_LIST_ITEM = (
    '\n    <li class="comment border-top-1px border-base-lighter padding-y-2" id="comment-{pk}">'
    '\n      <p class="comment__meta margin-top-0"><strong>{name}</strong>{position} · {when}</p>'
    '\n      <p class="comment__body"{lang}>{body}</p>'
    "\n    </li>"
    "\n    "
)


@register.simple_tag
def public_comments(comments: Iterable[Comment]) -> SafeString:
    """
    The `<li>` of each published comment of a request page: in Python like the timeline, since
    a template loop over a request's comments cost more than the rest of the page.
    """
    anonymous = _label(gettext("Anonymous"))
    items = []
    for comment in comments:
        items.append(
            format_html(
                COMMENT_LIST_ITEM,
                pk=localize(comment.pk),
                name=comment.name or anonymous,
                position=format_html(" · {}", comment.get_position_display()) if comment.position else "",
                when=when(comment.submitted_at, "DATE_FORMAT"),
                lang=lang_attr(comment),
                body=linebreaksbr(comment.body, autoescape=True),
            )
        )
    return mark_safe("".join(items))
