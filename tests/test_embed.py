"""Status widgets: any site may frame them, they show the live status, and only of public records."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import http_date
from model_bakery import baker

from ordinances import workflow
from ordinances.models import TechnologyUse

pytestmark = pytest.mark.django_db


def technology_widget(slug: str) -> str:
    return reverse("ordinances:embed_technology", kwargs={"slug": slug})


def request_widget(reference: str) -> str:
    return reverse("ordinances:embed_request", kwargs={"reference": reference})


def csp_directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return dict((part.strip() + " ").split(" ", 1) for part in policy.split(";"))


def assert_frameable(response) -> None:
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    directives = csp_directives(response)
    assert directives["frame-ancestors"].strip() == "*"
    # Framable, but as strict as every other page about what it runs.
    assert directives["script-src"].strip() == "'self'"


def test_the_technology_widget_may_be_framed_by_any_site(client, drone, ordinance):
    assert_frameable(client.get(technology_widget(drone.slug)))


def test_the_request_widget_may_be_framed_by_any_site(client, make_request):
    req = make_request("submitted")
    assert_frameable(client.get(request_widget(req.reference)))


def test_every_other_page_still_refuses_to_be_framed(client, make_request, drone):
    req = make_request("submitted")
    for url in (drone.get_absolute_url(), req.get_absolute_url(), reverse("ordinances:home")):
        response = client.get(url)
        assert response["X-Frame-Options"] == "DENY", url
        assert csp_directives(response)["frame-ancestors"].strip() == "'none'", url


def test_a_304_for_a_widget_may_be_framed_too(client, make_request):
    req = make_request("submitted")
    url = request_widget(req.reference)
    response = client.get(url, headers={"If-Modified-Since": http_date(timezone.now().timestamp() + 60)})
    assert response.status_code == 304
    assert "X-Frame-Options" not in response
    assert csp_directives(response)["frame-ancestors"].strip() == "*"


def test_a_draft_has_no_widget(client, make_request):
    draft = make_request("draft")
    assert client.get(request_widget(draft.reference)).status_code == 404


def test_its_liaison_gets_no_widget_of_a_draft_either(client, make_request, liaison_a):
    draft = make_request("draft")
    client.force_login(liaison_a)
    assert client.get(request_widget(draft.reference)).status_code == 404


def test_an_unknown_technology_has_no_widget(client, db):
    assert client.get(technology_widget("no-such-thing")).status_code == 404


def test_the_technology_widget_shows_the_rule_in_force_and_each_agencys_status(
    client, face_recognition, ordinance, agency_a
):
    baker.make(TechnologyUse, agency=agency_a, technology=face_recognition)
    page = client.get(technology_widget(face_recognition.slug)).content.decode()
    assert "<strong>Prohibited</strong> under TEST-0001" in page
    assert "Agency A Police" in page
    assert 'class="status status--bad">Prohibited</span>' in page


def test_the_request_widget_shows_its_status_and_next_date(client, make_request, staff):
    req = make_request("in_review")
    workflow.perform("open_comment_period", req, by=staff)
    page = client.get(request_widget(req.reference)).content.decode()
    assert 'class="usa-tag status status--pending">Public comment</span>' in page
    assert "Public comment closes" in page
    assert f'<time datetime="{req.comment_period_ends_on.isoformat()}">' in page


def test_the_widget_opens_the_full_record_in_a_new_tab(client, make_request):
    req = make_request("submitted")
    page = client.get(request_widget(req.reference)).content.decode()
    assert f'href="{req.get_absolute_url()}" target="_blank" rel="noopener"' in page


def test_the_widget_uses_no_script_and_its_own_styles(client, drone, ordinance):
    page = client.get(technology_widget(drone.slug)).content.decode()
    assert "<script" not in page
    assert "style=" not in page
    assert "/static/css/embed.css" in page


def test_the_widget_speaks_the_language_of_its_address(client, make_request):
    req = make_request("public_comment")
    with translation.override("es"):
        url = request_widget(req.reference)
        record_url = req.get_absolute_url()
    assert url.startswith("/es/embed/")
    page = client.get(url).content.decode()
    assert '<html lang="es">' in page
    assert f'href="{record_url}"' in page


def test_the_technology_page_offers_the_code_to_embed_its_widget(client, drone, ordinance):
    page = client.get(drone.get_absolute_url()).content.decode()
    code = html.unescape(page.split('id="embed-code"')[1].split(">", 1)[1].split("</textarea>")[0])
    assert code.startswith(
        f'<iframe src="http://testserver{technology_widget(drone.slug)}" title="Status of '
    )
    assert 'width="400" height="320"' in code
    assert "<details" in page and "readonly" in page.split('id="embed-code"')[1].split(">")[0]


def test_the_request_page_offers_the_code_to_embed_its_widget(client, make_request):
    req = make_request("submitted")
    page = client.get(req.get_absolute_url()).content.decode()
    code = html.unescape(page.split('id="embed-code"')[1].split(">", 1)[1].split("</textarea>")[0])
    assert f'src="http://testserver{request_widget(req.reference)}"' in code
    assert f'title="Status of request {req.reference} on the ' in code


def test_a_draft_page_offers_no_code_to_embed(client, make_request, liaison_a):
    draft = make_request("draft")
    client.force_login(liaison_a)
    page = client.get(draft.get_absolute_url()).content.decode()
    assert "embed-code" not in page
