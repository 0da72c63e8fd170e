# The two commands: `make run` serves the seeded portal, `make test` runs the whole suite.
# Both set up what they need on a fresh machine first.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1:8000
CHROMIUM := /usr/bin/chromium
WRK := /usr/bin/wrk
# What WeasyPrint needs from Debian to draw the oversight summary's PDF: Pango and HarfBuzz's
# subsetter, and a font for any character the site's own typeface lacks.
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-dejavu-core

.PHONY: run test lint format check-deploy browser gettext pdf messages clean bench requirements lockfiles audit soak

# Every package, pip included, at the version and with the hashes the compiled files pin
# (`make requirements`): a package that is not in the file, or whose download differs, stops it.
$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.txt
	touch $@

## requirements: compile requirements.txt and requirements-dev.txt from requirements.in and
## requirements-dev.in, every transitive dependency pinned with its hashes (pip-tools, in a venv
## of its own). Run it after changing a .in file and commit all four; versions already pinned are
## kept: REQUIREMENTS_ARGS=--upgrade (or '--upgrade-package NAME') moves them.
PIP_TOOLS := .venv-pip-tools
PIP_COMPILE = $(PIP_TOOLS)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-find-links --no-emit-index-url $(REQUIREMENTS_ARGS)
requirements: $(PIP_TOOLS)/bin/pip-compile
	$(PIP_COMPILE) --output-file=requirements.txt requirements.in
	$(PIP_COMPILE) --output-file=requirements-dev.txt requirements-dev.in
	$(PYTHON) tests/check_lockfiles.py

$(PIP_TOOLS)/bin/pip-compile:
	$(PYTHON) -m venv $(PIP_TOOLS)
	$(PIP_TOOLS)/bin/pip install --quiet pip-tools==7.6.2

## lockfiles: the compiled requirements and package-lock.json agree with what they are compiled
## from (requirements*.in, package.json); CI runs it before installing anything.
lockfiles:
	$(PYTHON) tests/check_lockfiles.py

# The U.S. Web Design System, exactly as package-lock.json pins it; settings.py serves its
# dist/ as static files, so pages, `check --deploy` and collectstatic need it installed.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "Install Node.js 20 and npm (sudo apt-get install nodejs npm) for the page styles."; exit 1; }
	npm ci --no-audit --no-fund
	touch $@

# The translations: .mo catalogs are compiled from the committed .po files, never committed.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))
%.mo: %.po
	@command -v msgfmt >/dev/null || $(MAKE) --no-print-directory gettext
	msgfmt --check -o $@ $<

## run: migrate the embedded SQLite database, load the Minneapolis record and demo data, serve.
run: $(VENV)/.runtime node_modules/.installed $(MO_FILES) pdf
	DJANGO_DEBUG=1 $(PY) manage.py migrate --no-input
	DJANGO_DEBUG=1 $(PY) manage.py seed_demo
	DJANGO_DEBUG=1 $(PY) manage.py runserver $(HOST)

## test: the whole suite, browser tests included, on DATABASE_URL (SQLite by default).
test: $(VENV)/.dev node_modules/.installed $(MO_FILES) browser pdf
	$(PY) -m pytest

## bench: every public page against a minimal view (the floor) under gunicorn and wrk, on two
## throwaway PostgreSQL databases (1,000 and 100,000 requests), page cache off and on; writes
## docs/performance.md and .json. BENCH_ARGS passes options, e.g. BENCH_ARGS='--only requests --keep'
## (--small, --large, --seconds, --only, --cache, --keep, --check). Needs Debian's wrk and redis-server.
bench: $(VENV)/.runtime node_modules/.installed
	@{ test -x $(WRK) && command -v redis-server >/dev/null; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk redis-server; \
	  else echo "Install wrk and Redis (sudo apt-get install wrk redis-server) for the benchmark."; exit 1; fi; }
	$(PY) tests/bench_pages.py $(BENCH_ARGS)

## audit: known vulnerabilities in the pinned packages (pip-audit over requirements-dev.txt, npm
## audit over package-lock.json). Where the vulnerability services cannot be reached it says
## NOT AUDITED and exits 0; AUDIT_REQUIRE_SERVICE=1 makes that a failure (docs/operations.md).
audit: $(VENV)/.dev
	$(PY) tests/audit.py

## soak: five minutes (SOAK_SECONDS) of mixed reads, searches, comments and staff transitions
## against gunicorn on a throwaway PostgreSQL database; fails on a 5xx, a lost comment or worker
## memory growth, and writes the figures to docs/operations.md (tests/soak.py).
soak: $(VENV)/.runtime node_modules/.installed
	$(PY) tests/soak.py $(SOAK_ARGS)

## gettext: GNU gettext's msgfmt, which compiles the catalogs (Debian package gettext).
gettext:
	@command -v msgfmt >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext; \
	  else echo "Install GNU gettext (sudo apt-get install gettext) to compile the translations."; exit 1; fi; }

## browser: Debian's Chromium for the Playwright tests (Playwright's own download is not used).
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Install Debian's chromium package (sudo apt-get install chromium) for the browser tests."; exit 1; fi; }

## pdf: Debian's Pango, HarfBuzz and a fallback font for WeasyPrint (the oversight summary's PDF).
pdf: $(VENV)/.runtime
	@{ $(PY) -c 'import weasyprint' 2>/dev/null && fc-list 2>/dev/null | grep -q .; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PDF_PACKAGES); \
	  else echo "Install Pango and a font for the PDF (sudo apt-get install $(PDF_PACKAGES))."; exit 1; fi; }

lint: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: $(VENV)/.dev
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

## check-deploy: the production profile passes Django's deployment checks.
check-deploy: $(VENV)/.runtime node_modules/.installed
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY=check-deploy-$$(date +%s)-a-long-random-enough-secret-value-for-the-check \
	  DJANGO_ALLOWED_HOSTS=portal.example.org $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) $(PIP_TOOLS) node_modules staticfiles .pytest_cache .ruff_cache

## messages: gather every marked string into locale/<lang>/LC_MESSAGES/django.po (translators fill them).
messages: $(VENV)/.dev
	$(PY) manage.py makemessages --no-obsolete --add-location=file --ignore=.venv --ignore=node_modules --ignore=tests --ignore=staticfiles -l es -l so -l hmn
