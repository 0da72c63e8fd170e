"""Template helpers for the review workspace (the admin)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from ordinances import dashboard, roles

register = template.Library()


@register.simple_tag(takes_context=True)
def needs_action(context: template.Context) -> list[dashboard.Item] | None:
    """
    What the signed-in person should act on (`ordinances.dashboard.needs_action`), or None
    for someone who has no such list (a clerk, someone with no role).
    """
    request: Any = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not (roles.is_staff_reviewer(user) or roles.liaison_agency_ids(user)):
        return None
    now = timezone.now()
    return dashboard.needs_action(user, timezone.localdate(now), now)


@register.filter
def overdue_count(items: list[dashboard.Item]) -> int:
    return sum(item.overdue for item in items)
