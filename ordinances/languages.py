"""
The language of records staff typed, on pages in another language (WCAG 3.1.2, Language of Parts).

Interface words are translated; a record's own text (an ordinance's title and summary, an
agency's or technology's name and description, a request's title and purpose, a decision's
summary and conditions) stays in the language staff wrote it in, which its `language` field
names. Where that differs from the language of the page (or feed) it is shown in, its element
carries `lang="xx"`, so that browsers and screen readers read it as what it is. Where the two
match, nothing is added: the page's own `<html lang>` already says it.

Text that belongs to a record without a field of its own follows its owner: an ordinance's
exceptions, rules and steps follow the ordinance; a request's documents and timeline notes
follow the request; conditions follow their decision; an inventory row follows its agency.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language


def other_language(record: object) -> str:
    """
    The language of `record`'s text (a record with a `language` field, or a language code)
    when it is not the active language; "" when it is, or when the record names none.
    """
    language = record if isinstance(record, str) else getattr(record, "language", "")
    if not language or not isinstance(language, str):
        return ""
    active = get_language() or settings.LANGUAGE_CODE
    return "" if language.lower() == active.lower() else language


def lang_attribute(record: object) -> SafeString:
    """` lang="xx"` (with its leading space) for an element holding `record`'s text, or nothing."""
    language = other_language(record)
    return format_html(' lang="{}"', language) if language else mark_safe("")


def in_language(text: object, record: object) -> SafeString:
    """
    `text` (escaped unless already safe) in a `<span lang="xx">` when `record`'s language is
    not the active one; as it is otherwise, and when it is empty (so `{% if %}` still sees it empty).
    """
    if text is None or text == "":
        return mark_safe("")
    language = other_language(record)
    if not language:
        return conditional_escape(text if isinstance(text, str) else str(text))
    return format_html('<span lang="{}">{}</span>', language, text)
