"""
An ordinance's process as a plain dict: the one format for law files, the admin's change
history and the public record of what changed.

A law's rules, exceptions, review steps, deadlines and sources are data. Clerks edit them
in the admin; `manage.py load_process` loads them from JSON files kept with the code
(`ordinances/laws/`), and `manage.py dump_process` writes them back out. Both directions go
through this module so that

- `snapshot` is the one definition of the format (keys in a stable order, lists sorted by
  their natural key), so a dump, a file under review and a stored change all compare;
- `validate` refuses a bad file before anything is written, naming each field by its JSON
  path (a JSON Schema in `process_schema.json` first, then the checks the models' `clean()`
  methods make, then the checks that need the whole file);
- `load` writes a file in one transaction and `record_change` keeps one `OrdinanceChange`
  row per real change, with stored values (codes, numbers), never generated English.

The format is documented in docs/process-format.md.
"""

from __future__ import annotations

import datetime
import enum
import json
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from jsonschema import Draft202012Validator

from ordinances.models import (
    EVERY_OTHER_CATEGORY,
    CategoryRule,
    Deadline,
    Ordinance,
    OrdinanceChange,
    ProcessStep,
    Source,
    StatutoryException,
)

FORMAT_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("process_schema.json")

Process = dict[str, Any]
Change = dict[str, Any]

# The ordinance's own fields, in file order. "votes" stands for the four votes_* columns.
ORDINANCE_FIELDS = (
    "file_number",
    "slug",
    "title",
    "jurisdiction",
    "code_citation",
    "status",
    "introduced_on",
    "adopted_on",
    "effective_on",
    "author",
    "votes",
    "summary",
    "full_text",
    "unverified_note",
    "is_demo",
    "language",
)
VOTE_FIELDS = ("yes", "no", "abstain", "absent")
DATE_FIELDS = frozenset({"introduced_on", "adopted_on", "effective_on", "published_on"})


class Section:
    """One list of the file: its model, its natural key and its fields in file order."""

    def __init__(
        self,
        name: str,
        model: type[models.Model],
        key: str,
        fields: tuple[str, ...],
        sort_key: Callable[[str], Any] = str,
    ) -> None:
        self.name = name
        self.model = model
        self.key = key
        self.fields = fields
        self.sort_key = sort_key

    def sorted(self, items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Items in the file's stable order: by natural key (steps in the order a request meets them)."""
        return sorted(items, key=lambda item: self.sort_key(item[self.key]))

    def defaults(self) -> dict[str, Any]:
        """The model's defaults for the fields a file may leave out."""
        return {name: _model_default(self.model, name) for name in self.fields}


def _step_order(kind: str) -> tuple[int, str]:
    # A kind the model does not know sorts last instead of failing: diff must survive old records.
    order = [str(k) for k in ProcessStep.ORDER]
    return (order.index(kind) if kind in order else len(order), kind)


SOURCES = Section("sources", Source, "url", ("url", "title", "publisher", "published_on"))
RULES = Section("rules", CategoryRule, "category", ("category", "rule", "note"))
EXCEPTIONS = Section(
    "exceptions",
    StatutoryException,
    "slug",
    ("slug", "title", "category", "description", "verified", "verification_note"),
)
STEPS = Section(
    "steps", ProcessStep, "kind", ("kind", "body", "seats", "majority", "verified", "note"), _step_order
)
DEADLINES = Section(
    "deadlines",
    Deadline,
    "kind",
    ("kind", "amount", "unit", "counted_from", "month", "day", "extension_amount", "verified", "note"),
)
SECTIONS = (SOURCES, RULES, EXCEPTIONS, STEPS, DEADLINES)


class ProcessFileError(ValueError):
    """A process file that cannot be loaded; `messages` name each field by its JSON path."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = list(messages)
        super().__init__("\n".join(self.messages))


# ---------------------------------------------------------------------------
# Snapshot and diff
# ---------------------------------------------------------------------------


def snapshot(ordinance: Ordinance) -> Process:
    """
    The ordinance's process in the file format, read fresh from the database.

    Rows are queried here rather than taken from prefetched caches, so a snapshot taken
    after an edit sees the edit.
    """
    votes = [ordinance.votes_yes, ordinance.votes_no, ordinance.votes_abstain, ordinance.votes_absent]
    ordinance_data: dict[str, Any] = {}
    for name in ORDINANCE_FIELDS:
        if name == "votes":
            ordinance_data[name] = (
                None if all(v is None for v in votes) else dict(zip(VOTE_FIELDS, votes, strict=True))
            )
        else:
            ordinance_data[name] = _plain(getattr(ordinance, name))
    data: Process = {"format_version": FORMAT_VERSION, "ordinance": ordinance_data}
    for section in SECTIONS:
        if section is SOURCES:
            rows: Iterable[models.Model] = Source.objects.filter(ordinances=ordinance)
        else:
            rows = section.model._default_manager.filter(ordinance=ordinance)
        items = [{name: _plain(getattr(row, name)) for name in section.fields} for row in rows]
        data[section.name] = section.sorted(items)
    return data


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """
    What changed between two snapshots, as a flat list of {"path", "old", "new"}.

    Paths use natural keys, not positions ("deadlines.comment_period.amount"), so a change
    reads the same however the lists were ordered. An item added or removed is one entry
    with the whole item on one side and None on the other. An empty `old` ({}) means the
    ordinance did not exist. Values are stored codes, numbers and strings.
    """
    changes: list[Change] = []
    old_fields = _flat_ordinance(old.get("ordinance"))
    new_fields = _flat_ordinance(new.get("ordinance"))
    for name in old_fields:
        if old_fields[name] != new_fields[name]:
            changes.append({"path": f"ordinance.{name}", "old": old_fields[name], "new": new_fields[name]})
    for section in SECTIONS:
        old_items = {item[section.key]: item for item in old.get(section.name) or []}
        new_items = {item[section.key]: item for item in new.get(section.name) or []}
        for key in sorted({*old_items, *new_items}, key=section.sort_key):
            before, after = old_items.get(key), new_items.get(key)
            path = f"{section.name}.{key}"
            if before is None or after is None:
                changes.append({"path": path, "old": before, "new": after})
                continue
            names = [*after, *(name for name in before if name not in after)]
            changes.extend(
                {"path": f"{path}.{name}", "old": before.get(name), "new": after.get(name)}
                for name in names
                if before.get(name) != after.get(name)
            )
    return changes


def _flat_ordinance(fields: Mapping[str, Any] | None) -> dict[str, Any]:
    fields = fields or {}
    flat: dict[str, Any] = {}
    for name in ORDINANCE_FIELDS:
        if name == "votes":
            votes = fields.get("votes") or {}
            for vote in VOTE_FIELDS:
                flat[f"votes.{vote}"] = votes.get(vote)
        else:
            flat[name] = fields.get(name)
    return flat


def record_change(
    ordinance: Ordinance, before: Mapping[str, Any], *, actor_name: str, actor_role: str, via: str
) -> OrdinanceChange | None:
    """
    Keep one change-history row if the ordinance's process differs from `before`.

    The admin takes `snapshot(ordinance)` before a clerk's edit and calls this after it;
    `load` does the same. Nothing is written when nothing changed, so saving a form or
    loading a file twice leaves the history alone.
    """
    changes = diff(before, snapshot(ordinance))
    if not changes:
        return None
    return OrdinanceChange.objects.create(
        ordinance=ordinance, actor_name=actor_name, actor_role=actor_role, via=via, changes=changes
    )


def dumps(data: Mapping[str, Any]) -> str:
    """
    The canonical text of a process file: indented, UTF-8 as is, a final newline.

    The files in ordinances/laws/ are written this way, so dumping a loaded law gives back
    the file byte for byte and a review diff shows only real changes.
    """
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of the file format (ordinances/process_schema.json)."""
    with SCHEMA_PATH.open(encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


@cache
def _validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(schema())
    return Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def validate(data: object) -> list[str]:
    """
    Every reason `data` cannot be loaded, each starting with the JSON path of its field.

    The schema runs first; the semantic checks run only on a file that passes it, since
    they read values the schema vouches for (a file with schema errors gets those first).
    Reads nothing from the database: the checks that need it (a slug another ordinance
    uses, an exception a request relies on) happen in `load`.
    """
    errors = _schema_errors(data)
    if errors or not isinstance(data, dict):
        return errors
    return _semantic_errors(data)


def _schema_errors(data: object) -> list[str]:
    messages: list[tuple[tuple[Any, ...], str]] = []
    for error in _validator().iter_errors(data):
        path = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [name for name in error.validator_value if name not in error.instance]
            messages.extend(
                (_sortable([*path, name]), f"{_path([*path, name])}: required field is missing")
                for name in missing
            )
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = error.schema.get("properties", {})
            messages.extend(
                (_sortable([*path, name]), f"{_path([*path, name])}: unknown field")
                for name in error.instance
                if name not in known
            )
        else:
            messages.append((_sortable(path), f"{_path(path)}: {error.message}"))
    seen: set[str] = set()
    ordered = []
    for _, message in sorted(messages, key=lambda pair: pair[0]):
        if message not in seen:
            seen.add(message)
            ordered.append(message)
    return ordered


def _sortable(path: list[Any]) -> tuple[tuple[int, int, str], ...]:
    """A sort key that lists errors in file order: sections as the format orders them, items by index."""
    top = ["format_version", "ordinance", *(section.name for section in SECTIONS)]
    key = []
    for depth, part in enumerate(path):
        if isinstance(part, int):
            key.append((0, part, ""))
        elif depth == 0 and part in top:
            key.append((1, top.index(part), part))
        else:
            key.append((1, len(top), str(part)))
    return tuple(key)


def _path(parts: Iterable[Any]) -> str:
    """A JSON path as people write it: deadlines[2].counted_from."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _semantic_errors(data: Mapping[str, Any]) -> list[str]:
    errors: list[str] = []
    ordinance_fields = _with_defaults(data["ordinance"])
    errors += _clean(Ordinance(**_ordinance_values(ordinance_fields)), "ordinance", exclude=())
    for section in SECTIONS:
        first_at: dict[Any, int] = {}
        for index, raw in enumerate(data.get(section.name) or []):
            item = {**section.defaults(), **raw}
            where = f"{section.name}[{index}]"
            key = item[section.key]
            if key in first_at:
                errors.append(
                    f"{where}.{section.key}: {key!r} appears more than once "
                    f"(first at {section.name}[{first_at[key]}])"
                )
            else:
                first_at[key] = index
            exclude = () if section is SOURCES else ("ordinance",)
            errors += _clean(section.model(**_row_values(item)), where, exclude=exclude)
    errors += _decision_errors(data.get("steps") or [])
    errors += _exception_category_errors(data.get("rules") or [], data.get("exceptions") or [])
    return errors


def _clean(instance: models.Model, where: str, *, exclude: Iterable[str]) -> list[str]:
    """What the model's own validation (field checks and clean()) says, by JSON path."""
    try:
        instance.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        return [
            f"{_json_field(where, field)}: {message}"
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return []


def _json_field(where: str, field: str) -> str:
    if field == NON_FIELD_ERRORS:
        return where
    if field.startswith("votes_"):
        return f"{where}.votes.{field.removeprefix('votes_')}"
    return f"{where}.{field}"


def _decision_errors(steps: list[Mapping[str, Any]]) -> list[str]:
    # A request's review ends in exactly one way: a vote, or the publication of the policy.
    decisions = [
        (i, step["kind"]) for i, step in enumerate(steps) if step["kind"] in ProcessStep.DECISION_KINDS
    ]
    if len(decisions) == 1:
        return []
    if not decisions:
        return ["steps: needs exactly one decision step, a 'vote' or a 'publication'; there is none"]
    found = ", ".join(f"steps[{i}] {kind!r}" for i, kind in decisions)
    return [
        f"steps: needs exactly one decision step, a 'vote' or a 'publication'; there are {len(decisions)}: {found}"
    ]


def _exception_category_errors(
    rules: list[Mapping[str, Any]], exceptions: list[Mapping[str, Any]]
) -> list[str]:
    # An exception is to a prohibition: a request relying on it must be an exception request,
    # and those exist only where the ordinance's own rule for the category prohibits it.
    prohibited = {rule["category"] for rule in rules if rule.get("rule") == "prohibited"}
    errors = []
    for index, exception in enumerate(exceptions):
        category = exception.get("category", "")
        if not prohibited:
            errors.append(
                f"exceptions[{index}].category: the ordinance prohibits nothing, so there is nothing to except from"
            )
        elif category and category not in prohibited and EVERY_OTHER_CATEGORY not in prohibited:
            errors.append(
                f"exceptions[{index}].category: {category!r} is not prohibited by this ordinance "
                f"(it prohibits {', '.join(sorted(prohibited))}); an exception is to a prohibition"
            )
    return errors


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


def normalize(data: Mapping[str, Any]) -> Process:
    """A valid file as `snapshot` would write it: every key present, lists in their order."""
    result: Process = {"format_version": FORMAT_VERSION, "ordinance": _with_defaults(data["ordinance"])}
    for section in SECTIONS:
        items = [{**section.defaults(), **item} for item in data.get(section.name) or []]
        items = [{name: item[name] for name in section.fields} for item in items]
        result[section.name] = section.sorted(items)
    return result


def load(
    data: object, *, actor_name: str = "", actor_role: str = "", via: str = "file"
) -> tuple[Ordinance, bool, list[Change]]:
    """
    Create or update the ordinance a process file describes (keyed by file_number).

    Everything happens in one transaction: rows the file does not list are deleted (a
    source is only unlinked, since other records may cite it), and nothing is written if
    any check fails. Returns the ordinance, whether it was created, and the changes kept
    in its history ([] when the file matched the database, so loading twice is a no-op).
    """
    errors = validate(data)
    if errors:
        raise ProcessFileError(errors)
    assert isinstance(data, dict)
    process = normalize(data)
    fields = process["ordinance"]
    with transaction.atomic():
        ordinance = Ordinance.objects.select_for_update().filter(file_number=fields["file_number"]).first()
        created = ordinance is None
        _check_database(ordinance, process)
        before = {} if ordinance is None else snapshot(ordinance)
        ordinance = _save_changed(ordinance or Ordinance(), _ordinance_values(fields))
        for section in (RULES, EXCEPTIONS, STEPS, DEADLINES):
            _sync_rows(ordinance, section, process[section.name])
        _sync_sources(ordinance, process["sources"])
        change = record_change(ordinance, before, actor_name=actor_name, actor_role=actor_role, via=via)
    return ordinance, created, change.changes if change else []


def _check_database(ordinance: Ordinance | None, process: Process) -> None:
    """The checks a file cannot answer alone: slugs of other ordinances, exceptions in use."""
    fields = process["ordinance"]
    errors = []
    taken = Ordinance.objects.filter(slug=fields["slug"]).exclude(file_number=fields["file_number"]).first()
    if taken is not None:
        errors.append(
            f"ordinance.slug: {fields['slug']!r} is already the slug of ordinance {taken.file_number}"
        )
    if ordinance is not None:
        kept = {item["slug"] for item in process["exceptions"]}
        # Request.exception PROTECTs these rows: say which requests, rather than fail on delete.
        for exception in ordinance.exceptions.exclude(slug__in=kept).prefetch_related("requests"):
            references = sorted(request.reference for request in exception.requests.all())
            if references:
                errors.append(
                    f"exceptions: cannot remove {exception.slug!r} ({exception.title}): "
                    f"request(s) {', '.join(references)} rely on it"
                )
    if errors:
        raise ProcessFileError(errors)


def _save_changed(instance: models.Model, values: Mapping[str, Any]) -> Any:
    """Set `values`; write only if one differs, so an unchanged file writes nothing."""
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, values[name])
    if instance.pk is None:
        instance.save()
    elif changed:
        # A save of some fields sets only those: name the `auto_now` ones (`updated_at`) too.
        stamped = [f.name for f in instance._meta.concrete_fields if getattr(f, "auto_now", False)]
        instance.save(update_fields=[*changed, *stamped])
    return instance


def _sync_rows(ordinance: Ordinance, section: Section, items: list[dict[str, Any]]) -> None:
    existing = {
        getattr(row, section.key): row for row in section.model._default_manager.filter(ordinance=ordinance)
    }
    for item in items:
        row = existing.pop(item[section.key], None) or section.model(ordinance=ordinance)
        _save_changed(row, _row_values(item))
    for row in existing.values():
        row.delete()


def _sync_sources(ordinance: Ordinance, items: list[dict[str, Any]]) -> None:
    wanted = []
    for item in items:
        source = Source.objects.filter(url=item["url"]).first() or Source()
        wanted.append(_save_changed(source, _row_values(item)))
    linked = set(ordinance.sources.values_list("pk", flat=True))
    wanted_ids = {source.pk for source in wanted}
    if wanted_ids - linked:
        ordinance.sources.add(*(wanted_ids - linked))
    if linked - wanted_ids:
        ordinance.sources.remove(*(linked - wanted_ids))


# ---------------------------------------------------------------------------
# Between file values and model values
# ---------------------------------------------------------------------------


def _with_defaults(fields: Mapping[str, Any]) -> dict[str, Any]:
    result = {}
    for name in ORDINANCE_FIELDS:
        if name == "votes":
            votes = fields.get("votes")
            result[name] = None if votes is None else {vote: votes.get(vote) for vote in VOTE_FIELDS}
        else:
            result[name] = fields[name] if name in fields else _model_default(Ordinance, name)
    return result


def _ordinance_values(fields: Mapping[str, Any]) -> dict[str, Any]:
    values = {name: _model_value(name, fields[name]) for name in ORDINANCE_FIELDS if name != "votes"}
    votes = fields["votes"] or {}
    values.update({f"votes_{vote}": votes.get(vote) for vote in VOTE_FIELDS})
    return values


def _row_values(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _model_value(name, value) for name, value in item.items()}


def _model_value(name: str, value: Any) -> Any:
    if name in DATE_FIELDS and isinstance(value, str):
        return datetime.date.fromisoformat(value)
    if isinstance(value, float) and value.is_integer():
        # JSON Schema counts 30.0 as an integer; store it as one.
        return int(value)
    return value


def _model_default(model: type[models.Model], name: str) -> Any:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return _plain(field.get_default())


def _plain(value: Any) -> Any:
    """A model value as the file writes it: ISO dates, plain strings for choices."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value
