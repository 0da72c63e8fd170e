"""
Helpers for the page layout on the U.S. Web Design System: form controls with USWDS classes,
the window of page numbers for `usa-pagination`, and the language switcher's target.
"""

from __future__ import annotations

from collections.abc import Iterator

from django import forms, template
from django.conf import settings
from django.core.paginator import Page
from django.urls import translate_url
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()


@register.filter
def uswds_control(field: forms.BoundField) -> SafeString:
    """
    A form field's widget with the USWDS control class, its error state, and the error
    message (rendered by the template as `<id>-error`) named in `aria-describedby`.
    """
    widget = field.field.widget
    control = "usa-select" if isinstance(widget, forms.Select) else "usa-input"
    classes = [control]
    attrs: dict[str, str | bool] = {}
    if field.errors:
        classes.append(f"{control}--error")
        attrs["aria-describedby"] = f"{field.id_for_label}-error"
    attrs["class"] = " ".join(classes)
    return field.as_widget(attrs=attrs)


@register.filter
def page_window(page: Page) -> Iterator[int | str]:
    """
    The page numbers `usa-pagination` shows: first, last, and one each side of the current
    page, with `Paginator.ELLIPSIS` for the gaps. At most seven slots, so it fits at 320 px.
    """
    return page.paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1)


@register.simple_tag(takes_context=True)
def path_in_default_language(context: template.Context) -> str:
    """
    The current page's address (query string kept) without a language prefix, for the
    language switcher's `next`: Django's `set_language` resolves it in the default
    language and redirects to the same page in the language chosen. A path that resolves
    to nothing (a 404) only loses its prefix.
    """
    request = context["request"]
    full_path = request.get_full_path()
    translated = translate_url(full_path, settings.LANGUAGE_CODE)
    language = get_language()
    prefix = f"/{language}/"
    if translated == full_path and language != settings.LANGUAGE_CODE and full_path.startswith(prefix):
        return full_path[len(prefix) - 1 :]
    return translated


@register.filter
def aria_current(path: str, url: str) -> str:
    """
    `aria-current` for a navigation link to `url` seen from `path`: "page" on the page
    itself, "true" anywhere inside its section (a detail page under its list), else "".
    """
    if path == url:
        return "page"
    if url != "/" and path.startswith(url):
        return "true"
    return ""
