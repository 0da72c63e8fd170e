"""
Site-wide search: one box across ordinances, agencies, technologies and public requests.

`run(params)` validates the box (`SearchForm`), runs one ranked query over the four tables
and returns an `Outcome` whose page holds `Result` values (kind, title, url, snippet, rank).
Requests come only from `Request.objects.public()`: drafts are never found.

How a word matches, the same on both databases
----------------------------------------------
A query is cut into words: runs of letters and digits (`WORD`). A record matches when every
word occurs in one of its searched fields as a whole run of letters and digits, ignoring
case: "camera" finds "Camera" and "camera-equipped" but not "cameras" or "webcamera".

* PostgreSQL: full-text search with the 'simple' configuration over the weighted
  `document`, stored in a generated column of each searched table (migration 0024) that a
  GIN index serves (migration 0027).
  'simple' only lower-cases; 'english' would also stem ("cameras" -> "camera") and drop
  stop words ("the", "of"), which the SQLite side cannot reproduce without a stemmer, so
  the two databases would answer plain words differently. Before parsing, every run of
  punctuation and space becomes one space (`NON_WORD`): PostgreSQL's parser would otherwise
  read "2020-00681" as "2020" and "-00681", "example.com" as one host name and "a_b" as two
  words, while the query's words are always plain runs of letters and digits.
* SQLite: every word must match `word_regex(word)` (the word between two characters that
  are not `WORD_CHAR`, ignoring case; run by Django's REGEXP function) in one of the same
  fields.

Checked on both with every word of the demo data and a fuzzed corpus of punctuation, URLs,
numbers and several alphabets. What still differs is beyond plain words: scripts with
combining marks (Devanagari, decomposed accents), circled or other rare numerals ("①"),
and a number in scientific notation glued to letters ("1e5abc"). PostgreSQL's parser also
depends on the database's LC_CTYPE: use a UTF-8 locale (C.UTF-8, en_US.UTF-8).

Highlighting uses that same expression in Python on both databases (`highlight`).
Ranking: the fields carry weights A (titles, names, identifiers), B and C; PostgreSQL ranks
with `ts_rank` over the weighted document, SQLite adds the weights of the fields each word
occurs in. Both put a title match above a match in a description only.

A common word matches thousands of records. PostgreSQL matches and ranks them over the
stored document (`STORED_DOCUMENT`) rather than parsing every match's text again, and the
result count leaves the rank out. Naming the column also keeps the query short: spelling the
expression out, field by field in four tables, cost about half of a search page's time to
build and compile.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.postgres.search import (
    CombinedSearchVector,
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorExact,
    SearchVectorField,
)
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Case, Expression, F, Func, Q, QuerySet, TextField, Value, When
from django.db.models.expressions import RawSQL
from django.http import QueryDict
from django.urls import reverse
from django.utils.functional import Promise, cached_property
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from ordinances import pagination
from ordinances.models import Agency, Ordinance, Request, Technology

# The box takes at most this many characters and words: enough for any real question,
# and a bound on the size of the query (one condition per word and field).
MAX_QUERY_LENGTH = 200
MAX_WORDS = 12

CONFIG = "simple"  # see the module docstring for why not 'english'
NON_WORD = "[[:punct:][:space:]]+"
# A letter or a digit, as PostgreSQL's parser sees them: Python's \w without "_" and without
# the superscripts and fractions of Latin-1 ("m²", "½"), which the parser takes for spaces.
WORD_CHAR = r"[^\W_\u00b2\u00b3\u00b9\u00bc-\u00be]"
WORD = re.compile(rf"{WORD_CHAR}+")
WEIGHTS = {"A": 1.0, "B": 0.4, "C": 0.2}  # ts_rank's own defaults for A, B and C
# PostgreSQL: the column migration 0024 generates from `document(kind)` on every searched table.
STORED_DOCUMENT = "search_document"

SNIPPET_LENGTH = 200  # characters of a field shown under a result
SNIPPET_LEAD = 60  # characters kept before the first match
ELLIPSIS = "…"

# Every kind is one branch of a UNION: the same columns, in the same order, in each.
TEXT_COLUMNS = 4


@dataclass(frozen=True)
class Kind:
    """One searched table: its public rows, its page, and its fields with their weights."""

    code: str
    label: str | Promise
    records: Callable[[], QuerySet[Any]]
    url_name: str
    key: str  # the field the record's URL is built from
    title: str
    # (field, weight). The title first; then the fields a snippet is taken from, in the
    # order they are tried. Migration 0024 stores exactly these, in this order (0007's snapshot).
    fields: tuple[tuple[str, str], ...]

    @property
    def text_fields(self) -> tuple[str, ...]:
        return tuple(name for name, _weight in self.fields if name != self.title)


KINDS: tuple[Kind, ...] = (
    Kind(
        "ordinance",
        _("Ordinance"),
        Ordinance.objects.all,
        "ordinances:ordinance_detail",
        "slug",
        "title",
        (("title", "A"), ("summary", "B"), ("jurisdiction", "B"), ("full_text", "C"), ("file_number", "A")),
    ),
    Kind(
        "agency",
        _("Agency"),
        Agency.objects.all,
        "ordinances:agency_detail",
        "slug",
        "name",
        (("name", "A"), ("description", "B")),
    ),
    Kind(
        "technology",
        _("Technology"),
        Technology.objects.all,
        "ordinances:technology_detail",
        "slug",
        "name",
        (("name", "A"), ("description", "B"), ("vendors", "B"), ("civil_liberties_concerns", "C")),
    ),
    Kind(
        "request",
        _("Request"),
        Request.objects.public,
        "ordinances:request_detail",
        "reference",
        "title",
        (("title", "A"), ("purpose", "B"), ("justification", "C"), ("reference", "A")),
    ),
)
KINDS_BY_CODE = {kind.code: kind for kind in KINDS}


@dataclass(frozen=True)
class Result:
    """One record found: what it is, where it lives, and why it matched."""

    kind: str
    kind_label: str
    title: str
    url: str
    title_html: SafeString  # the title, escaped, with the query's words marked
    snippet: SafeString  # a short escaped piece of the best matching field, words marked
    rank: float
    is_demo: bool
    language: str = ""  # of the record's text, for its `lang` attribute on pages in another language


@dataclass(frozen=True)
class Outcome:
    """What the search page shows. `page` is None when no query ran."""

    form: SearchForm
    query: str  # what was typed, for the box
    words: tuple[str, ...]
    page: Page | None
    status: int

    @property
    def ran(self) -> bool:
        """Whether a query ran (an empty page is falsy, so templates ask this instead)."""
        return self.page is not None


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=MAX_QUERY_LENGTH,
        error_messages={
            "max_length": _(
                "Searches can be at most %(limit_value)d characters long; this one has %(show_value)d."
            ),
            "null_characters_not_allowed": _("The search contains a character that cannot be searched for."),
        },
    )

    def clean_q(self) -> str:
        q: str = self.cleaned_data["q"]
        if len(words(q)) > MAX_WORDS:
            raise forms.ValidationError(
                _("Search for at most %(limit)d words."), code="too_many_words", params={"limit": MAX_WORDS}
            )
        return q


def words(q: str) -> tuple[str, ...]:
    """The query's words, lower-cased, each once, in the order typed. Punctuation goes."""
    return tuple(dict.fromkeys(word.lower() for word in WORD.findall(q)))


def run(params: QueryDict) -> Outcome:
    """Validate the box and, when it holds a word, search; an empty box runs no query."""
    form = SearchForm(params)
    typed = params.get("q", "").replace("\x00", "")
    if not form.is_valid():
        return Outcome(form, typed, (), None, 400)
    found = words(form.cleaned_data["q"])
    if not found:
        return Outcome(form, typed, (), None, 200)
    paginator = _Paginator(matching(found), settings.PORTAL_PAGE_SIZE, counted=counting(found))
    page = paginator.get_page(params.get("page"))
    pattern = word_pattern(found)
    page.object_list = [_result(row, pattern) for row in page.object_list]
    return Outcome(form, typed, found, page, 200)


class _Paginator(Paginator):
    """
    Pages of the ranked rows, counted by a query that ranks nothing and stops at
    `pagination.COUNT_LIMIT`, as the request list's count does ("More than 1,000 results"): a
    common word matches thousands of records, and counting them all took a third of its query
    time ("camera" among 100,000 requests: 9 ms of the count's and the page's 24). The pages go
    as far as the count: the best thousand matches.
    """

    def __init__(self, object_list: QuerySet[Any], per_page: int, *, counted: QuerySet[Any]) -> None:
        super().__init__(object_list, per_page)
        self.counted = counted

    @cached_property
    def found(self) -> int:
        """The matches, up to one more than the limit."""
        return pagination.count_up_to_limit(self.counted)

    @cached_property
    def count(self) -> int:
        return min(self.found, pagination.COUNT_LIMIT)

    @property
    def count_is_limited(self) -> bool:
        """Whether there are more matches than the count says."""
        return self.found > pagination.COUNT_LIMIT


# ---------------------------------------------------------------------------
# The query
# ---------------------------------------------------------------------------


def words_only(field: str) -> Func:
    """The field with every run of punctuation and space made one space (see the docstring)."""
    return Func(
        F(field), Value(NON_WORD), Value(" "), Value("g"), function="regexp_replace", output_field=TextField()
    )


def document(kind: Kind) -> CombinedSearchVector | SearchVector:
    """
    The weighted tsvector of a kind's fields, as migration 0024 stores it for each kind
    (`stored_document`, from the snapshot in migration 0007); change a kind's fields and add a
    migration that generates the column again (tests/test_search.py fails until then).
    """
    vectors = [SearchVector(words_only(name), config=CONFIG, weight=weight) for name, weight in kind.fields]
    return reduce(operator.add, vectors)


def stored_document(kind: Kind) -> RawSQL:
    """
    `document(kind)` as migration 0024 stores it, which migration 0027 indexes (the branch's
    table is never aliased).
    """
    table = connection.ops.quote_name(kind.records().model._meta.db_table)
    # Parameters as a list: `@@` (SearchVectorExact) adds the query's list to them.
    return RawSQL(f"{table}.{STORED_DOCUMENT}", [], output_field=SearchVectorField())


def word_regex(word: str) -> str:
    """A whole run of letters and digits equal to `word`; with IGNORECASE, in any case."""
    return rf"(?<!{WORD_CHAR}){re.escape(word)}(?!{WORD_CHAR})"


def word_pattern(found: Sequence[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(word) for word in sorted(found, key=len, reverse=True))
    return re.compile(rf"(?<!{WORD_CHAR})(?:{alternatives})(?!{WORD_CHAR})", re.IGNORECASE)


def _matches_and_rank(kind: Kind, found: Sequence[str]) -> tuple[Q | Expression, Expression]:
    if connection.vendor == "postgresql":
        stored = stored_document(kind)
        query = SearchQuery(" ".join(found), config=CONFIG, search_type="plain")
        # A lookup used as a filter: `search_document @@ query`, which the GIN index serves.
        return SearchVectorExact(stored, query), SearchRank(stored, query)
    every_word = Q()
    weights: list[Expression] = []
    for word in found:
        regex = word_regex(word)
        in_any_field = Q()
        for name, weight in kind.fields:
            in_field = Q(**{f"{name}__iregex": regex})
            in_any_field |= in_field
            weights.append(Case(When(in_field, then=Value(WEIGHTS[weight])), default=Value(0.0)))
        every_word &= in_any_field
    return every_word, reduce(operator.add, weights)


def _branch(kind: Kind, found: Sequence[str]) -> QuerySet[Any]:
    condition, rank = _matches_and_rank(kind, found)
    texts = {
        f"hit_text{i}": F(name) if name else Value("", output_field=TextField())
        for i, name in enumerate((*kind.text_fields, *[""] * TEXT_COLUMNS)[:TEXT_COLUMNS])
    }
    columns = {
        "hit_kind": Value(kind.code, output_field=TextField()),
        "hit_pk": F("pk"),
        "hit_key": F(kind.key),
        "hit_title": F(kind.title),
        "hit_demo": F("is_demo"),
        "hit_language": F("language"),
        "hit_rank": rank,
        **texts,
    }
    return kind.records().filter(condition).order_by().annotate(**columns).values(*columns)


def matching(found: Sequence[str]) -> QuerySet[Any]:
    """Every public record holding all the words, best first, as rows of `hit_*` columns."""
    if not found:
        raise ValueError("No word to search for.")
    first, *others = (_branch(kind, found) for kind in KINDS)
    return first.union(*others, all=True).order_by("-hit_rank", "hit_title", "hit_kind", "hit_pk")


def counting(found: Sequence[str]) -> QuerySet[Any]:
    """The records `matching(found)` finds, one primary key each, for counting them unranked."""
    first, *others = (
        kind.records().filter(_matches_and_rank(kind, found)[0]).order_by().values("pk") for kind in KINDS
    )
    return first.union(*others, all=True)


# ---------------------------------------------------------------------------
# Results and highlighting
# ---------------------------------------------------------------------------


def highlight(text: str, pattern: re.Pattern[str]) -> SafeString:
    """`text` HTML-escaped, with each whole-word match of `pattern` in <mark>."""
    pieces: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        pieces.append(escape(text[last : match.start()]))
        pieces.append(format_html("<mark>{}</mark>", match.group()))
        last = match.end()
    pieces.append(escape(text[last:]))
    return mark_safe("".join(pieces))  # every piece was escaped above


def excerpt(text: str, pattern: re.Pattern[str]) -> str:
    """
    At most SNIPPET_LENGTH characters of `text` (whitespace collapsed) around its first
    match, cut at spaces, with an ellipsis where text was left out.
    """
    text = " ".join(text.split())
    match = pattern.search(text)
    start = 0
    if match and match.start() > SNIPPET_LEAD:
        # Start at the first word that begins within SNIPPET_LEAD characters of the match.
        space = text.find(" ", match.start() - SNIPPET_LEAD, match.start())
        start = space + 1 if space >= 0 else match.start() - SNIPPET_LEAD
    end = start + SNIPPET_LENGTH
    if end < len(text):
        space = text.rfind(" ", match.end() if match else start, end)
        end = space if space > start else end
    piece = text[start:end].strip()
    return (ELLIPSIS if start > 0 else "") + piece + (ELLIPSIS if end < len(text) else "")


def snippet(texts: Sequence[str], pattern: re.Pattern[str]) -> SafeString:
    """A piece of the first field where a word occurs, else of the first field with text."""
    chosen = next((text for text in texts if pattern.search(text)), None)
    chosen = chosen if chosen is not None else next((text for text in texts if text.strip()), "")
    return highlight(excerpt(chosen, pattern), pattern)


def _result(row: dict[str, Any], pattern: re.Pattern[str]) -> Result:
    kind = KINDS_BY_CODE[row["hit_kind"]]
    texts = [row[f"hit_text{i}"] or "" for i in range(len(kind.text_fields))]
    return Result(
        kind=kind.code,
        kind_label=str(kind.label),
        title=row["hit_title"],
        url=reverse(kind.url_name, args=[row["hit_key"]]),
        title_html=highlight(row["hit_title"], pattern),
        snippet=snippet(texts, pattern),
        rank=float(row["hit_rank"]),
        is_demo=bool(row["hit_demo"]),
        language=row["hit_language"] or "",
    )
