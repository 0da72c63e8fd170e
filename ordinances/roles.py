"""
Who is who. Roles are Django groups; a liaison also needs to be named on the agency.

- Public: anyone, no account.
- Agency liaison: in the "Agency liaisons" group and listed in `Agency.liaisons`.
- Council staff: in the "Council staff" group (superusers count as staff).
- Clerk: in the "Clerks" group; maintains ordinances, agencies, technologies and uses.

`ensure_groups` gives each group its model permissions for the admin; it runs after every
`migrate`, so a new database has the groups without a fixture.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    AnyUser = User | AnonymousUser

    from ordinances.models import Agency

LIAISONS = "Agency liaisons"
STAFF = "Council staff"
CLERKS = "Clerks"


class Role(enum.StrEnum):
    PUBLIC = "public"
    LIAISON = "liaison"
    STAFF = "staff"
    CLERK = "clerk"
    SYSTEM = "system"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


def label_of(code: str) -> str:
    """The words for a role code stored on a record; an unknown code is shown as stored."""
    try:
        return Role(code).label
    except ValueError:
        return code


ROLE_LABELS = {
    Role.PUBLIC: _("Public"),
    Role.LIAISON: _("Agency liaison"),
    Role.STAFF: _("Council staff"),
    Role.CLERK: _("Clerk"),
    Role.SYSTEM: _("The portal, on schedule"),
}


# Model permissions each group gets in the admin. State changes are not model
# permissions: the workflow decides those from the role and the request's state.
GROUP_PERMISSIONS: dict[str, list[str]] = {
    LIAISONS: [
        "add_request",
        "change_request",
        "view_request",
        "add_attachment",
        "change_attachment",
        "view_attachment",
        "view_agency",
        "view_technology",
        "view_ordinance",
        "view_statutoryexception",
        # Oversight (ordinances.oversight): their own agencies' emergency uses and annual reports.
        "add_emergencyuse",
        "change_emergencyuse",
        "view_emergencyuse",
        "add_annualreport",
        "change_annualreport",
        "view_annualreport",
    ],
    STAFF: [
        "view_request",
        "view_attachment",
        "view_decision",
        "view_condition",
        "change_condition",
        "view_event",
        "view_agency",
        "view_technology",
        "view_technologyuse",
        "view_ordinance",
        "view_statutoryexception",
        "view_categoryrule",
        "view_processstep",
        "view_deadline",
        # Oversight (ordinances.oversight): staff keep the violations register, review
        # annual reports and may record an emergency use they learn of another way.
        "add_violation",
        "change_violation",
        "view_violation",
        "view_annualreport",
        "change_annualreport",
        "add_emergencyuse",
        "view_emergencyuse",
        "view_oversightevent",
    ],
    CLERKS: [
        f"{action}_{model}"
        for model in (
            "ordinance",
            "categoryrule",
            "statutoryexception",
            "processstep",
            "deadline",
            "agency",
            "technology",
            "technologyuse",
            "source",
        )
        for action in ("add", "change", "delete", "view")
    ]
    + ["view_request", "view_event", "view_decision", "view_condition", "view_attachment"]
    + ["view_emergencyuse", "view_violation", "view_annualreport", "view_oversightevent"],
}


def ensure_groups(**kwargs: object) -> None:
    for name, codenames in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = Permission.objects.filter(content_type__app_label="ordinances", codename__in=codenames)
        group.permissions.set(perms)


def in_group(user: AnyUser, name: str) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    # Cached on the user object: one query per request, however many checks it makes.
    cache: set[str] | None = getattr(user, "_portal_groups", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._portal_groups = cache  # type: ignore[attr-defined]
    return name in cache


def is_staff_reviewer(user: AnyUser) -> bool:
    return bool(user.is_active and user.is_superuser) or in_group(user, STAFF)


def is_liaison_for(user: AnyUser, agency: Agency) -> bool:
    if not in_group(user, LIAISONS):
        return False
    return agency.liaisons.filter(pk=user.pk or 0).exists()


def liaison_agency_ids(user: AnyUser) -> set[int]:
    if not in_group(user, LIAISONS):
        return set()
    return set(user.liaison_agencies.values_list("pk", flat=True))  # type: ignore[union-attr]


def role_label(user: AnyUser | None) -> str:
    """The role to record on an Event."""
    if user is None:
        return Role.SYSTEM
    if is_staff_reviewer(user):
        return Role.STAFF
    if in_group(user, LIAISONS):
        return Role.LIAISON
    if in_group(user, CLERKS):
        return Role.CLERK
    return Role.PUBLIC
