"""
Hostile input (issue 10): every payload of tests/hostile.py through every public GET
parameter, the public forms, the API's parameters and every admin changelist's search box
and list filters. Never a 5xx; an XSS payload never comes back unescaped in an HTML page;
the API answers 200, 400 with field errors, or 404 (an unknown record or cursor); a refused
form keeps what the resident typed and says what is wrong.

The parameters are read from the code (each FilterSet's filters, each API view's filters and
ordering, each ModelAdmin's list filters and date hierarchy), so a new filter is tried
without a change here. Each test walks its payloads in a loop and reports every failure at
once; each request runs in a savepoint, so one that broke the transaction (PostgreSQL after
a refused NUL byte) cannot hide the next. The count of requests and of 5xx answers is
printed at the end of the run (`hostile input:` in the terminal summary).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django_filters import FilterSet

from ordinances import api, downloads, filters, pagination, workflow
from ordinances.comment_forms import issue_token
from ordinances.models import Comment, Subscription
from tests.hostile import ADMIN_CORE, CORE, FORM_PAYLOADS, PAYLOADS, XSS, Payload


@dataclass
class Tally:
    """What the run tried, for the closing note of issue 10."""

    requests: int = 0
    server_errors: int = 0
    payloads: set[str] = field(default_factory=set)


TALLY = Tally()


@pytest.fixture(scope="module", autouse=True)
def report_tally(request) -> Iterator[None]:
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    line = (
        f"hostile input: {TALLY.requests} requests, {len(TALLY.payloads)} distinct payloads, "
        f"{TALLY.server_errors} answered 5xx"
    )
    # Output of a fixture's teardown is captured like a test's; the figure must reach the log.
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        if reporter is not None:
            reporter.write_line("")
            reporter.write_line(line)
        else:  # pragma: no cover - run without the terminal plugin
            print(line)


@pytest.fixture(autouse=True)
def unthrottled_api(settings):
    # Hundreds of calls from one address in a test: the rate limit would answer 429 and hide the rest.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "1000000/min"}}


def body_of(response: HttpResponse) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return response.content


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes
    location: str = ""


def fetch(client: Client, method: str, url: str, payload: Payload, **kwargs) -> Answer:
    """
    One request, in a savepoint. An exception the view raised (or a streamed body broke on)
    counts as a 500.
    """
    TALLY.requests += 1
    TALLY.payloads.add(str(payload))
    try:
        with transaction.atomic():
            response = getattr(client, method)(url, **kwargs)
            body = body_of(response)
    except Exception as exc:  # every exception is the finding
        TALLY.server_errors += 1
        return Answer(500, "exception", repr(exc).encode()[:300])
    if response.status_code >= 500:
        TALLY.server_errors += 1
    return Answer(response.status_code, response.get("Content-Type", ""), body, response.get("Location", ""))


def reflected(payload: Payload, content_type: str, body: bytes) -> list[str]:
    """The forbidden pieces of `payload` an HTML answer holds verbatim."""
    if not content_type.startswith("text/html") or not payload.forbidden:
        return []
    text = body.decode("utf-8", errors="replace")
    return [piece for piece in payload.forbidden if piece in text]


def problems(url: str, payload: Payload, answer: Answer) -> list[str]:
    found = []
    if answer.status >= 500:
        found.append(f"{url} [{payload}] answered {answer.status}: {answer.body[:300]!r}")
    for piece in reflected(payload, answer.content_type, answer.body):
        found.append(f"{url} [{payload}] printed {piece!r} unescaped")
    return found


def try_query(client: Client, path: str, payload: Payload, query: str) -> list[str]:
    url = f"{path}?{query}"
    return problems(url[:160], payload, fetch(client, "get", url, payload))


def try_parameters(
    client: Client,
    path: str,
    parameters: Iterable[str],
    *,
    each: Iterable[str] = (),
    corpus: Iterable[Payload] = PAYLOADS,
) -> list[str]:
    """
    The corpus as every parameter at once, and as each parameter of `each` alone (the text
    that reaches the database: search boxes, record names, cursors); the core set as each
    other parameter alone.
    """
    parameters = list(parameters)
    found: list[str] = []
    for payload in corpus:
        if len(parameters) > 1:
            found += try_query(client, path, payload, "&".join(payload.query(name) for name in parameters))
        for name in parameters:
            if name in each or payload in CORE:
                found += try_query(client, path, payload, payload.query(name))
    return found


def names(filterset_class: type[FilterSet]) -> list[str]:
    return list(filterset_class.base_filters)


def open_for_comment(make_request, staff):
    """A request whose public comment opened today."""
    request = make_request("in_review", title="Open drone request")
    workflow.perform("open_comment_period", request, by=staff)
    request.refresh_from_db()
    return request


@pytest.fixture
def portal(make_request, staff, agency_a, drone, ordinance):
    """A request open for comment, an approved one, a denied one: every list has rows."""
    return {
        "open": open_for_comment(make_request, staff),
        "approved": make_request("approved", title="Approved drone request"),
        "denied": make_request("denied", title="Denied drone request"),
        "agency": agency_a,
        "technology": drone,
        "ordinance": ordinance,
    }


# ---------------------------------------------------------------------------
# Public pages
# ---------------------------------------------------------------------------

PAGES = ["page"]
# Each list's parameters; the whole corpus goes through each of those in EACH alone.
PUBLIC_LISTS: dict[str, list[str]] = {
    "/requests/": [*names(filters.RequestFilter), *pagination.CURSOR_PARAMETERS],
    "/agencies/": [*names(filters.AgencyFilter), *PAGES],
    "/technologies/": [*names(filters.TechnologyFilter), *PAGES],
    "/ordinances/": [*names(filters.OrdinanceFilter), *PAGES],
    "/emergency-use/": [*names(filters.EmergencyUseFilter), *PAGES],
    "/violations/": [*names(filters.ViolationFilter), *PAGES],
    "/annual-reports/": [*names(filters.AnnualReportFilter), *PAGES],
    "/search/": ["q", *PAGES],
    # The same list in another language (the prefix is a path, the filters the same).
    "/es/requests/": ["q", "agency", "after"],
    "/hmn/search/": ["q"],
}


EACH: dict[str, tuple[str, ...]] = {
    "/requests/": ("q", "after"),
    "/search/": ("q",),
    "/choices/agencies/": ("q",),
    "/choices/technologies/": ("q",),
    "/alerts/": ("target",),
}


# The lists where each FilterSet is first met: the whole corpus through all their filters at
# once. The other lists, feeds and files share those FilterSets: the core set there.
WHOLE_CORPUS = ("/requests/", "/agencies/", "/technologies/", "/ordinances/", "/violations/", "/search/")


@pytest.mark.parametrize("path", PUBLIC_LISTS)
def test_a_public_list_answers_every_payload_in_every_filter_without_a_server_error(client, portal, path):
    corpus = PAYLOADS if path in WHOLE_CORPUS else CORE
    assert try_parameters(client, path, PUBLIC_LISTS[path], each=EACH.get(path, ()), corpus=corpus) == []


FEEDS_AND_FILES: dict[str, list[str]] = {
    "/requests/feed/": names(filters.RequestFilter),
    "/decisions/feed/": names(filters.RequestFilter),
    "/agencies/agency-a/feed/": names(filters.RequestFilter),
    "/technologies/test-drone/feed/": ["q", "status"],
    "/calendar.ics": ["q", "agency"],
    "/agencies/agency-a/calendar.ics": ["q"],
    "/data/atlas.csv": ["q", "agency"],
    "/data.json": ["q"],
    **{
        f"/{slug}/download.{fmt}": names(dataset.filterset_class)
        for slug, dataset in downloads.DATASETS.items()
        for fmt in downloads.FORMATS
    },
}


@pytest.mark.parametrize("path", FEEDS_AND_FILES)
def test_a_feed_calendar_or_download_answers_every_payload_without_a_server_error(client, portal, path):
    # Their filters are the lists' FilterSets, tried with the whole corpus above: the core set here.
    assert try_parameters(client, path, FEEDS_AND_FILES[path], corpus=CORE) == []


RECORD_PAGES: dict[str, list[str]] = {
    "/choices/agencies/": ["q"],
    "/choices/technologies/": ["q"],
    "/alerts/": ["topic", "target"],
    "/agencies/agency-a/": ["board_page", "demo_board_page"],
    "/technologies/test-drone/": ["board_page", "demo_board_page"],
    "/": ["q", "page"],
}


@pytest.mark.parametrize("path", RECORD_PAGES)
def test_a_record_page_or_choices_endpoint_answers_every_payload_without_a_server_error(client, portal, path):
    assert try_parameters(client, path, RECORD_PAGES[path], each=EACH.get(path, ()), corpus=CORE) == []


def test_the_request_pages_answer_every_payload_in_any_parameter_without_a_server_error(client, portal):
    reference = portal["open"].reference
    found: list[str] = []
    for path in (
        f"/requests/{reference}/",
        f"/requests/{reference}/comment/",
        f"/requests/{reference}/feed/",
        f"/requests/{reference}/calendar.ics",
        f"/embed/requests/{reference}/",
        "/embed/technologies/test-drone/",
        "/summary/",
    ):
        found += try_parameters(client, path, ["q"], corpus=CORE)
    assert found == []


def test_a_payload_in_place_of_a_slug_or_reference_is_a_not_found_page(client, portal):
    found: list[str] = []
    for payload in CORE:
        segment = payload.query("x").partition("=")[2] or "x"
        for prefix in ("/agencies/", "/technologies/", "/ordinances/", "/requests/", "/api/v1/agencies/"):
            url = f"{prefix}{segment[:2000]}/"
            answer = fetch(client, "get", url, payload)
            found += problems(url[:160], payload, answer)
            if answer.status not in (301, 302, 400, 404):
                found.append(f"{url[:160]} [{payload}] answered {answer.status}, not 404")
    assert found == []


def test_switching_language_with_a_payload_never_fails_and_never_leaves_the_site(client, portal):
    found: list[str] = []
    for payload in FORM_PAYLOADS:
        for data in (
            {"language": payload.value, "next": "/requests/"},
            {"language": "es", "next": payload.value},
        ):
            answer = fetch(client, "post", "/i18n/setlang/", payload, data=data)
            found += problems(f"setlang {sorted(data)}", payload, answer)
            if answer.location and not url_has_allowed_host_and_scheme(answer.location, {"testserver"}):
                found.append(f"setlang [{payload}] sent the reader to {answer.location!r}")
    assert found == []


# ---------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------


def api_parameters(viewset) -> list[str]:
    parameters = ["ordering", "cursor", "page_size", "format"]
    if getattr(viewset, "filterset_class", None) is not None:
        parameters = [*names(viewset.filterset_class), *parameters]
    return parameters


API_LISTS = {f"/api/v1/{prefix}/": api_parameters(viewset) for prefix, viewset, _ in api.router.registry}


def api_problems(url: str, payload: Payload, answer: Answer) -> list[str]:
    found = problems(url, payload, answer)
    if answer.status not in (200, 400, 404):
        found.append(f"{url} [{payload}] answered {answer.status}")
    if answer.status == 400:
        errors = json.loads(answer.body)
        if not isinstance(errors, dict) or not errors:
            found.append(f"{url} [{payload}] answered 400 without field errors: {answer.body[:200]!r}")
    return found


# The API's parameters that carry text to the database: the whole corpus goes through each alone.
API_EACH = ("q", "cursor")


def try_api(
    client: Client, path: str, parameters: Iterable[str], each: Iterable[str], corpus: Iterable[Payload]
) -> list[str]:
    parameters = list(parameters)
    found: list[str] = []
    for payload in corpus:
        queries = ["&".join(payload.query(name) for name in parameters)]
        queries += [payload.query(name) for name in parameters if name in each or payload in CORE]
        for query in queries:
            url = f"{path}?{query}"
            found += api_problems(url[:160], payload, fetch(client, "get", url, payload))
    return found


@pytest.mark.parametrize("path", API_LISTS)
def test_the_api_answers_every_payload_with_200_400_or_404_never_a_server_error(client, portal, path):
    corpus = PAYLOADS if path == "/api/v1/requests/" else CORE
    assert try_api(client, path, API_LISTS[path], API_EACH, corpus) == []


def test_the_api_timeline_and_changes_answer_every_cursor_payload_with_200_400_or_404(client, portal):
    reference = portal["approved"].reference
    found: list[str] = []
    for path in (
        f"/api/v1/requests/{reference}/timeline/",
        f"/api/v1/ordinances/{portal['ordinance'].slug}/changes/",
        "/api/v1/agencies/agency-a/board/",
    ):
        found += try_api(client, path, ("cursor", "page_size", "format"), ("cursor",), CORE)
    assert found == []


# ---------------------------------------------------------------------------
# Public forms
# ---------------------------------------------------------------------------

COMMENT_FIELDS = ("name", "email", "position", "body", "website", "issued")


def comment_data(reference: str, **typed: str) -> dict[str, str]:
    # A form made a minute ago: the timing check lets it through.
    issued = issue_token(reference, timezone.now() - datetime.timedelta(minutes=1))
    return {"name": "Ada", "email": "", "position": "", "body": "A fair comment.", "issued": issued, **typed}


def test_the_comment_form_answers_every_payload_in_every_field_without_a_server_error(client, portal):
    reference = portal["open"].reference
    url = reverse("ordinances:request_comment", args=[reference])
    found: list[str] = []
    for number, payload in enumerate(FORM_PAYLOADS):
        # The whole corpus in the comment itself, the core set in the other fields.
        for name in COMMENT_FIELDS if payload in CORE else ("body",):
            data = comment_data(reference, **{name: payload.value})
            # One address for each post: the rate limit per address is not what is tried here.
            address = f"10.{number % 250}.{COMMENT_FIELDS.index(name)}.1"
            answer = fetch(client, "post", url, payload, data=data, REMOTE_ADDR=address)
            found += problems(f"{url} {name}", payload, answer)
            if answer.status not in (302, 400):
                found.append(f"{url} {name} [{payload}] answered {answer.status}")
    assert found == []


def test_a_refused_comment_keeps_what_the_resident_wrote_and_says_what_is_wrong(client, portal):
    reference = portal["open"].reference
    url = reverse("ordinances:request_comment", args=[reference])
    for payload in XSS:
        body = f"My view: {payload.value}"
        response = client.post(url, comment_data(reference, body=body, email=payload.value))

        assert response.status_code == 400, payload
        page = response.content.decode()
        assert response.context["form"].errors["email"]
        assert "usa-error-message" in page
        # The comment is kept, escaped, in its box.
        assert response.context["form"]["body"].value() == body
        assert not reflected(payload, response["Content-Type"], response.content), payload


def test_the_comment_form_refuses_a_megabyte_without_a_server_error(client, portal):
    reference = portal["open"].reference
    url = reverse("ordinances:request_comment", args=[reference])
    payload = next(p for p in PAYLOADS if p.name == "1mb")
    answer = fetch(client, "post", url, payload, data=comment_data(reference, body=payload.value))

    assert answer.status == 400
    assert not Comment.objects.exists()


def test_an_accepted_hostile_comment_is_stored_as_typed(client, portal):
    reference = portal["open"].reference
    url = reverse("ordinances:request_comment", args=[reference])
    text = XSS[0].value

    response = client.post(url, comment_data(reference, body=text, name=text))

    assert response.status_code == 302
    assert Comment.objects.get().body == text


ALERT_FIELDS = ("email", "topic", "target", "website")


def test_the_alert_form_answers_every_payload_in_every_field_without_a_server_error(client, portal):
    from django.core.cache import cache

    url = reverse("ordinances:alert_subscribe")
    found: list[str] = []
    for payload in FORM_PAYLOADS:
        for name in ALERT_FIELDS if payload in CORE else ("target",):
            cache.clear()  # the sign-up rate limit is not what is tried here
            data = {
                "email": "resident@example.org",
                "topic": "agency",
                "target": "agency-a",
                name: payload.value,
            }
            answer = fetch(client, "post", url, payload, data=data)
            found += problems(f"{url} {name}", payload, answer)
            if answer.status not in (302, 400):
                found.append(f"{url} {name} [{payload}] answered {answer.status}")
    assert found == []


def test_following_a_record_whose_address_holds_a_nul_is_not_found_or_refused(client, portal):
    # PostgreSQL refused the NUL in the look-up of what to follow: a 500 before the fix.
    for topic in ("agency", "technology", "request"):
        assert client.get("/alerts/", {"topic": topic, "target": "agency-a\x00"}).status_code == 404
        posted = {"email": "resident@example.org", "topic": topic, "target": "agency-a\x00"}
        assert client.post("/alerts/", posted).status_code == 400


def test_a_refused_alert_sign_up_keeps_the_address_typed_and_says_what_is_wrong(client, portal):
    url = reverse("ordinances:alert_subscribe")
    typed = '"><script>alert(1)</script>@example.org'

    response = client.post(url, {"email": typed, "topic": "agency", "target": "agency-a"})

    assert response.status_code == 400
    assert response.context["alert_form"].errors["email"]
    assert response.context["alert_form"]["email"].value() == typed
    assert "<script>alert(1)" not in response.content.decode()
    assert not Subscription.objects.exists()


# ---------------------------------------------------------------------------
# The admin: every changelist's search box and list filters, as a superuser
# ---------------------------------------------------------------------------

# Payloads that reach the database through an admin list filter unchecked: a NUL byte, which
# PostgreSQL refuses, and numbers past a column's range (a date hierarchy's year). The admin
# guard answers them (the 'headers' helper's part of issue 10); they are tried apart.
ADMIN_GUARD_FAMILIES = {"nul"}
ADMIN_GUARD_NAMES = {
    "int64-overflow",
    "int32-overflow",
    "long-integer",
    "negative-huge",
    "huge-page",
    "repeated",
}


def needs_admin_guard(payload: Payload) -> bool:
    return payload.family in ADMIN_GUARD_FAMILIES or payload.name in ADMIN_GUARD_NAMES


def admin_parameters(model, model_admin, superuser: User) -> list[str]:
    """The changelist's search box, its list filters' parameters, its date hierarchy and its order and page."""
    request = RequestFactory().get("/")
    request.user = superuser
    changelist = model_admin.get_changelist_instance(request)
    parameters = ["q"] if model_admin.search_fields else []
    for spec in changelist.filter_specs:
        parameters += spec.expected_parameters()
    if model_admin.date_hierarchy:
        parameters += [f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")]
    return [*dict.fromkeys([*parameters, "o", "p"])]


ADMINS = [f"{model._meta.app_label}.{model._meta.model_name}" for model in admin.site._registry]


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("root", "root@example.org", "pw-for-tests-only")


def try_admin(client: Client, superuser: User, label: str, *, guarded: bool) -> list[str]:
    """
    Unguarded: the core set through the search box alone and through every parameter at
    once, a few payloads through each filter alone. Guarded: the NUL bytes and out-of-range numbers
    of the core set through each parameter alone.
    """
    model = next(m for m in admin.site._registry if f"{m._meta.app_label}.{m._meta.model_name}" == label)
    model_admin = admin.site._registry[model]
    client.force_login(superuser)
    path = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    parameters = admin_parameters(model, model_admin, superuser)
    found: list[str] = []
    for payload in PAYLOADS:
        if needs_admin_guard(payload) != guarded:
            continue
        queries = []
        if guarded:
            if payload in CORE or payload in ADMIN_CORE or payload.name == "int32-overflow":
                queries = [payload.query(name) for name in parameters]
        elif (payload in CORE or payload in ADMIN_CORE) and payload.name != "1mb":
            queries = ["&".join(payload.query(name) for name in parameters)]
            queries += [payload.query(name) for name in parameters if name == "q" or payload in ADMIN_CORE]
        for query in queries:
            found += try_query(client, path, payload, query)
    return found


@pytest.mark.parametrize("label", ADMINS)
def test_an_admin_changelist_answers_every_payload_in_its_search_and_filters(
    client, portal, superuser, label
):
    assert try_admin(client, superuser, label, guarded=False) == []


@pytest.mark.parametrize("label", ADMINS)
def test_an_admin_changelist_answers_nul_bytes_and_out_of_range_numbers_without_a_server_error(
    client, portal, superuser, label
):
    assert try_admin(client, superuser, label, guarded=True) == []


SEARCHABLE = [
    label
    for label, model in zip(ADMINS, admin.site._registry, strict=True)
    if admin.site._registry[model].search_fields
]


@pytest.mark.parametrize("label", SEARCHABLE)
def test_an_admin_search_of_a_megabyte_answers_without_a_server_error(client, superuser, label):
    model = next(m for m in admin.site._registry if f"{m._meta.app_label}.{m._meta.model_name}" == label)
    client.force_login(superuser)
    path = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    payload = next(payload for payload in PAYLOADS if payload.name == "1mb")

    assert try_query(client, path, payload, payload.query("q")) == []


def test_the_reflection_check_finds_a_payload_printed_raw_and_not_one_escaped():
    from django.utils.html import escape

    # The payloads whose forbidden part is their own text (the others' is what evaluating them prints).
    printed = [p for p in XSS if all(piece in p.value for piece in p.forbidden)]
    assert len(printed) > 10
    for payload in printed:
        assert reflected(payload, "text/html; charset=utf-8", f"<p>{payload.value}</p>".encode()), payload
        assert not reflected(payload, "text/html", escape(payload.value).encode()), payload
