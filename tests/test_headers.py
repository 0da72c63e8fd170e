"""
The security headers on every answer: a walk of every URL name in portal.urls (the public
pages, the API, the admin), each asked for anonymously and the admin's also by a superuser,
checking the Content-Security-Policy (strict: nothing inline, nothing evaluated), the
Permissions-Policy, `nosniff`, the Referrer-Policy and who may frame the answer. A URL name
the walk cannot build an address for fails it, so a new page cannot go unchecked.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from ordinances import downloads
from ordinances.models import AnnualReport, Attachment, Condition, Decision, Request, Violation
from tests import test_oversight_pages
from tests.conftest import PASSWORD
from tests.test_oversight_pages import published_violation, submitted_report

pytestmark = pytest.mark.django_db

# Fixtures of tests/test_oversight_pages.py: a law expecting annual reports, an approval of 2024.
oakland = test_oversight_pages.oakland
approve_2024 = test_oversight_pages.approve_2024

# Views any site may frame (ordinances/embed.py); every other answer refuses framing.
FRAMEABLE = {"ordinances:embed_technology", "ordinances:embed_request"}


def url_names() -> dict[str, set[str]]:
    """Every named URL pattern, namespaced as `reverse` takes it, with the parameters it takes."""
    names: dict[str, set[str]] = {}

    def walk(resolver: URLResolver, namespaces: tuple[str, ...]) -> Iterator[tuple[str, set[str]]]:
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                inner = (*namespaces, pattern.namespace) if pattern.namespace else namespaces
                yield from walk(pattern, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                yield ":".join((*namespaces, pattern.name)), set(pattern.pattern.regex.groupindex)

    for name, params in walk(get_resolver(), ()):
        # A name given to several patterns (the API's `.json` suffixes): the fewest parameters.
        if name not in names or len(params) < len(names[name]):
            names[name] = params
    return names


@dataclass
class World:
    """One of each record a URL parameter can name."""

    request: Request
    violation: Violation
    report: AnnualReport
    superuser: User

    def admin_model(self, name: str) -> type[Model]:
        """The model an admin URL name such as `admin:ordinances_request_change` belongs to."""
        bare = name.removeprefix("admin:")
        for model in admin.site._registry:
            if bare.startswith(f"{model._meta.app_label}_{model._meta.model_name}_"):
                return model
        raise LookupError(f"{name} names no registered model")

    def kwargs(self, name: str, params: set[str]) -> dict[str, Any]:
        """Sample arguments for `name`; KeyError for a parameter the walk does not know yet."""
        req = self.request
        values: dict[str, Any] = {}
        for param in params:
            if param == "slug":
                bare = name.rsplit(":", 1)[-1]  # not the namespace: "ordinances:" holds "ordinance"
                subject = next(
                    (word for word in ("ordinance", "agency", "technology") if word in bare), "technology"
                )
                values[param] = getattr(req, subject).slug
            elif param == "reference":
                values[param] = req.reference
            elif param == "pk":
                pks = {
                    "ordinances:violation_detail": self.violation.pk,
                    "ordinances:annual_report_detail": self.report.pk,
                    "api:decision-detail": Decision.objects.values_list("pk", flat=True).first(),
                    # An uploaded document (ordinances/documents.py): none here, so its 404.
                    "document": Attachment.objects.values_list("pk", flat=True).first() or 0,
                }
                values[param] = pks[name]
            elif param == "year":
                values[param] = req.created_at.year
            elif param == "token":
                values[param] = "no-such-token"
            elif param == "dataset":
                values[param] = next(iter(downloads.DATASETS))
            elif param == "fmt":
                values[param] = downloads.FORMATS[0]
            elif param == "filename":
                values[param] = "no-such-document.pdf"
            elif param == "app_label":
                values[param] = "ordinances"
            elif param == "content_type_id":
                values[param] = ContentType.objects.get_for_model(Request).pk
            elif param == "object_id" and name == "admin:view_on_site":
                values[param] = req.pk
            elif param in ("object_id", "id"):
                model = User if param == "id" else self.admin_model(name)
                first = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
                values[param] = first if first is not None else 0
            elif param == "condition_id":
                values[param] = Condition.objects.values_list("pk", flat=True).first() or 0
            elif param == "name":
                # A transition or action the view does not know answers 404: still headers.
                values[param] = "approve"
            else:
                raise KeyError(param)
        return values


@pytest.fixture
def world(make_request, staff, liaison_a, agency_a, drone, ordinance, oakland, approve_2024) -> World:
    approved = make_request("approved_with_conditions")
    superuser = User.objects.create_superuser("root", "root@example.org", PASSWORD)
    return World(
        request=approved,
        violation=published_violation(staff, agency_a, drone, ordinance),
        # Oakland's rule (a report each year of an approval) and an approval of 2024.
        report=submitted_report(liaison_a, approve_2024(drone), year=2024),
        superuser=superuser,
    )


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def header_problems(name: str, response: Any) -> list[str]:
    """What is missing or wrong in one answer's headers (empty when all is well)."""
    problems = []
    if response.status_code >= 500:
        problems.append(f"status {response.status_code}")
    policy = response.get("Content-Security-Policy")
    if not policy:
        problems.append("no Content-Security-Policy")
    else:
        if "unsafe-inline" in policy or "unsafe-eval" in policy:
            problems.append(f"unsafe policy {policy!r}")
        found = directives(policy)
        if not ({"default-src", "script-src"} & set(found)):
            problems.append(f"policy restricts no scripts {policy!r}")
        ancestors = found.get("frame-ancestors")
        if name in FRAMEABLE:
            if ancestors != ["*"] or response.has_header("X-Frame-Options"):
                problems.append("a widget must be frameable")
        elif ancestors not in (["'none'"], ["'self'"]) and response.get("X-Frame-Options") != "DENY":
            problems.append("framing is not refused")
    if "camera=()" not in response.get("Permissions-Policy", ""):
        problems.append("no Permissions-Policy refusing the camera")
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if response.get("Referrer-Policy") != "same-origin":
        problems.append("no Referrer-Policy: same-origin")
    return problems


def test_every_answer_of_every_url_name_carries_the_security_headers(world):
    anonymous = Client(raise_request_exception=False)
    superuser = Client(raise_request_exception=False)
    superuser.force_login(world.superuser)
    names = url_names()
    problems: dict[str, list[str]] = {}
    walked: set[str] = set()
    for name, params in sorted(names.items()):
        try:
            url = reverse(name, kwargs=world.kwargs(name, params))
        except KeyError as unknown:
            problems[name] = [f"the walk cannot build its {unknown} parameter: add it to World.kwargs"]
            continue
        clients = [("anonymous", anonymous)]
        if name.startswith("admin:"):
            clients.append(("superuser", superuser))
        for who, client in clients:
            for problem in header_problems(name, client.get(url)):
                problems.setdefault(name, []).append(f"{who} GET {url}: {problem}")
        walked.add(name)
    assert problems == {}
    assert walked == set(names)
    # A sanity floor: the admin alone has dozens of names; a broken walk would find few.
    assert len(walked) > 100


def test_the_walk_reaches_the_admin_change_forms_as_a_superuser(world):
    client = Client()
    client.force_login(world.superuser)
    url = reverse("admin:ordinances_request_change", args=[world.request.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert header_problems("admin:ordinances_request_change", response) == []


def test_the_policy_allows_scripts_and_styles_from_the_site_alone(client, db):
    found = directives(client.get(reverse("ordinances:home"))["Content-Security-Policy"])
    assert found["script-src"] == ["'self'"]
    assert found["style-src"] == ["'self'"]
    assert found["object-src"] == ["'none'"]
    assert found["base-uri"] == ["'none'"]
    assert found["frame-ancestors"] == ["'none'"]


def test_a_public_page_carries_no_nonce_since_the_page_cache_shares_it(client, world):
    for url in (reverse("ordinances:home"), world.request.get_absolute_url()):
        assert "nonce-" not in client.get(url)["Content-Security-Policy"], url


def test_the_api_docs_start_swagger_ui_from_a_script_of_their_own_not_inline(client, db):
    page = client.get(reverse("api-docs")).content.decode()
    assert "<script>" not in page
    assert "<style>" not in page
    script = client.get(reverse("api-docs") + "?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


def test_a_page_replayed_from_the_page_cache_keeps_the_headers(client, settings, world):
    settings.PORTAL_PAGE_CACHE_SECONDS = 300
    url = reverse("ordinances:technology_detail", args=[world.request.technology.slug])
    first, replayed = client.get(url), client.get(url)
    assert replayed.content == first.content  # the same page: kept, then served again
    assert header_problems("ordinances:technology_detail", replayed) == []


def test_a_widget_replayed_from_the_page_cache_stays_frameable(client, settings, world):
    settings.PORTAL_PAGE_CACHE_SECONDS = 300
    url = reverse("ordinances:embed_request", args=[world.request.reference])
    client.get(url)
    replayed = client.get(url)
    assert header_problems("ordinances:embed_request", replayed) == []
    assert directives(replayed["Content-Security-Policy"])["script-src"] == ["'self'"]


def test_a_404_and_a_400_carry_the_headers_too(client, db):
    assert header_problems("missing", client.get("/no-such-page/")) == []
    bad = client.get(reverse("ordinances:request_list"), {"year": "not-a-year"})
    assert bad.status_code == 400
    assert header_problems("ordinances:request_list", bad) == []


def test_the_permissions_policy_refuses_the_features_no_page_uses(client, db):
    policy = client.get(reverse("ordinances:home"))["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "browsing-topics"):
        assert f"{feature}=()" in policy


def test_the_walk_knows_every_parameter_of_every_url_name(world):
    unknown = {}
    for name, params in url_names().items():
        try:
            world.kwargs(name, params)
        except (KeyError, LookupError) as error:
            unknown[name] = str(error)
    assert unknown == {}


def test_a_frame_of_a_widget_is_allowed_on_the_date_it_was_asked(client, world):
    # The widget's 304, made before the view runs, is frameable as well (a browser merges it).
    url = reverse("ordinances:embed_request", args=[world.request.reference])
    later = timezone.now() + datetime.timedelta(minutes=1)
    response = client.get(url, headers={"If-Modified-Since": later.strftime("%a, %d %b %Y %H:%M:%S GMT")})
    assert response.status_code == 304
    assert header_problems("ordinances:embed_request", response) == []
