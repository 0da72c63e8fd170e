"""
Laws as files: `ordinances.process` (snapshot, diff, validate, load, record_change), the
`load_process` and `dump_process` commands, and the six law files in `ordinances/laws/`.

Each shipped law is loaded and checked against a few facts from the reference, with one
due date worked out by hand through `ordinances.deadlines`. Bad files must be refused with
the field named and nothing written; loading the same file twice must change nothing.
"""

from __future__ import annotations

import copy
import datetime
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ordinances import deadlines, process, workflow
from ordinances.models import (
    EVERY_OTHER_CATEGORY,
    RULE_CATEGORY_CHOICES,
    Category,
    CategoryRule,
    Deadline,
    Ordinance,
    OrdinanceChange,
    ProcessStep,
    Source,
    StatutoryException,
)

LAWS = Path(process.__file__).with_name("laws")
LAW_FILES = ("minneapolis", "seattle", "oakland", "san-francisco", "new-york", "boston")

D = datetime.date


def law(name: str) -> dict[str, Any]:
    """A shipped law file, parsed: a fresh copy each time, for tests to change."""
    return json.loads((LAWS / f"{name}.json").read_text(encoding="utf-8"))


def load(name: str, **changes: Any) -> Ordinance:
    ordinance, _, _ = process.load(law(name), **changes)
    return ordinance


def refused(data: Any) -> list[str]:
    """Load `data`, expect a refusal, and return its messages."""
    with pytest.raises(process.ProcessFileError) as caught:
        process.load(data)
    return caught.value.messages


def nothing_written() -> bool:
    return not any(
        model.objects.exists()
        for model in (
            Ordinance,
            CategoryRule,
            StatutoryException,
            ProcessStep,
            Deadline,
            Source,
            OrdinanceChange,
        )
    )


def index_of(items: list[dict[str, Any]], key: str, value: str) -> int:
    return next(i for i, item in enumerate(items) if item[key] == value)


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------------------
# The schema cannot drift from the models
# ---------------------------------------------------------------------------


def enum_of(definition: str, field: str) -> list[str]:
    return process.schema()["$defs"][definition]["properties"][field]["enum"]


def test_the_schema_enums_equal_the_model_choices():
    assert enum_of("ordinance", "status") == Ordinance.Status.values
    assert enum_of("rule", "category") == [value for value, _ in RULE_CATEGORY_CHOICES]
    assert EVERY_OTHER_CATEGORY in enum_of("rule", "category")
    assert enum_of("rule", "rule") == CategoryRule.Rule.values
    assert enum_of("exception", "category") == ["", *Category.values]
    assert enum_of("step", "kind") == ProcessStep.Kind.values
    assert enum_of("step", "majority") == ["", *ProcessStep.Majority.values]
    assert enum_of("deadline", "kind") == Deadline.Kind.values
    assert enum_of("deadline", "unit") == Deadline.Unit.values
    assert enum_of("deadline", "counted_from") == Deadline.Anchor.values


def test_the_schema_lists_the_same_fields_the_module_reads_and_writes():
    definitions = process.schema()["$defs"]
    assert list(definitions["ordinance"]["properties"]) == list(process.ORDINANCE_FIELDS)
    for section, definition in zip(
        process.SECTIONS, ("source", "rule", "exception", "step", "deadline"), strict=True
    ):
        assert list(definitions[definition]["properties"]) == list(section.fields)


@pytest.mark.parametrize("name", LAW_FILES)
def test_every_shipped_law_file_passes_validation(name):
    assert process.validate(law(name)) == []


# ---------------------------------------------------------------------------
# The six laws
# ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_loading_minneapolis_creates_the_ban_with_its_reported_exceptions_unverified():
    ordinance, created, _ = process.load(law("minneapolis"))

    assert created
    assert (ordinance.file_number, ordinance.slug, ordinance.code_citation) == (
        "2020-00681",
        "2020-00681",
        "Title 2, Chapter 41",
    )
    assert (ordinance.introduced_on, ordinance.adopted_on, ordinance.effective_on) == (
        D(2020, 10, 16),
        D(2021, 2, 12),
        None,
    )
    assert ordinance.vote_summary == "13-0"
    assert [(r.category, r.rule) for r in ordinance.rules.all()] == [("facial_recognition", "prohibited")]
    exceptions = ordinance.exceptions.order_by("slug")
    assert [e.slug for e in exceptions] == [
        "employee-access-control",
        "secure-building-access",
        "unlocking-a-smartphone",
    ]
    assert not any(e.verified for e in exceptions)
    assert {e.category for e in exceptions} == {"facial_recognition"}
    vote = ordinance.decision_step
    assert vote is not None
    assert (vote.kind, vote.body, vote.seats, vote.verified) == (
        "vote",
        "Minneapolis City Council",
        13,
        False,
    )
    assert "unverified" in vote.note.lower()
    assert ordinance.sources.count() == 3


@pytest.mark.django_db
def test_minneapolis_has_no_deadline_so_no_date_is_computed():
    ordinance = load("minneapolis")

    assert not ordinance.deadlines.exists()
    assert deadlines.due_on(ordinance, "comment_period", D(2026, 1, 10)) is None
    assert deadlines.due_on(ordinance, "annual_report", D(2026, 1, 10)) is None


@pytest.mark.django_db
def test_loading_seattle_creates_its_working_group_meeting_and_council_vote():
    ordinance = load("seattle")

    assert [(step.kind, step.body) for step in ordinance.path()] == [
        ("advisory_review", "Community Surveillance Working Group"),
        ("community_meeting", ""),
        ("vote", "Seattle City Council"),
    ]
    vote = ordinance.step("vote")
    assert vote is not None and not vote.verified and "9" in vote.note
    assert [(r.category, r.rule) for r in ordinance.rules.all()] == [
        (EVERY_OTHER_CATEGORY, "approval_required")
    ]
    assert ordinance.effective_on == D(2017, 9, 1)


@pytest.mark.django_db
def test_seattle_quarterly_report_is_due_30_days_after_the_quarter_ends():
    ordinance = load("seattle")

    report = ordinance.deadline("quarterly_report")
    assert report is not None and report.verified
    # 10 May is in the quarter ending 30 June; 30 June + 30 days = 30 July.
    assert deadlines.due_on(ordinance, "quarterly_report", D(2026, 5, 10)) == D(2026, 7, 30)


@pytest.mark.django_db
def test_loading_oakland_creates_its_commission_hearing_and_three_deadlines():
    ordinance = load("oakland")

    assert [step.kind for step in ordinance.path()] == ["advisory_review", "hearing", "vote"]
    assert ordinance.step("advisory_review").body == "Privacy Advisory Commission"
    notice = ordinance.deadline("hearing_notice")
    assert (notice.amount, notice.unit, notice.counted_from) == (15, "days", "hearing_notice")
    silence = ordinance.deadline("advisory_silence")
    assert (silence.amount, silence.counted_from) == (90, "advisory_referral")
    report = ordinance.deadline("annual_report")
    assert (report.counted_from, report.month, report.day, report.extension_amount) == (
        "fixed_day",
        3,
        15,
        60,
    )


@pytest.mark.django_db
def test_oakland_annual_report_falls_on_the_next_15_march_and_extends_60_days():
    ordinance = load("oakland")

    # 15 March 2026 has passed by 1 April 2026, so the next is 15 March 2027; + 60 days = 14 May.
    assert deadlines.due_on(ordinance, "annual_report", D(2026, 4, 1)) == D(2027, 3, 15)
    assert deadlines.due_on(ordinance, "annual_report", D(2026, 4, 1), extended=True) == D(2027, 5, 14)
    assert deadlines.due_on(ordinance, "hearing_notice", D(2026, 3, 1)) == D(2026, 3, 16)


@pytest.mark.django_db
def test_loading_san_francisco_bans_facial_recognition_and_requires_approval_for_the_rest():
    ordinance = load("san-francisco")

    assert sorted((r.category, r.rule) for r in ordinance.rules.all()) == [
        (EVERY_OTHER_CATEGORY, "approval_required"),
        ("facial_recognition", "prohibited"),
    ]
    exception = ordinance.exceptions.get()
    assert (exception.category, exception.verified) == ("facial_recognition", True)
    assert ordinance.step("advisory_review").body == "Committee on Information Technology (COIT)"
    vote = ordinance.step("vote")
    assert (vote.body, vote.seats, vote.verified) == ("Board of Supervisors", 11, False)
    assert (ordinance.adopted_on, ordinance.vote_summary) == (D(2019, 5, 6), "8-1")


@pytest.mark.django_db
def test_san_francisco_first_surveillance_report_is_due_12_months_after_the_decision():
    ordinance = load("san-francisco")

    assert deadlines.due_on(ordinance, "annual_report", D(2026, 3, 31)) == D(2027, 3, 31)
    # A month-end that does not exist clamps: 29 February 2028 + 12 months = 28 February 2029.
    assert deadlines.due_on(ordinance, "annual_report", D(2028, 2, 29)) == D(2029, 2, 28)


@pytest.mark.django_db
def test_loading_new_york_creates_a_disclosure_law_with_no_vote_step():
    ordinance = load("new-york")

    assert [step.kind for step in ordinance.path()] == ["public_comment", "publication"]
    assert ordinance.step("vote") is None
    assert ordinance.decision_step.kind == "publication"
    assert [(r.category, r.rule) for r in ordinance.rules.all()] == [
        (EVERY_OTHER_CATEGORY, "disclosure_only")
    ]
    assert ordinance.vote_summary == "44-6"
    assert not ordinance.deadline("policy_before_use").verified


@pytest.mark.django_db
def test_new_york_comment_period_opened_on_10_january_closes_45_days_later():
    ordinance = load("new-york")

    # 21 days to the end of January, 24 more into February.
    assert deadlines.due_on(ordinance, "comment_period", D(2026, 1, 10)) == D(2026, 2, 24)
    assert deadlines.due_on(ordinance, "policy_before_use", D(2026, 1, 10)) == D(2026, 4, 10)


@pytest.mark.django_db
def test_loading_boston_creates_the_ban_with_its_unverified_evidence_exception():
    ordinance = load("boston")

    assert sorted((r.category, r.rule) for r in ordinance.rules.all()) == [
        (EVERY_OTHER_CATEGORY, "approval_required"),
        ("facial_recognition", "prohibited"),
    ]
    exception = ordinance.exceptions.get()
    assert (exception.slug, exception.verified) == ("evidence-of-a-specific-crime", False)
    assert "unverified" in exception.verification_note
    assert ordinance.step("vote").body == "Boston City Council"


@pytest.mark.django_db
def test_boston_annual_report_has_no_due_date_because_the_reference_gives_none():
    ordinance = load("boston")

    assert not ordinance.deadlines.exists()
    assert deadlines.due_on(ordinance, "annual_report", D(2026, 1, 1)) is None
    assert "annual report" in ordinance.unverified_note.lower()


@pytest.mark.parametrize("name", LAW_FILES)
def test_every_unverified_step_and_deadline_says_in_its_note_what_is_unverified(name):
    data = law(name)
    for item in [*data["steps"], *data["deadlines"]]:
        if not item["verified"]:
            assert "unverified" in item["note"].lower(), item
    assert data["ordinance"]["unverified_note"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", LAW_FILES)
def test_dumping_a_loaded_law_gives_back_its_file_byte_for_byte(name):
    ordinance = load(name)

    out, _ = run("dump_process", ordinance.slug)

    assert out == (LAWS / f"{name}.json").read_text(encoding="utf-8")


@pytest.mark.django_db
def test_the_six_law_files_load_together_in_one_command():
    out, err = run("load_process", *(str(LAWS / f"{name}.json") for name in LAW_FILES))

    assert err == ""
    assert out.count(": created") == 6
    assert Ordinance.objects.count() == 6
    assert OrdinanceChange.objects.count() == 6


# ---------------------------------------------------------------------------
# Loading: idempotence, round trips, deletions, the change history
# ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_loading_the_same_file_twice_writes_nothing_the_second_time():
    process.load(law("oakland"))
    before = process.snapshot(Ordinance.objects.get())

    with CaptureQueriesContext(connection) as queries:
        ordinance, created, changes = process.load(law("oakland"))

    writes = [q["sql"] for q in queries if q["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]
    assert (created, changes, writes) == (False, [], [])
    assert process.snapshot(ordinance) == before
    assert OrdinanceChange.objects.count() == 1


@pytest.mark.django_db
def test_an_ordinance_entered_by_hand_dumps_to_a_file_that_loads_back_unchanged(tmp_path):
    ordinance = Ordinance.objects.create(
        file_number="TEST-1",
        slug="test-1",
        title="Test ordinance",
        jurisdiction="Testville",
        status=Ordinance.Status.ADOPTED,
        adopted_on=D(2024, 2, 29),
        votes_yes=5,
        votes_no=2,
        summary="Résumé for residents: “quoted”.",
    )
    ordinance.rules.create(category=Category.DRONES, rule=CategoryRule.Rule.PROHIBITED)
    ordinance.exceptions.create(slug="search", title="Search and rescue", category=Category.DRONES)
    ordinance.steps.create(kind=ProcessStep.Kind.HEARING)
    ordinance.steps.create(kind=ProcessStep.Kind.VOTE, body="Council", seats=7, majority="majority_of_seats")
    ordinance.deadlines.create(
        kind=Deadline.Kind.APPROVAL_TERM, amount=2, unit="months", counted_from="decision"
    )
    ordinance.sources.add(Source.objects.create(url="https://example.org/a", title="A", publisher="P"))
    before = process.snapshot(ordinance)
    path = tmp_path / "test-1.json"

    run("dump_process", "test-1", "-o", str(path))
    loaded, created, changes = process.load(json.loads(path.read_text(encoding="utf-8")))

    assert (loaded.pk, created, changes) == (ordinance.pk, False, [])
    assert process.snapshot(loaded) == before
    assert "“quoted”" in path.read_text(encoding="utf-8")


@pytest.mark.django_db
def test_creating_an_ordinance_from_a_file_writes_one_change_naming_the_actor():
    ordinance, created, changes = process.load(law("seattle"), actor_name="clerk", actor_role="clerk")

    change = OrdinanceChange.objects.get()
    assert created
    assert (change.ordinance, change.actor_name, change.actor_role, change.via) == (
        ordinance,
        "clerk",
        "clerk",
        "file",
    )
    assert change.changes == changes
    assert {
        "path": "deadlines.quarterly_report",
        "old": None,
        "new": law("seattle")["deadlines"][0],
    } in changes


@pytest.mark.django_db
def test_changing_one_deadline_writes_one_change_with_its_path_and_old_and_new_values():
    process.load(law("oakland"))
    data = law("oakland")
    data["deadlines"][index_of(data["deadlines"], "kind", "hearing_notice")]["amount"] = 20

    ordinance, created, changes = process.load(data, actor_name="clerk", actor_role="clerk")

    expected = [{"path": "deadlines.hearing_notice.amount", "old": 15, "new": 20}]
    assert (created, changes) == (False, expected)
    latest = OrdinanceChange.objects.filter(ordinance=ordinance).order_by("-pk").first()
    assert OrdinanceChange.objects.count() == 2
    assert latest.changes == expected
    assert ordinance.deadlines.get(kind="hearing_notice").amount == 20


@pytest.mark.django_db
def test_rows_the_file_no_longer_lists_are_deleted():
    process.load(law("oakland"))
    data = law("oakland")
    data["deadlines"] = [d for d in data["deadlines"] if d["kind"] != "advisory_silence"]
    data["steps"] = [s for s in data["steps"] if s["kind"] != "hearing"]

    ordinance, _, changes = process.load(data)

    assert not ordinance.deadlines.filter(kind="advisory_silence").exists()
    assert not ordinance.steps.filter(kind="hearing").exists()
    assert [(c["path"], c["new"]) for c in changes] == [
        ("steps.hearing", None),
        ("deadlines.advisory_silence", None),
    ]


@pytest.mark.django_db
def test_a_source_the_file_drops_is_unlinked_but_kept_for_other_records():
    process.load(law("minneapolis"))
    data = law("minneapolis")
    dropped = data["sources"].pop(0)

    ordinance, _, changes = process.load(data)

    assert ordinance.sources.count() == 2
    assert Source.objects.filter(url=dropped["url"]).exists()
    assert changes == [{"path": f"sources.{dropped['url']}", "old": dropped, "new": None}]


@pytest.mark.django_db
def test_load_process_refuses_to_remove_an_exception_a_request_relies_on_naming_it(
    agency_a, liaison_a, face_recognition
):
    ordinance = load("minneapolis")
    exception = ordinance.exceptions.get(slug="secure-building-access")
    request = workflow.create_draft(
        by=liaison_a,
        kind="exception",
        agency=agency_a,
        technology=face_recognition,
        ordinance=ordinance,
        exception=exception,
        title="Door readers",
        purpose="Let staff into the operations building.",
    )
    data = law("minneapolis")
    data["exceptions"] = [e for e in data["exceptions"] if e["slug"] != "secure-building-access"]
    before = process.snapshot(ordinance)

    messages = refused(data)

    assert len(messages) == 1
    assert "'secure-building-access'" in messages[0] and request.reference in messages[0]
    assert messages[0].startswith("exceptions:")
    assert process.snapshot(ordinance) == before


@pytest.mark.django_db
def test_load_process_refuses_a_slug_another_ordinance_already_has():
    load("seattle")
    data = law("oakland")
    data["ordinance"]["slug"] = "seattle-125376"

    messages = refused(data)

    assert messages == ["ordinance.slug: 'seattle-125376' is already the slug of ordinance Ordinance 125376"]
    assert not Ordinance.objects.filter(file_number="OMC 9.64").exists()


@pytest.mark.django_db
def test_keys_a_file_leaves_out_get_the_model_defaults():
    data = {
        "format_version": 1,
        "ordinance": {
            "file_number": "MIN-1",
            "slug": "min-1",
            "title": "Minimal",
            "jurisdiction": "Testville",
            "status": "adopted",
            "summary": "The least a file can say.",
        },
        "rules": [{"category": "drones", "rule": "approval_required"}],
        "steps": [{"kind": "publication"}],
        "deadlines": [{"kind": "comment_period", "amount": 30, "counted_from": "comment_opening"}],
    }

    ordinance, _, _ = process.load(data)

    snapshot = process.snapshot(ordinance)
    assert snapshot == process.normalize(data)
    assert snapshot["ordinance"]["votes"] is None and snapshot["ordinance"]["is_demo"] is False
    assert snapshot["deadlines"][0]["unit"] == "days" and snapshot["deadlines"][0]["verified"] is False
    assert snapshot["sources"] == [] and snapshot["exceptions"] == []


# ---------------------------------------------------------------------------
# Refusals: the field is named and nothing is written
# ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_load_process_refuses_a_deadline_with_an_unknown_anchor_naming_the_field():
    data = law("oakland")
    index = index_of(data["deadlines"], "kind", "hearing_notice")
    data["deadlines"][index]["counted_from"] = "weekly"

    messages = refused(data)

    assert len(messages) == 1
    assert messages[0].startswith(f"deadlines[{index}].counted_from: 'weekly' is not one of [")
    assert nothing_written()


@pytest.mark.django_db
def test_load_process_refuses_a_file_missing_a_required_key_naming_it():
    data = law("seattle")
    del data["ordinance"]["summary"]

    assert refused(data) == ["ordinance.summary: required field is missing"]
    assert nothing_written()


def test_validate_lists_every_schema_error_in_file_order():
    data = law("oakland")
    del data["ordinance"]["summary"]
    data["ordinance"]["status"] = "gone"
    data["deadlines"][0]["unit"] = "weeks"
    data["rules"][0]["rule"] = "maybe"

    paths = [message.split(": ")[0] for message in process.validate(data)]

    assert paths == ["ordinance.status", "ordinance.summary", "rules[0].rule", "deadlines[0].unit"]


@pytest.mark.django_db
def test_load_process_refuses_an_unknown_field_naming_it():
    data = law("seattle")
    data["steps"][0]["chair"] = "Someone"

    assert refused(data) == ["steps[0].chair: unknown field"]
    assert nothing_written()


@pytest.mark.django_db
def test_load_process_refuses_a_vote_without_seats_naming_the_field():
    data = law("seattle")
    index = index_of(data["steps"], "kind", "vote")
    data["steps"][index]["seats"] = None

    assert refused(data) == [f"steps[{index}].seats: Enter how many seats the deciding body has."]
    assert nothing_written()


@pytest.mark.django_db
def test_load_process_refuses_a_file_with_two_decision_kinds():
    data = law("seattle")
    data["steps"].append({"kind": "publication"})

    messages = refused(data)

    assert len(messages) == 1
    assert messages[0].startswith("steps: needs exactly one decision step")
    assert "steps[2] 'vote', steps[3] 'publication'" in messages[0]
    assert nothing_written()


@pytest.mark.django_db
def test_load_process_refuses_a_file_with_no_decision_step():
    data = law("new-york")
    data["steps"] = [s for s in data["steps"] if s["kind"] != "publication"]

    assert refused(data) == [
        "steps: needs exactly one decision step, a 'vote' or a 'publication'; there is none"
    ]
    assert nothing_written()


@pytest.mark.django_db
def test_load_process_refuses_an_exception_for_a_category_the_ordinance_does_not_prohibit():
    data = law("minneapolis")
    data["exceptions"][1]["category"] = "drones"

    messages = refused(data)

    assert len(messages) == 1
    assert messages[0].startswith("exceptions[1].category: 'drones' is not prohibited by this ordinance")
    assert nothing_written()


def test_an_exception_for_any_category_is_accepted_under_a_prohibition_of_every_other_category():
    data = law("seattle")
    data["rules"] = [{"category": "every_other", "rule": "prohibited", "note": ""}]
    data["exceptions"] = [{"slug": "drills", "title": "Training drills", "category": "drones"}]

    assert process.validate(data) == []


def test_load_process_refuses_an_exception_to_an_approval_rule():
    data = law("seattle")
    data["exceptions"] = [{"slug": "drills", "title": "Training drills", "category": "drones"}]

    assert process.validate(data) == [
        "exceptions[0].category: the ordinance prohibits nothing, so there is nothing to except from"
    ]


@pytest.mark.django_db
def test_load_process_refuses_a_fixed_day_deadline_on_31_february_naming_the_day():
    data = law("oakland")
    index = index_of(data["deadlines"], "kind", "annual_report")
    data["deadlines"][index].update(month=2, day=31)

    assert refused(data) == [f"deadlines[{index}].day: Enter a day that exists in that month."]
    assert nothing_written()


@pytest.mark.django_db
def test_load_process_refuses_the_same_deadline_kind_twice_naming_both_places():
    data = law("new-york")
    data["deadlines"].append(copy.deepcopy(data["deadlines"][0]))

    assert refused(data) == [
        "deadlines[2].kind: 'comment_period' appears more than once (first at deadlines[0])"
    ]
    assert nothing_written()


@pytest.mark.django_db
def test_load_process_refuses_an_impossible_date_naming_the_field():
    data = law("minneapolis")
    data["sources"][2]["published_on"] = "2021-02-30"

    assert refused(data) == ["sources[2].published_on: '2021-02-30' is not a 'date'"]
    assert nothing_written()


@pytest.mark.django_db
def test_a_refused_update_leaves_the_existing_ordinance_as_it_was():
    ordinance = load("oakland")
    before = process.snapshot(ordinance)
    data = law("oakland")
    data["ordinance"]["title"] = "Renamed"
    data["steps"][index_of(data["steps"], "kind", "vote")]["majority"] = ""

    messages = refused(data)

    assert messages == ["steps[2].majority: Choose the majority an approval needs."]
    assert process.snapshot(ordinance) == before
    assert OrdinanceChange.objects.count() == 1


# ---------------------------------------------------------------------------
# diff and record_change
# ---------------------------------------------------------------------------


def test_diff_of_identical_snapshots_is_empty():
    assert process.diff(law("oakland"), law("oakland")) == []


def test_diff_names_an_added_item_by_its_natural_key_with_old_none():
    old, new = law("new-york"), law("new-york")
    rule = {"category": "facial_recognition", "rule": "prohibited", "note": ""}
    new["rules"].insert(0, rule)

    assert process.diff(old, new) == [{"path": "rules.facial_recognition", "old": None, "new": rule}]


def test_diff_lists_ordinance_fields_and_votes_by_path_with_stored_values():
    old, new = law("san-francisco"), law("san-francisco")
    new["ordinance"]["status"] = "in_effect"
    new["ordinance"]["votes"] = None

    assert process.diff(old, new) == [
        {"path": "ordinance.status", "old": "adopted", "new": "in_effect"},
        {"path": "ordinance.votes.yes", "old": 8, "new": None},
        {"path": "ordinance.votes.no", "old": 1, "new": None},
    ]


@pytest.mark.django_db
def test_record_change_writes_nothing_when_nothing_changed():
    ordinance = load("boston")
    before = process.snapshot(ordinance)

    assert (
        process.record_change(ordinance, before, actor_name="clerk", actor_role="clerk", via="admin") is None
    )
    assert OrdinanceChange.objects.count() == 1


@pytest.mark.django_db
def test_record_change_keeps_a_clerks_edit_made_outside_a_file():
    ordinance = load("boston")
    before = process.snapshot(ordinance)
    ordinance.steps.filter(kind="vote").update(seats=14)

    change = process.record_change(ordinance, before, actor_name="clerk", actor_role="clerk", via="admin")

    assert change is not None
    assert (change.via, change.changes) == ("admin", [{"path": "steps.vote.seats", "old": 13, "new": 14}])


# ---------------------------------------------------------------------------
# The commands
# ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_load_process_reports_created_then_updated_then_unchanged(tmp_path):
    path = str(LAWS / "oakland.json")
    assert run("load_process", path) == (f"{path} (OMC 9.64): created\n", "")

    data = law("oakland")
    data["ordinance"]["title"] = "Surveillance technology ordinance"
    data["deadlines"][0]["note"] = "Changed."
    changed = write(tmp_path, "oakland.json", data)
    assert run("load_process", changed) == (f"{changed} (OMC 9.64): updated (2 changes)\n", "")

    assert run("load_process", changed) == (f"{changed} (OMC 9.64): unchanged\n", "")


@pytest.mark.django_db
def test_load_process_refuses_bad_json_with_its_line_and_writes_nothing(tmp_path):
    bad = write(tmp_path, "bad.json", '{\n  "format_version": 1,\n  "ordinance": {,\n}')
    err = StringIO()

    with pytest.raises(CommandError, match="nothing was loaded"):
        call_command("load_process", bad, stdout=StringIO(), stderr=err)

    assert err.getvalue().startswith(f"{bad}: invalid JSON at line 3, column 17:")
    assert nothing_written()


@pytest.mark.django_db
def test_load_process_prints_every_error_of_every_file_and_loads_none_of_them(tmp_path):
    data = law("oakland")
    data["steps"][0]["kind"] = "seance"
    del data["ordinance"]["status"]
    bad = write(tmp_path, "oakland.json", data)
    good = str(LAWS / "seattle.json")
    err = StringIO()

    with pytest.raises(CommandError, match="2 error"):
        call_command("load_process", good, bad, stdout=StringIO(), stderr=err)

    lines = err.getvalue().splitlines()
    assert lines[0] == f"{bad}: ordinance.status: required field is missing"
    assert lines[1].startswith(f"{bad}: steps[0].kind: 'seance' is not one of [")
    assert nothing_written()


@pytest.mark.django_db
def test_load_process_writes_nothing_when_a_later_file_is_refused_by_the_database(tmp_path):
    clash = law("oakland")
    clash["ordinance"]["slug"] = "seattle-125376"
    bad = write(tmp_path, "clash.json", clash)
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("load_process", str(LAWS / "seattle.json"), bad, stdout=StringIO(), stderr=err)

    assert (
        err.getvalue()
        == f"{bad}: ordinance.slug: 'seattle-125376' is already the slug of ordinance Ordinance 125376\n"
    )
    assert nothing_written()


@pytest.mark.django_db
def test_load_process_refuses_a_file_it_cannot_read(tmp_path):
    missing = str(tmp_path / "missing.json")
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("load_process", missing, stdout=StringIO(), stderr=err)

    assert err.getvalue().startswith(f"{missing}: cannot read the file:")


@pytest.mark.django_db
def test_dump_process_writes_pretty_json_with_a_trailing_newline_to_a_file(tmp_path):
    load("san-francisco")
    path = tmp_path / "out.json"

    out, _ = run("dump_process", "san-francisco-107-19", "-o", str(path))

    text = path.read_text(encoding="utf-8")
    assert out == ""
    assert text.endswith("}\n") and text.startswith('{\n  "format_version": 1,\n  "ordinance": {\n')
    assert json.loads(text) == law("san-francisco")


@pytest.mark.django_db
def test_dump_process_keeps_non_ascii_text_as_is():
    load("boston")

    out, _ = run("dump_process", "boston-16-62-16-63")

    assert '"file_number": "§16-62 / §16-63"' in out


@pytest.mark.django_db
def test_dump_process_refuses_an_unknown_slug():
    with pytest.raises(CommandError, match="No ordinance has the slug 'no-such-law'"):
        call_command("dump_process", "no-such-law", stdout=StringIO())


@pytest.mark.django_db
def test_load_process_refuses_an_amount_on_a_fixed_day_deadline():
    data = law("oakland")
    index = index_of(data["deadlines"], "kind", "annual_report")
    data["deadlines"][index]["amount"] = 30

    assert refused(data) == [
        f"deadlines[{index}].amount: A fixed day each year has no amount; leave it blank."
    ]
    assert nothing_written()


def test_a_fixed_day_on_29_february_is_accepted_and_falls_on_the_28th_in_other_years():
    data = law("oakland")
    index = index_of(data["deadlines"], "kind", "annual_report")
    data["deadlines"][index].update(month=2, day=29)

    assert process.validate(data) == []
    row = Deadline(kind="annual_report", counted_from="fixed_day", month=2, day=29)
    assert deadlines.row_due_on(row, D(2027, 1, 10)) == D(2027, 2, 28)
    assert deadlines.row_due_on(row, D(2028, 1, 10)) == D(2028, 2, 29)
