"""
Settings for the surveillance oversight portal.

Every value that differs between a laptop and production comes from the environment.
The defaults are for development: SQLite beside manage.py, DEBUG on, a throwaway key.
With DJANGO_DEBUG=0 the production profile applies: a real secret key is required and
HTTPS-only cookies and HSTS are switched on, so `manage.py check --deploy` passes.

https://docs.djangoproject.com/en/5.2/ref/settings/
"""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

import dj_database_url
from django.conf.locale import LANG_INFO
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: bool) -> bool:
    """Read a yes/no environment variable, refusing values we cannot read."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {value!r}")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {value!r}") from exc


def envlist(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = envbool("DJANGO_DEBUG", True)

_DEV_SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI and Redoc for /api/docs/ as our own static files, never from a CDN.
    "drf_spectacular_sidecar",
    # The Content-Security-Policy (CONTENT_SECURITY_POLICY below); the app checks its settings.
    "csp",
    # Failed sign-ins counted and locked out (portal/auth.py; settings AXES_* below).
    "axes",
    "ordinances",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy and Permissions-Policy on every answer, static files and answers
    # replayed from the page cache included (CONTENT_SECURITY_POLICY, PERMISSIONS_POLICY below).
    "csp.middleware.CSPMiddleware",
    "portal.headers.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Any origin may read /api/ and /data.json (GET, HEAD); see ordinances/middleware.py.
    "ordinances.middleware.OpenDataCorsMiddleware",
    # ETag on every non-streaming answer, 304 for a matching If-None-Match or If-Modified-Since.
    # https://docs.djangoproject.com/en/5.2/ref/middleware/#module-django.middleware.http
    "django.middleware.http.ConditionalGetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # 400 for a NUL byte or an impossible date part anywhere under /admin/ (portal/admin_guard.py).
    "portal.admin_guard.AdminHostileInputMiddleware",
    # Whole public pages for anonymous readers, dropped when the record changes
    # (ordinances/page_cache.py); after locale (the key holds the language) and auth.
    "ordinances.page_cache.PublicPageCacheMiddleware",
    # Last-Modified from the public record, 304 before the view runs (after auth: anonymous only).
    "ordinances.middleware.PublicLastModifiedMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Signed-in sessions end after PORTAL_SESSION_IDLE_MINUTES idle or PORTAL_SESSION_MAX_HOURS
    # in all (portal/auth.py); after auth, and it never opens an anonymous reader's session.
    "portal.auth.SessionTimeoutMiddleware",
    # Turns a lockout into the lockout page (portal/auth.py). django-axes requires it to be
    # the last middleware: keep it last.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ordinances.context_processors.portal",
            ],
        },
    },
]

WSGI_APPLICATION = "portal.wsgi.application"

# https://docs.djangoproject.com/en/5.2/ref/databases/
# SQLite by default "so one can just check out the code and run it"; PostgreSQL in
# production, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        # Persistent connections in production: a new PostgreSQL connection costs more than
        # most pages. Health checks drop one the server has closed before it is reused.
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 0 if DEBUG else 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT: the status board's grouped counts are estimated above PostgreSQL's JIT threshold,
    # and compiling them cost 0.1 to 3 s a page, many times what running them costs.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    # Prepared statements, on unless DATABASE_PREPARED_STATEMENTS=0: psycopg prepares a query
    # once a connection has run it 5 times, and PostgreSQL plans it once rather than on every
    # view (planning a joined request-table query cost 0.5 to 2 ms, often more than running it).
    # After five runs PostgreSQL may keep one generic plan, which cannot use a partial or
    # expression index whose condition or constants are parameters and guesses a range between
    # parameters small: those are written into the SQL (models.Constant),
    # checked under a generic plan in tests/test_indexes.py. Turn them off behind a pooler in
    # transaction mode that does not keep them (before PgBouncer 1.21): docs/deployment.md,
    # "Connections".
    if envbool("DATABASE_PREPARED_STATEMENTS", True):
        DATABASES["default"]["OPTIONS"].update({"server_side_binding": True, "prepare_threshold": 5})
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Workflow transitions take a write lock up front so two writers queue instead of
    # failing with "database is locked" half-way through a transaction.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({"transaction_mode": "IMMEDIATE", "timeout": 20})

# A streaming read replica of the PostgreSQL primary (docs/deployment.md), e.g.
# DATABASE_REPLICA_URL=postgres://portal@replica.internal:5432/portal. Anonymous GET and HEAD
# requests read from it once it has replayed the last change of the public record and is less
# than PORTAL_REPLICA_MAX_LAG seconds behind; everything else uses the primary (portal/db.py).
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
try:
    PORTAL_REPLICA_MAX_LAG = float(os.environ.get("PORTAL_REPLICA_MAX_LAG") or 5)
except ValueError as exc:
    raise ImproperlyConfigured("PORTAL_REPLICA_MAX_LAG must be a number of seconds.") from exc
if DATABASE_REPLICA_URL:
    _replica = dj_database_url.parse(DATABASE_REPLICA_URL)
    if "postgresql" not in DATABASES["default"]["ENGINE"] or "postgresql" not in _replica["ENGINE"]:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL needs PostgreSQL for both DATABASE_URL and the replica."
        )
    # The primary's connection options (persistence, health checks, pool), and a short connect
    # timeout so that a replica host that is down costs a request seconds, not minutes.
    DATABASES["replica"] = {
        **_replica,
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": DATABASES["default"]["CONN_HEALTH_CHECKS"],
        "OPTIONS": {
            "connect_timeout": 2,
            **DATABASES["default"].get("OPTIONS", {}),
            **_replica.get("OPTIONS", {}),
        },
        # Tests: the test database exists only on the primary; the alias reads it there.
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["portal.db.PrimaryReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "portal.db.ReplicaReadMiddleware",
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Staff passwords of at least 12 characters; a deployment may ask for more (OWASP ASVS 5.0
# recommends 15), never less.
PORTAL_PASSWORD_MIN_LENGTH = envint("PORTAL_PASSWORD_MIN_LENGTH", 12)
if PORTAL_PASSWORD_MIN_LENGTH < 12:
    raise ImproperlyConfigured(
        f"PORTAL_PASSWORD_MIN_LENGTH must be 12 or more; got {PORTAL_PASSWORD_MIN_LENGTH}"
    )

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    # Every account is a staff account (the public has none), so one length for all.
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PORTAL_PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "admin:login"

# django-axes first: it refuses a locked-out sign-in before the password is hashed at all.
# https://django-axes.readthedocs.io/en/latest/2_installation.html
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# After AXES_FAILURE_LIMIT wrong passwords in a row, sign-in is refused for AXES_COOLOFF_TIME.
# Locked by the pair (login name, address): locking by login name alone would let anyone lock
# a colleague out from everywhere by typing wrong passwords under their name, and locking by
# address alone would lock out every colleague behind the city's shared NAT. An attacker
# spreading guesses over many addresses is slowed by the password rules, not by this.
AXES_ENABLED = envbool("PORTAL_LOGIN_LOCKOUT", True)
AXES_FAILURE_LIMIT = envint("PORTAL_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=envint("PORTAL_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The client's address as the API's throttle reads it (DJANGO_NUM_PROXIES): behind the proxy,
# REMOTE_ADDR is the proxy's and would put every client in one lockout.
AXES_CLIENT_IP_CALLABLE = "portal.auth.client_ip"
# The lockout page in the site's frame, 429 with Retry-After (portal/auth.py).
AXES_LOCKOUT_CALLABLE = "portal.auth.lockout_response"
# Failed sign-ins go to the log with the address, not the login name (half a credential).
AXES_SENSITIVE_PARAMETERS = ["username"]

# A signed-in session ends after this many idle minutes, and after this many hours in all
# however busy (portal/auth.py). The cookie lives as long as the idle limit.
PORTAL_SESSION_IDLE_MINUTES = envint("PORTAL_SESSION_IDLE_MINUTES", 30)
PORTAL_SESSION_MAX_HOURS = envint("PORTAL_SESSION_MAX_HOURS", 12)
if PORTAL_SESSION_IDLE_MINUTES < 1 or PORTAL_SESSION_MAX_HOURS < 1:
    raise ImproperlyConfigured("PORTAL_SESSION_IDLE_MINUTES and PORTAL_SESSION_MAX_HOURS must be 1 or more.")
SESSION_COOKIE_AGE = PORTAL_SESSION_IDLE_MINUTES * 60
# Recording a decision asks for the password again unless it was entered this recently.
PORTAL_REAUTH_MINUTES = envint("PORTAL_REAUTH_MINUTES", 15)

# https://docs.djangoproject.com/en/5.2/topics/i18n/
# English at the root; Spanish, Somali and Hmong under /es/, /so/, /hmn/: the languages the
# City of Minneapolis publishes in. Django ships no Somali or Hmong locale, so their names
# and plural rules are declared here and in their catalogs (locale/<code>/LC_MESSAGES).
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("es", _("Spanish")),
    ("so", _("Somali")),
    ("hmn", _("Hmong")),
]
LANG_INFO.update(
    {
        "so": {"bidi": False, "code": "so", "name": "Somali", "name_local": "Soomaali"},
        "hmn": {"bidi": False, "code": "hmn", "name": "Hmong", "name_local": "Hmoob"},
    }
)
LOCALE_PATHS = [BASE_DIR / "locale"]
# "12 February 2021", "6:00 p.m.": see portal/formats/<language>/formats.py.
FORMAT_MODULE_PATH = ["portal.formats"]
# Events are stored in UTC; pages show times in the city's own zone.
TIME_ZONE = os.environ.get("PORTAL_TIME_ZONE", "America/Chicago")
USE_I18N = True
USE_TZ = True

# https://docs.djangoproject.com/en/5.2/howto/static-files/
STATIC_URL = "static/"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # The U.S. Web Design System, pinned in package.json and installed by `npm ci` (`make`
    # does it): served as our own static files under static/uswds/, never from a CDN.
    ("uswds", BASE_DIR / "node_modules/@uswds/uswds/dist"),
]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("PORTAL_MEDIA_ROOT", BASE_DIR / "media"))
# Documents filed with requests (ordinances/uploads.py, documents.py): at most this many MB
# each, checked by content; served only by the document view, never from MEDIA_URL.
PORTAL_UPLOAD_MAX_MB = envint("PORTAL_UPLOAD_MAX_MB", 20)
# Uploads above 2.5 MB stream to a temporary file, not memory; a form with files may carry
# a few, not hundreds. The proxy's body limit (docs/deployment.md) stops larger posts first.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FILES = 20
# Readable by the app's own user (and its group, for a proxy serving X-Accel-Redirect), no one else.
FILE_UPLOAD_PERMISSIONS = 0o640
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# The city this deployment serves, named in the header, the home page and page titles. Each
# city's laws are loaded from its process file (`manage.py load_process ordinances/laws/...`).
PORTAL_CITY = os.environ.get("PORTAL_CITY", "Minneapolis")
# Where the city sits: its state's postal code and its county, for the Atlas of Surveillance
# columns (`/data/atlas.csv`, `manage.py import_atlas`).
PORTAL_STATE = os.environ.get("PORTAL_STATE", "MN").strip().upper()
PORTAL_COUNTY = os.environ.get("PORTAL_COUNTY", "Hennepin").strip()


def ocd_type_id(name: str) -> str:
    """
    A name as an Open Civic Data division `type_id` (OCDEP 2, "Identifier Scheme"): lowercase,
    spaces to underscores, any character other than letters, digits, `.`, `-`, `_` and `~` to `~`.
    https://open-civic-data.readthedocs.io/en/latest/proposals/0002.html
    """
    return re.sub(r"[^\w.~-]", "~", "_".join(name.lower().split()))


# The city's Open Civic Data division, e.g. ocd-division/country:us/state:mn/place:minneapolis.
# A place's id names its state and itself, not its county. Set it where the city's id in
# opencivicdata/ocd-division-ids differs from the one its name gives (see ordinances/ocd.py).
PORTAL_OCD_DIVISION = os.environ.get("PORTAL_OCD_DIVISION") or (
    f"ocd-division/country:us/state:{ocd_type_id(PORTAL_STATE)}/place:{ocd_type_id(PORTAL_CITY)}"
)

# Public lists show this many rows a page.
PORTAL_PAGE_SIZE = envint("PORTAL_PAGE_SIZE", 25)

# An agency or technology filter is a select up to this many rows, a type-ahead text box past it.
PORTAL_SELECT_LIMIT = envint("PORTAL_SELECT_LIMIT", 50)

# The benchmark's floor view at /bench/floor/ (portal/bench.py); only `make bench` turns it on.
PORTAL_BENCHMARK = envbool("PORTAL_BENCHMARK", False)

# Seconds an anonymous reader's public page is kept in the cache (ordinances/page_cache.py);
# 0 turns the cache off. Any change to the record drops every page at once; the lifetime bounds
# what a signal cannot see (a bulk update, another process without a shared cache). Off in
# development, where templates change under your hands.
PORTAL_PAGE_CACHE_SECONDS = envint("PORTAL_PAGE_CACHE_SECONDS", 0 if DEBUG else 300)

# The open-data catalog (/data.json, DCAT-US 1.1; ordinances/catalog.py): who publishes the
# data, whom to write to about it (a vCard email), and the license every dataset is under.
# CC0 by default: the public record, free to reuse without conditions.
PORTAL_PUBLISHER = os.environ.get("PORTAL_PUBLISHER") or f"City of {PORTAL_CITY}"
PORTAL_CONTACT_NAME = os.environ.get("PORTAL_CONTACT_NAME") or f"{PORTAL_CITY} Surveillance Oversight Portal"
PORTAL_CONTACT_EMAIL = os.environ.get("PORTAL_CONTACT_EMAIL") or "open-data@example.org"
if not re.fullmatch(r"[\w.-]+@[\w.-]+\.[\w.-]+", PORTAL_CONTACT_EMAIL):
    raise ImproperlyConfigured(f"PORTAL_CONTACT_EMAIL must be an email address; got {PORTAL_CONTACT_EMAIL!r}")
PORTAL_DATA_LICENSE = (
    os.environ.get("PORTAL_DATA_LICENSE") or "https://creativecommons.org/publicdomain/zero/1.0/"
)

# The portal's own address, for links that leave the site: the email alerts' links and their
# List-Unsubscribe header (ordinances/outbox.py). No trailing slash. By default the
# development server, or https:// and the first of DJANGO_ALLOWED_HOSTS in production.
PORTAL_BASE_URL = (
    os.environ.get("PORTAL_BASE_URL") or ("http://127.0.0.1:8000" if DEBUG else f"https://{ALLOWED_HOSTS[0]}")
).rstrip("/")
if not re.fullmatch(r"https?://[^/?#\s]+(/[^?#\s]*)?", PORTAL_BASE_URL):
    raise ImproperlyConfigured(
        f"PORTAL_BASE_URL must read like https://portal.example.org; got {PORTAL_BASE_URL!r}"
    )

# Email: https://docs.djangoproject.com/en/5.2/topics/email/
# The outbox (`manage.py deliver_notifications`) sends alerts, confirmations and notices to
# agencies. Development prints each email on the console; with EMAIL_HOST set, the SMTP
# server it names sends them (STARTTLS on port 587 unless EMAIL_USE_SSL or EMAIL_USE_TLS say otherwise).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", not EMAIL_USE_SSL)
if EMAIL_USE_SSL and EMAIL_USE_TLS:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS (STARTTLS) or EMAIL_USE_SSL (implicit TLS), not both.")
EMAIL_PORT = envint("EMAIL_PORT", 465 if EMAIL_USE_SSL else 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
# Seconds to wait for the SMTP server before the attempt counts as failed and is retried.
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL") or "alerts@example.org"

# https://docs.djangoproject.com/en/5.2/topics/cache/
# Local memory by default (one process, nothing to run); Redis, shared by every worker, when
# REDIS_URL is set (e.g. redis://127.0.0.1:6379/0). The API's throttle counts calls here.
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "portal.cache.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Calls an anonymous client may make to the API, e.g. "120/min" (per s, min, hour or day).
API_ANON_RATE = os.environ.get("PORTAL_API_ANON_RATE", "120/min")
if not re.fullmatch(r"[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)", API_ANON_RATE):
    raise ImproperlyConfigured(f"PORTAL_API_ANON_RATE must read like 120/min; got {API_ANON_RATE!r}")

REST_FRAMEWORK = {
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # The public API's OpenAPI 3.1 schema (/api/schema/); see ordinances/api.py and docs/api.md.
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Anonymous clients are counted by address in the default cache; past the rate, 429 with
    # Retry-After. https://www.django-rest-framework.org/api-guide/throttling/
    "DEFAULT_THROTTLE_CLASSES": ["ordinances.throttles.PublicAnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"anon": API_ANON_RATE},
    # Proxies in front of the app: the client's address is the one they add to
    # X-Forwarded-For. 0 (the address of the connection) in development; the production
    # profile sits behind one (SECURE_PROXY_SSL_HEADER).
    "NUM_PROXIES": envint("DJANGO_NUM_PROXIES", 0 if DEBUG else 1),
}

# The API's schema and docs. https://drf-spectacular.readthedocs.io/en/latest/settings.html
SPECTACULAR_SETTINGS = {
    "TITLE": "Surveillance Oversight Portal API",
    "DESCRIPTION": (
        "Read-only public record of surveillance-technology ordinances, agencies, technologies, "
        "the status board, and agencies' requests with their decisions and public timelines. "
        "Versioning, pagination, filters and CSV: docs/api.md."
    ),
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name for each code list that several fields share.
    "ENUM_NAME_OVERRIDES": {
        "AgencyKindEnum": "ordinances.models.Agency.Kind",
        "RequestKindEnum": "ordinances.models.Request.Kind",
        "StepKindEnum": "ordinances.models.ProcessStep.Kind",
        "DeadlineKindEnum": "ordinances.models.Deadline.Kind",
        "OrdinanceStatusEnum": "ordinances.models.Ordinance.Status",
        "RequestStatusEnum": "ordinances.models.Request.Status",
        "ConditionStatusEnum": "ordinances.models.Condition.Status",
        "BoardStatusEnum": "ordinances.board.StatusCode",
        "CategoryEnum": "ordinances.models.Category",
        "RuleCategoryEnum": "ordinances.models.RULE_CATEGORY_CHOICES",
        "RuleEnum": "ordinances.models.CategoryRule.Rule",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "ordinances.api.document_errors_and_csv",
    ],
}

# Content-Security-Policy (django-csp, https://django-csp.readthedocs.io/): everything from our
# own origin, nothing inline (no 'unsafe-inline', no 'unsafe-eval': scripts and styles live in
# static/), no plugins, no <base>, forms post only to us, and no framing (as X-Frame-Options:
# DENY says to older browsers). No nonces: public pages are kept whole by the page cache
# (ordinances/page_cache.py) and replayed to every reader, so a nonce would be shared.
# Views that differ say so with django-csp's decorators: the embeddable widgets allow any
# frame-ancestors (ordinances/middleware.py), the API docs load Swagger UI's images (ordinances/api.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Permissions-Policy (portal/headers.py): browser features no page uses, refused to the page and
# to anything it frames. Only features Chromium recognizes (an unknown one is a console error).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "local-fonts",
        "magnetometer",
        "microphone",
        "midi",
        "otp-credentials",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}

# The production profile. https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
if not DEBUG:
    SECURE_SSL_REDIRECT = envbool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = envint("DJANGO_SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    # Failed sign-ins and lockouts are WARNINGs; its INFO chatter (each success) stays out.
    "loggers": {"axes": {"level": "WARNING"}},
}
