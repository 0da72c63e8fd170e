"""
The public comment form, and its spam protection that needs no third party:

- a honeypot: a field people never see (hidden from sight and from screen readers) that
  form-filling robots fill in;
- a timing check: the form carries a signed moment (`django.core.signing`) from when the
  page was made; a comment sent under `MIN_SECONDS` after it, more than `MAX_AGE` after
  it, or with a bad signature is refused.

The rate limit per address needs the database and lives in `ordinances.participation`,
with the rest of the rules; this form only reads what was typed.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ordinances.models import Comment
from ordinances.participation import BODY_MAX, NAME_MAX
from ordinances.workflow import TransitionRefused

SALT = "ordinances.comment-form"
MIN_SECONDS = 3
MAX_AGE = datetime.timedelta(days=1)
HONEYPOT = "website"

TOO_FAST = _("That was very quick. Please read your comment over, then send it again.")
EXPIRED = _("This form has expired. Your comment is kept below: please send it again.")
REFUSED = _("This comment could not be accepted.")


def issue_token(reference: str, now: datetime.datetime | None = None) -> str:
    """The signed moment a comment form for the request `reference` was made."""
    moment = now or timezone.now()
    return signing.dumps({"r": reference, "t": moment.timestamp()}, salt=SALT)


def token_age(token: str, reference: str, now: datetime.datetime) -> datetime.timedelta | None:
    """How long ago `token` was issued for `reference`; None when it is not one we signed for it."""
    try:
        value = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if (
        not isinstance(value, dict)
        or value.get("r") != reference
        or not isinstance(value.get("t"), float | int)
    ):
        return None
    return now - datetime.datetime.fromtimestamp(value["t"], tz=datetime.UTC)


class CommentForm(forms.Form):
    name = forms.CharField(
        label=_("Your name (optional)"),
        max_length=NAME_MAX,
        required=False,
        help_text=_("Shown with your comment. Leave it blank to comment anonymously."),
    )
    email = forms.EmailField(
        label=_("Your email address (optional)"),
        required=False,
        help_text=_("Never published: only council staff see it, to reach you about your comment."),
        error_messages={"invalid": _("Enter an email address such as name@example.org, or leave it blank.")},
    )
    position = forms.ChoiceField(
        label=_("Your position (optional)"),
        choices=Comment.Position.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    body = forms.CharField(
        label=_("Your comment"),
        max_length=BODY_MAX,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_("At most 5,000 characters."),
        error_messages={"required": _("Write your comment.")},
    )
    # The honeypot: hidden from people, filled in by robots. Its name invites them.
    website = forms.CharField(label=_("Leave this field empty"), required=False)
    issued = forms.CharField(widget=forms.HiddenInput, required=False)

    VISIBLE = ("name", "email", "position", "body")

    def __init__(
        self, *args: Any, reference: str, now: datetime.datetime | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.reference = reference
        self.now = now or timezone.now()
        self.fields["issued"].initial = issue_token(reference, self.now)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get(HONEYPOT):
            raise ValidationError(REFUSED, code="honeypot")
        age = token_age(cleaned.get("issued") or "", self.reference, self.now)
        if age is None or age > MAX_AGE:
            # A fresh moment, so the comment kept on the page can be sent again.
            self.data = {**self.data, "issued": issue_token(self.reference, self.now)}
            raise ValidationError(EXPIRED, code="expired")
        if age < datetime.timedelta(seconds=MIN_SECONDS):
            raise ValidationError(TOO_FAST, code="too_fast")
        return cleaned

    def comment_values(self) -> dict[str, str]:
        """What the resident typed, as keyword arguments for `participation.submit_comment`."""
        return {name: self.cleaned_data.get(name) or "" for name in self.VISIBLE}

    def add_refusal(self, exc: ValidationError | TransitionRefused) -> None:
        """Put a refusal from `ordinances.participation` on the form: on its field, or on top."""
        if isinstance(exc, TransitionRefused):
            self.add_error(None, exc.message)
            return
        if hasattr(exc, "error_dict"):
            for name, errors in exc.message_dict.items():
                self.add_error(name if name in self.VISIBLE else None, errors)
        else:
            self.add_error(None, exc.messages)

    @property
    def visible_fields_in_order(self) -> list[forms.BoundField]:
        return [self[name] for name in self.VISIBLE]
