"""Template helpers for the public pages."""

from __future__ import annotations

import markdown as markdown_lib
import nh3
from django import template
from django.http import QueryDict
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# Markdown may carry HTML; only these tags survive sanitizing.
ALLOWED_TAGS = {
    "p", "br", "em", "strong", "a", "ul", "ol", "li", "blockquote", "code", "pre",
    "h2", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td", "hr",
}  # fmt: skip


@register.filter
def markdown(text: str) -> SafeString:
    """Render clerk-entered markdown as sanitized HTML."""
    html = markdown_lib.markdown(text or "", extensions=["tables"])
    return mark_safe(nh3.clean(html, tags=ALLOWED_TAGS, link_rel="noopener noreferrer nofollow"))


@register.simple_tag(takes_context=True)
def page_url(context: template.Context, number: int) -> str:
    """The current URL's query string with another page number, filters kept."""
    query: QueryDict = context["request"].GET.copy()
    query["page"] = str(number)
    return "?" + query.urlencode()


@register.filter
def status_class(status: str) -> str:
    """A CSS modifier for a request status badge."""
    groups = {
        "approved": "ok",
        "approved_with_conditions": "ok",
        "accepted": "ok",
        "denied": "bad",
        "revoked": "bad",
        "referred": "bad",
        "withdrawn": "muted",
        "expired": "muted",
        "draft": "muted",
    }
    return groups.get(status, "pending")
