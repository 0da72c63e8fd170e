"""
Known vulnerabilities in the pinned dependencies (`make audit`): pip-audit over the hashed
requirements-dev.txt (the runtime packages and the tools), npm audit over package-lock.json.

    .venv/bin/python tests/audit.py [--require-service]

Each tool asks a vulnerability service: pip-audit PyPI's JSON API (advisories per release),
npm audit the registry's bulk advisory endpoint. A machine that reaches the package registries
only as package indexes (these development and CI machines) cannot ask either: PyPI's per-release
JSON answers 404 for every package, so pip-audit skips them all and would still print "No known
vulnerabilities found"; the npm registry answers 405. This script tells an audit that ran from
one that could not, and says so plainly:

- exit 1: a service answered and named a vulnerability (the list is printed);
- exit 0: every service that answered found nothing; a service that could not be asked is
  reported as NOT AUDITED, with why, and does not fail the run, unless `--require-service`
  (AUDIT_REQUIRE_SERVICE=1) is given, for a deployment that can reach them: then exit 2.

Not collected by pytest (the name does not start with test_).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
REQUIREMENTS = "requirements-dev.txt"  # compiled with the runtime packages in it


@dataclass
class Result:
    tool: str
    audited: int = 0  # packages the service answered for
    skipped: int = 0  # packages it could not be asked about
    findings: list[str] = field(default_factory=list)
    unreachable: str = ""  # why the service could not be asked, when it could not

    def line(self) -> str:
        if self.unreachable:
            return f"{self.tool}: NOT AUDITED: {self.unreachable}"
        if self.findings:
            return f"{self.tool}: {len(self.findings)} known vulnerabilities in {self.audited} packages"
        extra = f" ({self.skipped} could not be looked up)" if self.skipped else ""
        return f"{self.tool}: no known vulnerabilities in {self.audited} packages{extra}"


def tail(text: str, lines: int = 3) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def pip_audit() -> Result:
    result = Result("pip-audit")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "--disable-pip",  # the file is fully pinned and hashed: nothing to resolve or install
            "--require-hashes",
            "--requirement",
            REQUIREMENTS,
            "--format",
            "json",
            "--progress-spinner",
            "off",
        ],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if "No module named pip_audit" in done.stderr:
        result.unreachable = "pip-audit is not installed in this venv (it is pinned in requirements-dev.in)"
        return result
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        result.unreachable = f"pip-audit exited {done.returncode} without a report: {tail(done.stderr)}"
        return result
    for dependency in report.get("dependencies", []):
        if "skip_reason" in dependency:
            result.skipped += 1
            continue
        result.audited += 1
        for vuln in dependency.get("vulns", []):
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed release"
            result.findings.append(
                f"{dependency['name']}=={dependency.get('version')}: {vuln.get('id')} (fixed in {fixed})"
            )
    if result.audited == 0 and result.skipped:
        # Every package "not found on PyPI": the JSON API is not there, not the packages.
        result.unreachable = (
            f"PyPI's per-release JSON API (its vulnerability data) answered 'not found' for all "
            f"{result.skipped} pinned packages: it is not reachable from this machine"
        )
    return result


def npm_audit() -> Result:
    result = Result("npm audit")
    if not (BASE_DIR / "package-lock.json").exists():
        result.unreachable = "no package-lock.json"
        return result
    if not shutil.which("npm"):
        result.unreachable = "npm is not installed"
        return result
    done = subprocess.run(
        ["npm", "audit", "--json"], cwd=BASE_DIR, capture_output=True, text=True, timeout=300
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        result.unreachable = f"npm audit exited {done.returncode} without a report: {tail(done.stderr)}"
        return result
    if "error" in report or ("message" in report and "vulnerabilities" not in report):
        error = report.get("error") or {}
        message = report.get("message") or error.get("summary") or "an error"
        result.unreachable = f"the registry's advisory endpoint answered {message!r}"
        return result
    metadata = report.get("metadata", {})
    result.audited = int(metadata.get("dependencies", {}).get("total", 0))
    for name, entry in sorted(report.get("vulnerabilities", {}).items()):
        result.findings.append(f"{name} {entry.get('range', '')}: {entry.get('severity', '?')}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().split("\n\n")[0])
    parser.add_argument(
        "--require-service",
        action="store_true",
        default=os.environ.get("AUDIT_REQUIRE_SERVICE", "") not in ("", "0"),
        help="exit 2 when a vulnerability service cannot be asked (AUDIT_REQUIRE_SERVICE=1)",
    )
    args = parser.parse_args(argv)
    results = [pip_audit(), npm_audit()]
    for result in results:
        print(result.line())
        for finding in result.findings:
            print(f"  - {finding}")
    if any(result.findings for result in results):
        return 1
    if any(result.unreachable for result in results):
        print(
            "Some dependencies were NOT audited: this machine cannot reach the vulnerability "
            "services. Run `make audit` where PyPI's JSON API and the npm registry's advisory "
            "endpoint are reachable."
            + (" Failing (--require-service)." if args.require_service else " Not a failure here.")
        )
        return 2 if args.require_service else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
