"""
An ordinance's page: its facts, its rules as a table that stacks on narrow screens, its
review path with deadlines in words, and its change history in words rather than codes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ordinances import process
from ordinances.models import Ordinance

pytestmark = pytest.mark.django_db

LAWS = Path(__file__).resolve().parent.parent / "ordinances" / "laws"


def page_of(client, ordinance: Ordinance) -> str:
    response = client.get(ordinance.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def section(page: str, heading_id: str) -> str:
    return page.split(f'id="{heading_id}"', 1)[1].split("</section>", 1)[0]


def load(name: str) -> Ordinance:
    data = json.loads((LAWS / f"{name}.json").read_text(encoding="utf-8"))
    ordinance, _created, _changes = process.load(data)
    return ordinance


def test_the_rules_are_a_table_whose_cells_are_labelled_for_narrow_screens(client, ordinance):
    rules = section(page_of(client, ordinance), "rules-heading")

    assert "usa-table--stacked" in rules
    cells = re.findall(r"<(td|th scope=\"row\")([^>]*)>", rules)
    assert len(cells) == 9
    assert all("data-label=" in attributes for _, attributes in cells)
    assert ">Prohibited</span>" in rules


def test_the_review_path_shows_its_steps_and_its_deadlines_in_words(client, ordinance):
    path = section(page_of(client, ordinance), "process-heading")

    assert "usa-step-indicator--counters" in path
    assert "The public has at least 30 days to comment after the comment period opens." in path
    assert "The Test City Council decides. It has 13 seats; an approval needs more yes than no votes." in path


def test_dates_are_shown_in_words_with_a_machine_readable_time(client):
    law = load("minneapolis")

    facts = page_of(client, law).split('<dl class="facts">', 1)[1].split("</dl>", 1)[0]

    assert '<time datetime="2021-02-12">12 February 2021</time>' in facts
    assert "13-0" in facts


def test_the_change_history_says_in_words_what_changed(client):
    law = load("new-york")
    data = process.snapshot(law)
    comment = next(row for row in data["deadlines"] if row["kind"] == "comment_period")
    old_amount = comment["amount"]
    comment["amount"] = old_amount + 15
    process.load(data)

    history = section(page_of(client, law), "history-heading")

    latest = history.split('class="portal-history__item"', 2)[1]
    assert "Loaded from a process file" in latest
    assert (
        f"Deadline “Public comment stays open at least”, amount: {old_amount} → {old_amount + 15}" in latest
    )
    assert "comment_period" not in latest


def test_the_first_load_of_a_law_lists_what_it_added_by_name(client):
    law = load("minneapolis")

    history = section(page_of(client, law), "history-heading")

    assert "Rule “Facial recognition”: added (category: Facial recognition; rule: Prohibited;" in history
    assert "The ordinance, votes yes: added (13)" in history
    assert "The ordinance, status: added (In effect)" in history
