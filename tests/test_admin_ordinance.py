"""
The clerk's ordinance page in the admin: the process is edited there (steps, deadlines),
and every change to it leaves a public change history on the ordinance's page.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from ordinances.models import Deadline, Ordinance, OrdinanceChange, ProcessStep

pytestmark = pytest.mark.django_db


def change_url(ordinance: Ordinance) -> str:
    return reverse("admin:ordinances_ordinance_change", args=[ordinance.pk])


def form_data(response) -> dict[str, Any]:
    """What the change form would post unchanged: the main form and every inline, as shown."""
    data: dict[str, Any] = {}
    form = response.context["adminform"].form
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = [str(v) for v in value] if isinstance(value, list) else str(value)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = str(value)
        for each in formset.forms:
            for name in each.fields:
                value = each[name].value()
                if value is None or value is False:
                    continue
                data[each.add_prefix(name)] = str(value)
    return data


@pytest.fixture
def clerk_page(client, clerk, ordinance):
    client.force_login(clerk)
    response = client.get(change_url(ordinance))
    assert response.status_code == 200
    return form_data(response)


def deadline_index(data: dict[str, Any], kind: str) -> int:
    return next(
        int(key.split("-")[1])
        for key, value in data.items()
        if key.startswith("deadlines-") and key.endswith("-kind") and value == kind
    )


def test_a_clerk_changing_a_deadline_leaves_one_change_in_the_history(client, ordinance, clerk_page):
    data = dict(clerk_page)
    index = deadline_index(data, Deadline.Kind.COMMENT_PERIOD)
    data[f"deadlines-{index}-amount"] = "45"

    response = client.post(change_url(ordinance), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    (change,) = OrdinanceChange.objects.filter(ordinance=ordinance)
    assert change.via == "admin"
    assert change.actor_role == "clerk"
    assert {"path": "deadlines.comment_period.amount", "old": 30, "new": 45} in change.changes


def test_saving_the_ordinance_unchanged_writes_no_history(client, ordinance, clerk_page):
    response = client.post(change_url(ordinance), clerk_page)

    assert response.status_code == 302
    assert not OrdinanceChange.objects.filter(ordinance=ordinance).exists()


def test_the_ordinance_page_shows_its_change_history(client, ordinance, clerk_page):
    data = dict(clerk_page)
    data[f"deadlines-{deadline_index(data, Deadline.Kind.HEARING_NOTICE)}-amount"] = "15"
    client.post(change_url(ordinance), data)
    client.logout()

    response = client.get(ordinance.get_absolute_url())

    page = response.content.decode()
    assert "Deadline “Notice before a hearing”, amount: 10 → 15" in page
    assert "Changed in the clerk" in page


def test_an_ordinance_cannot_both_vote_and_publish(client, ordinance, clerk_page):
    data = dict(clerk_page)
    total = int(data["steps-TOTAL_FORMS"])
    data["steps-TOTAL_FORMS"] = str(total + 1)
    data[f"steps-{total}-kind"] = ProcessStep.Kind.PUBLICATION

    response = client.post(change_url(ordinance), data)

    assert response.status_code == 200
    assert b"either a vote or publication" in response.content
    assert not ordinance.steps.filter(kind=ProcessStep.Kind.PUBLICATION).exists()
    assert not OrdinanceChange.objects.exists()


def test_a_vote_without_seats_is_refused_on_its_field(client, ordinance, clerk_page):
    data = dict(clerk_page)
    index = next(
        int(key.split("-")[1]) for key, value in data.items() if key.endswith("-kind") and value == "vote"
    )
    data[f"steps-{index}-seats"] = ""

    response = client.post(change_url(ordinance), data)

    assert response.status_code == 200
    assert b"Enter how many seats the deciding body has." in response.content
    assert ordinance.steps.get(kind="vote").seats == 13
