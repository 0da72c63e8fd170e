"""
Check that the committed lockfiles agree with what they are compiled from (`make lockfiles`, CI).

    python3 tests/check_lockfiles.py

- requirements.txt and requirements-dev.txt (`make requirements`, pip-compile --generate-hashes)
  against requirements.in and requirements-dev.in: every package a .in file pins is in its
  compiled file at that version; every compiled entry is pinned with `==` and carries at least
  one hash (so `pip install --require-hashes` accepts the file); the runtime packages have the
  same versions in both compiled files; nothing the runtime file pins is missing from the dev one.
- package-lock.json against package.json: the lockfile records exactly the dependencies
  package.json asks for, and locks each of them at a version with an integrity hash, as
  `npm ci` needs.

A failure says which file to regenerate. Standard library only: it runs before any venv exists.
It does not re-resolve (that needs the network and a minute): a transitive dependency missing
from a compiled file stops `pip install --require-hashes` in `make test` instead.
Not collected by pytest (the name does not start with test_).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# A requirement line: name, optional [extras], optional ==version; the rest (hashes, markers)
# is read separately.
REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*(?:==\s*([^\s;\\]+))?")


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def logical_lines(path: Path) -> list[str]:
    """The file's requirement lines with backslash continuations joined and comments dropped."""
    joined: list[str] = []
    current = ""
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            joined.append(current.strip())
        current = ""
    if current.strip():
        joined.append(current.strip())
    return joined


def source_pins(path: Path, seen: set[Path] | None = None) -> dict[str, str | None]:
    """What a .in file asks for, following `-r` includes: name -> pinned version (None: unpinned)."""
    seen = seen if seen is not None else set()
    if path in seen:
        return {}
    seen.add(path)
    pins: dict[str, str | None] = {}
    for line in logical_lines(path):
        if line.startswith(("-r ", "--requirement ")):
            pins.update(source_pins(path.parent / line.split(None, 1)[1], seen))
            continue
        if line.startswith("-"):  # -c constraints and options: not requirements of their own
            continue
        match = REQUIREMENT.match(line)
        if match:
            pins[canonical(match.group(1))] = match.group(2)
    return pins


def compiled_pins(path: Path, problems: list[str]) -> dict[str, str]:
    """A compiled file's entries: name -> version; entries without == or a hash are problems."""
    pins: dict[str, str] = {}
    for line in logical_lines(path):
        if line.startswith("-"):
            problems.append(f"{path.name}: an option line {line!r}; compiled files hold only hashed pins")
            continue
        match = REQUIREMENT.match(line)
        if not match:
            problems.append(f"{path.name}: cannot read {line!r}")
            continue
        name, version = canonical(match.group(1)), match.group(2)
        if version is None:
            problems.append(f"{path.name}: {name} is not pinned with ==")
            continue
        if "--hash=sha256:" not in line:
            problems.append(f"{path.name}: {name}=={version} has no hash")
        pins[name] = version
    return pins


def check_python(problems: list[str]) -> None:
    compiled: dict[str, dict[str, str]] = {}
    for source, target in (
        ("requirements.in", "requirements.txt"),
        ("requirements-dev.in", "requirements-dev.txt"),
    ):
        source_path, target_path = BASE_DIR / source, BASE_DIR / target
        for path in (source_path, target_path):
            if not path.exists():
                problems.append(f"{path.name} is missing")
        if not (source_path.exists() and target_path.exists()):
            continue
        wanted = source_pins(source_path)
        have = compiled_pins(target_path, problems)
        compiled[target] = have
        for name, version in sorted(wanted.items()):
            if name not in have:
                problems.append(f"{target} lacks {name}, which {source} asks for: run `make requirements`")
            elif version is not None and have[name] != version:
                problems.append(
                    f"{target} pins {name}=={have[name]} but {source} asks for =={version}: run `make requirements`"
                )
    runtime, dev = compiled.get("requirements.txt"), compiled.get("requirements-dev.txt")
    if runtime is not None and dev is not None:
        for name, version in sorted(runtime.items()):
            if dev.get(name) != version:
                problems.append(
                    f"requirements-dev.txt has {name}=={dev.get(name)} where requirements.txt has "
                    f"=={version}: run `make requirements`"
                )


def check_npm(problems: list[str]) -> None:
    package_path, lock_path = BASE_DIR / "package.json", BASE_DIR / "package-lock.json"
    if not package_path.exists():
        return
    if not lock_path.exists():
        problems.append("package-lock.json is missing: run `npm install --package-lock-only` and commit it")
        return
    package = json.loads(package_path.read_text())
    lock = json.loads(lock_path.read_text())
    if lock.get("lockfileVersion", 1) < 2:
        problems.append("package-lock.json is lockfileVersion 1; npm ci of npm 7+ wants 2 or 3")
        return
    root = lock.get("packages", {}).get("", {})
    for section in ("dependencies", "devDependencies", "optionalDependencies"):
        asked = package.get(section, {})
        locked = root.get(section, {})
        if asked != locked:
            problems.append(
                f"package-lock.json records {section} {locked} but package.json asks for {asked}: "
                "run `npm install --package-lock-only` and commit it"
            )
    for path, entry in lock.get("packages", {}).items():
        if not path or entry.get("link"):
            continue
        if not entry.get("version") or not entry.get("integrity"):
            problems.append(f"package-lock.json: {path} has no locked version or integrity hash")


def main() -> int:
    problems: list[str] = []
    check_python(problems)
    check_npm(problems)
    if problems:
        print("Lockfiles out of date:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print("Lockfiles current: requirements.txt, requirements-dev.txt (hashed) and package-lock.json.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
