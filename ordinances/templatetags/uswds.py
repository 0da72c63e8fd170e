"""
Helpers for the page layout on the U.S. Web Design System: form controls with USWDS classes,
the window of page numbers for `usa-pagination`, the language switcher's target, and the
frame every page shares (`site_chrome`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from django import forms, template
from django.conf import settings
from django.core.paginator import Page
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import URLResolver, get_resolver, get_script_prefix, get_urlconf, reverse, translate_url
from django.urls.resolvers import LocalePrefixPattern
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
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


@register.simple_tag
def filter_fields(form: forms.Form) -> SafeString:
    """
    Each field of a list's filter form (partials/filter_form.html) in its USWDS form group:
    label, error message, control (`uswds_control`). Built here rather than by a template
    loop, as the form is on every list page.
    """
    parts: list[str] = []
    for field in form:
        errors = field.errors
        field_id = field.id_for_label
        parts.append(
            format_html(
                '\n    <div class="usa-form-group mobile-lg:grid-col-6 tablet:grid-col-4 desktop:grid-col-3{}">'
                '\n      <label class="usa-label{}" for="{}">{}</label>'
                "\n      {}"
                "\n      {}"
                "\n    </div>\n    ",
                " usa-form-group--error" if errors else "",
                " usa-label--error" if errors else "",
                field_id,
                field.label,
                format_html(
                    '<span class="usa-error-message" id="{}-error">{}</span>',
                    field_id,
                    format_html_join(" ", "{}", ((error,) for error in errors)),
                )
                if errors
                else "",
                uswds_control(field),
            )
        )
    return mark_safe("".join(parts))


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
    if (path := path_in_language(request, settings.LANGUAGE_CODE)) is not None:
        return path + full_path[len(request.path) :]
    translated = translate_url(full_path, settings.LANGUAGE_CODE)
    language = get_language()
    prefix = f"/{language}/"
    if translated == full_path and language != settings.LANGUAGE_CODE and full_path.startswith(prefix):
        return full_path[len(prefix) - 1 :]
    return translated


@functools.lru_cache(maxsize=8)
def _prefixed_views(urlconf: str) -> frozenset[str]:
    """The names of the views under `i18n_patterns`, whose addresses differ only by their language prefix."""
    names: set[str] = set()

    def walk(patterns: list[Any], namespaces: tuple[str, ...], prefixed: bool) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = (*namespaces, pattern.namespace) if pattern.namespace else namespaces
                walk(
                    pattern.url_patterns, inner, prefixed or isinstance(pattern.pattern, LocalePrefixPattern)
                )
            elif prefixed and pattern.name:
                names.add(":".join((*namespaces, pattern.name)))

    walk(get_resolver(urlconf).url_patterns, (), False)
    return frozenset(names)


def path_in_language(request: HttpRequest, language: str) -> str | None:
    """
    The current page's path in `language`, as `translate_url` gives it, without resolving
    and reversing the path again for each language: a page under `i18n_patterns` only
    changes its language prefix (none for the default language). None for any other page.
    """
    match = getattr(request, "resolver_match", None)
    urlconf = getattr(request, "urlconf", None) or settings.ROOT_URLCONF
    if match is None or get_script_prefix() != "/" or match.view_name not in _prefixed_views(urlconf):
        return None
    rest = request.path_info
    current = get_language() or settings.LANGUAGE_CODE
    if current != settings.LANGUAGE_CODE:
        if not rest.startswith(f"/{current}/"):
            return None
        rest = rest[len(current) + 1 :]
    return rest if language == settings.LANGUAGE_CODE else f"/{language}{rest}"


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


# The sections of the main navigation (partials/site_nav.html), by URL name.
NAV_SECTIONS = ("ordinance_list", "agency_list", "technology_list", "request_list", "how_it_works")


@functools.lru_cache(maxsize=32)
def _nav_urls(language: str | None, prefix: str, urlconf: str) -> tuple[str, ...]:
    return tuple(reverse(f"ordinances:{name}") for name in NAV_SECTIONS)


@functools.lru_cache(maxsize=256)
def _render_chrome(
    template_name: str, language: str | None, prefix: str, urlconf: str, city: str, current: tuple[str, ...]
) -> SafeString:
    context = {"portal_city": city, "current": dict(zip(NAV_SECTIONS, current, strict=False))}
    return mark_safe(render_to_string(template_name, context))


@register.simple_tag(takes_context=True)
def site_chrome(context: template.Context, template_name: str, sections: bool = False) -> SafeString:
    """
    A part of the frame of every page (its assets, language buttons, navigation, footer),
    rendered once per process for each language (and, with `sections`, each current
    section of the navigation: `current`, each section's `aria-current` by URL name). It
    shows no record and nothing of the reader: only the code's words and addresses and the
    city's name, so nothing can make a rendered copy stale but a new release. In
    development (DEBUG) it is rendered afresh, so template edits show.
    """
    language = get_language()
    prefix = get_script_prefix()
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    current: tuple[str, ...] = ()
    if sections:
        request = context.get("request")
        path = request.path if request is not None else ""
        current = tuple(aria_current(path, url) for url in _nav_urls(language, prefix, urlconf))
    render = _render_chrome.__wrapped__ if settings.DEBUG else _render_chrome
    return render(template_name, language, prefix, urlconf, settings.PORTAL_CITY, current)
