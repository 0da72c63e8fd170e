"""
The "Get email alerts" form: an email address, what to follow (a topic and its target, sent
as hidden fields by the page the form sits on) and a honeypot field. The rules of a
subscription live in `ordinances.alerts`; this form only reads what was posted and finds the
record it names.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ordinances import alerts
from ordinances.models import Agency, Request, Subscription, Technology

Topic = Subscription.Topic


def resolve(topic: str, target: str) -> dict[str, Any] | None:
    """
    What `target` names for `topic`, as `alerts.subscribe`'s keyword arguments, or None when
    it names nothing the public may follow (an unknown slug, a draft, a list with no filter).
    """
    if "\x00" in target:
        # Nothing holds a NUL, and PostgreSQL refuses one in a query (a DataError, so a 500).
        return None
    if topic == Topic.REQUEST:
        request = Request.objects.public().filter(reference=target).first()
        return {"request": request} if request else None
    if topic == Topic.AGENCY:
        agency = Agency.objects.filter(slug=target).first()
        return {"agency": agency} if agency else None
    if topic == Topic.TECHNOLOGY:
        technology = Technology.objects.filter(slug=target).first()
        return {"technology": technology} if technology else None
    if topic == Topic.SEARCH:
        query = alerts.normalise_query(target)
        return None if alerts.search_errors(query) else {"query": query}
    if topic == Topic.DECISIONS:
        return {}
    return None


class AlertForm(forms.Form):
    email = forms.EmailField(label=_("Your email address"), max_length=254)
    topic = forms.ChoiceField(choices=Topic.choices, widget=forms.HiddenInput)
    target = forms.CharField(required=False, max_length=alerts.QUERY_MAX * 2, widget=forms.HiddenInput)
    # Left empty by people, who never see it (display-none); filled by many robots.
    website = forms.CharField(required=False, label=_("Leave this field empty"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "topic" in cleaned:
            follows = resolve(cleaned["topic"], cleaned.get("target", ""))
            if follows is None:
                raise forms.ValidationError(gettext("This page can no longer be followed."))
            cleaned["follows"] = follows
        return cleaned

    @property
    def is_robot(self) -> bool:
        return bool(self.data.get("website"))
