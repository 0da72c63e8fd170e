"""Open Civic Data ids: well-formed, the same every time, and named in each page's <head>."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ImproperlyConfigured

from ordinances import ocd
from ordinances.models import Ordinance
from portal.settings import ocd_type_id

MINNEAPOLIS = "ocd-division/country:us/state:mn/place:minneapolis"
ORGANIZATION = ocd.uuid_id_regex("organization")
BILL = ocd.uuid_id_regex("bill")
VOTE = ocd.uuid_id_regex("vote")


def meta(html: str, name: str) -> list[str]:
    return re.findall(rf'<meta name="{re.escape(name)}" content="([^"]*)">', html)


def test_the_default_division_is_minneapolis_s_published_id():
    assert ocd.division_id() == MINNEAPOLIS


def test_a_place_name_becomes_a_type_id_as_ocdep_2_says():
    assert ocd_type_id("St. Paul") == "st._paul"
    assert ocd_type_id("Coeur d'Alene") == "coeur_d~alene"
    assert ocd_type_id("  New   York ") == "new_york"


def test_a_malformed_division_setting_is_refused(settings):
    settings.PORTAL_OCD_DIVISION = "ocd-division/us/minneapolis"
    with pytest.raises(ImproperlyConfigured, match="PORTAL_OCD_DIVISION"):
        ocd.division_id()


def test_an_organization_id_is_well_formed_and_the_same_for_the_same_body():
    council = ocd.organization_id("City Council")
    assert ORGANIZATION.match(council)
    assert ocd.organization_id("  city   COUNCIL ") == council
    assert ocd.organization_id("Privacy Advisory Commission") != council


def test_a_bill_id_is_well_formed_and_follows_the_file_number():
    bill = ocd.bill_id(Ordinance(file_number="2020-00681"))
    assert BILL.match(bill)
    assert ocd.bill_id(Ordinance(file_number="2020-00681", title="Another title")) == bill
    assert ocd.bill_id(Ordinance(file_number="2021-00001")) != bill


def test_ids_belong_to_the_city_s_division(settings):
    minneapolis = ocd.bill_id(Ordinance(file_number="2020-00681"))
    settings.PORTAL_OCD_DIVISION = "ocd-division/country:us/state:wa/place:seattle"
    assert ocd.bill_id(Ordinance(file_number="2020-00681")) != minneapolis


def test_a_decision_with_a_vote_has_a_well_formed_vote_id(make_request):
    decision = make_request("approved").decision
    vote = ocd.vote_id(decision)
    assert vote is not None
    assert VOTE.match(vote)
    assert ocd.vote_id(type(decision).objects.get(pk=decision.pk)) == vote


def test_a_decision_without_a_vote_has_no_vote_id(make_request):
    decision = make_request("approved").decision
    decision.votes_yes = decision.votes_no = None
    assert ocd.vote_id(decision) is None


@pytest.mark.django_db
def test_every_page_names_the_city_s_division(client):
    html = client.get("/").content.decode()
    assert meta(html, "ocd-division") == [MINNEAPOLIS]
    assert meta(html, "ocd-id") == []


def test_an_ordinance_page_names_its_bill_id(client, ordinance):
    html = client.get(ordinance.get_absolute_url()).content.decode()
    assert meta(html, "ocd-id") == [ocd.bill_id(ordinance)]


def test_a_request_decided_by_vote_names_the_vote_in_every_language(client, make_request):
    req = make_request("approved")
    for url in (req.get_absolute_url(), f"/es{req.get_absolute_url()}"):
        html = client.get(url).content.decode()
        assert meta(html, "ocd-id") == [ocd.vote_id(req.decision)]


def test_a_request_awaiting_its_decision_names_no_record_id(client, make_request):
    html = client.get(make_request("in_review").get_absolute_url()).content.decode()
    assert meta(html, "ocd-division") == [MINNEAPOLIS]
    assert meta(html, "ocd-id") == []
