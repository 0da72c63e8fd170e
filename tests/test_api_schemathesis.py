"""
The API keeps its published schema: schemathesis reads `/api/schema/` from the running WSGI
application and calls every operation with generated requests (fixed seed, bounded number of
examples) against a seeded database. No response may be a server error, carry a status the
schema does not list, or have a body that does not match the schema.

Path parameters are drawn both at random (which must give a documented 404) and from the
records in the database (so the 200 bodies are checked too).
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from model_bakery import baker
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ordinances import workflow
from ordinances.models import Agency, Ordinance, OrdinanceChange, Request, Technology, TechnologyUse
from portal.wsgi import application

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def seeded(make_request, agency_a, agency_b, liaison_b, drone, face_recognition, ordinance, staff):
    """A little of everything the API shows: every kind of outcome, a board with rows, a change history."""
    baker.make(TechnologyUse, agency=agency_a, technology=drone)
    approved = make_request("approved_with_conditions", title="Approved drone")
    workflow.add_note(approved, by=staff, note="Internal: staff only.", public=False)
    workflow.add_note(approved, by=staff, note="Public note.", public=True)
    make_request("hearing_scheduled", title="Drone with a hearing")
    make_request("denied", title="Denied drone")
    make_request("accepted", title="Emergency flight")
    make_request("submitted", title="Parks drone", agency=agency_b, liaison=liaison_b)
    make_request("draft", title="Secret draft")
    OrdinanceChange.objects.create(
        ordinance=ordinance,
        actor_name="A. Clerk",
        actor_role="clerk",
        via="admin",
        changes=[{"path": "rules.drones.rule", "old": "prohibited", "new": "approval_required"}],
        created_at=datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC),
    )


def known_identifiers() -> dict[str, list[str]]:
    return {
        "slug": sorted(
            [
                *Ordinance.objects.values_list("slug", flat=True),
                *Agency.objects.values_list("slug", flat=True),
                *Technology.objects.values_list("slug", flat=True),
            ]
        ),
        "reference": sorted(Request.objects.public().values_list("reference", flat=True)),
    }


# Loaded once, at collection, from the application itself (no database needed to describe it).
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@schema.hook
def before_generate_path_parameters(context: Any, strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Random values, and the identifiers of the seeded records (read when the test draws them)."""
    names = [
        parameter["name"]
        for parameter in context.operation.definition.raw.get("parameters", [])
        if parameter.get("in") == "path"
    ]
    if len(names) != 1 or names[0] not in ("slug", "reference"):
        return strategy
    name = names[0]
    existing = st.deferred(lambda: st.sampled_from(known_identifiers()[name]))
    return st.one_of(strategy, existing.map(lambda value: {name: value}))


@pytest.fixture(autouse=True)
def calls_inside_the_test_transaction():
    """
    As Django's test client does: a request must not close the database connection at its
    end, or the test's transaction (and its seeded rows) would go with it. The throttle's
    counts (if one is configured) start afresh, since these tests make many calls.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    cache.clear()
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_to_the_schema(case, seeded):
    case.call_and_validate(checks=CHECKS)
