"""
When the database goes away: pages answer 503 with a plain page and `Retry-After`, never a
500 or a stack trace (portal/outage.py); `/healthz` answers 503 for the load balancer; a
transition cut off half-way leaves nothing half-written; and once PostgreSQL is back the
portal serves again by itself within seconds.

In-process, the outage is a connection that refuses every statement (`database_down`). The
last test stops and starts a real, throwaway PostgreSQL cluster under a real gunicorn in the
production profile.
"""

from __future__ import annotations

import contextlib
import datetime
import glob
import http.client
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from ordinances.models import Event, Notification, Request
from portal import outage
from tests.test_workflow import snapshot

BASE_DIR = Path(__file__).resolve().parent.parent
REFUSED = 'connection to server at "127.0.0.1", port 5432 failed: Connection refused'
HEADING = "The portal is briefly unavailable"
# What a stack trace or the database's own words would put in a page.
LEAKS = ("Traceback", "OperationalError", "Connection refused", "psycopg", "File &quot;", 'File "')


@contextlib.contextmanager
def database_down(refuse: Callable[[str], bool] = lambda sql: True) -> Iterator[list[str]]:
    """Every statement `refuse` picks fails as a lost server does; yields the statements tried."""
    tried: list[str] = []

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        tried.append(sql)
        if refuse(sql):
            raise OperationalError(REFUSED)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield tried


def assert_plain_unavailable(response: Any) -> str:
    assert response.status_code == 503
    assert response["Retry-After"] == str(outage.RETRY_AFTER_SECONDS)
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    for leak in LEAKS:
        assert leak not in body
    return body


# ---------------------------------------------------------------------------
# The 503 page
# ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_public_page_answers_503_with_retry_after_and_the_plain_page_when_the_database_is_down():
    client = Client(raise_request_exception=False)

    with database_down():
        response = client.get("/")

    body = assert_plain_unavailable(response)
    assert response["Content-Type"].startswith("text/html")
    assert f"<h1>{HEADING}</h1>" in body


@pytest.mark.django_db
def test_the_503_page_is_in_the_language_of_the_address():
    with translation.override("es"):
        heading = translation.gettext(HEADING)
    assert heading != HEADING  # the catalog has it (compiled by `make test`)
    client = Client(raise_request_exception=False)

    with database_down():
        response = client.get("/es/")

    body = assert_plain_unavailable(response)
    assert heading in body
    assert '<html lang="es">' in body


@pytest.mark.django_db
def test_a_signed_in_page_asks_the_database_nothing_more_once_it_has_failed(staff):
    client = Client(raise_request_exception=False)
    client.force_login(staff)

    with database_down() as tried:
        response = client.get(reverse("admin:index"))

    assert_plain_unavailable(response)
    # The session's lookup failed; rendering the 503 asked for no user, messages or anything else.
    assert len(tried) == 1


@pytest.mark.django_db
def test_the_api_answers_503_in_json_with_retry_after():
    client = Client(raise_request_exception=False)

    with database_down():
        response = client.get("/api/v1/ordinances/")

    assert_plain_unavailable(response)
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


@pytest.mark.django_db
def test_healthz_answers_503_with_retry_after_when_the_database_is_down():
    client = Client(raise_request_exception=False)

    with database_down():
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response["Retry-After"] == str(outage.RETRY_AFTER_SECONDS)
    assert response.json() == {"status": "unavailable", "database": "unreachable"}


class LosesTheDatabase:
    """A middleware whose own query fails, as the session, page cache or freshness lookups can."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raise OperationalError(REFUSED)


class BreaksOtherwise(LosesTheDatabase):
    def __call__(self, request: HttpRequest) -> HttpResponse:
        raise RuntimeError("a bug, not an outage")


def with_middleware(settings: Any, middleware: type, where: str) -> Client:
    name = f"{__name__}.{middleware.__name__}"
    stack = list(settings.MIDDLEWARE)
    index = {"outermost": 0, "innermost": len(stack)}.get(where)
    if index is None:  # just inside the named one
        index = stack.index(where) + 1
    settings.MIDDLEWARE = [*stack[:index], name, *stack[index:]]
    return Client(raise_request_exception=False)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "where",
    [
        "outermost",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "innermost",
    ],
)
def test_a_database_error_in_any_middleware_layer_answers_the_503(settings, where):
    client = with_middleware(settings, LosesTheDatabase, where)

    response = client.get("/")

    assert_plain_unavailable(response)


@pytest.mark.django_db
def test_an_error_that_is_not_the_database_stays_an_ordinary_500(settings):
    client = with_middleware(settings, BreaksOtherwise, "outermost")

    response = client.get("/")

    assert response.status_code == 500
    assert not response.has_header("Retry-After")
    assert HEADING not in response.content.decode()


def test_an_outage_wrapped_in_another_error_is_still_recognised():
    try:
        try:
            raise OperationalError(REFUSED)
        except OperationalError as lost:
            raise ValueError("could not load the page") from lost
    except ValueError as wrapped:
        assert outage.database_unreachable(wrapped)
    assert not outage.database_unreachable(ValueError("just a bug"))
    assert not outage.database_unreachable(None)


@pytest.mark.django_db
def test_the_outage_is_logged_once_at_error_with_its_traceback(caplog):
    client = Client(raise_request_exception=False)

    with caplog.at_level(logging.INFO), database_down():
        client.get("/")

    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].name == "django.request"
    assert errors[0].exc_info is not None and isinstance(errors[0].exc_info[1], OperationalError)


# ---------------------------------------------------------------------------
# A transition cut off half-way
# ---------------------------------------------------------------------------


def record_of(request: Request) -> dict[str, Any]:
    """Every row a transition writes about `request`, and the emails it queues."""
    return {
        **snapshot(request),
        "row": Request.objects.filter(pk=request.pk).values().get(),
        "notifications": list(Notification.objects.values_list("pk", flat=True)),
    }


@pytest.mark.django_db
def test_a_transition_cut_off_while_writing_its_audit_record_leaves_nothing_half_written(make_request, staff):
    in_comment = make_request("public_comment")
    before = record_of(in_comment)
    client = Client(raise_request_exception=False)
    client.force_login(staff)
    day = timezone.localdate() + datetime.timedelta(days=60)
    url = reverse("admin:ordinances_request_transition", args=[in_comment.pk, "schedule_hearing"])
    form = {
        "hearing_at_0": day.isoformat(),
        "hearing_at_1": "18:30",
        "hearing_address": "350 South 5th Street",
    }

    # The database goes away just as the audit record is written, after the request's row was updated.
    with database_down(lambda sql: sql.startswith('INSERT INTO "ordinances_event"')) as tried:
        response = client.post(url, form)

    assert any(sql.startswith('UPDATE "ordinances_request"') for sql in tried)
    assert_plain_unavailable(response)
    assert record_of(in_comment) == before
    assert Request.objects.get(pk=in_comment.pk).status == Request.Status.PUBLIC_COMMENT
    assert not Event.objects.filter(request=in_comment, action="schedule_hearing").exists()


# ---------------------------------------------------------------------------
# A real outage: a throwaway PostgreSQL cluster stopped and started under gunicorn
# ---------------------------------------------------------------------------

PG_BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
RECOVERY_LIMIT = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(port: int, path: str) -> tuple[int, dict[str, str], str]:
    """GET `path`: status, headers (lower-case names) and body; status 0 if the connection failed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": "127.0.0.1"})
        answer = conn.getresponse()
        body = answer.read().decode(errors="replace")
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, body
    except OSError:
        return 0, {}, ""
    finally:
        conn.close()


class Cluster:
    """A PostgreSQL cluster of our own in a temporary directory, run as the postgres user if we are root."""

    def __init__(self, bindir: str) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="portal-outage-"))
        self.data = self.directory / "data"
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_owner:
            shutil.chown(self.directory, "postgres", "postgres")

    def run(self, program: str, *args: str) -> None:
        command = [*self.as_owner, f"{self.bindir}/{program}", *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, f"{program} failed:\n{done.stdout}{done.stderr}"

    def init(self) -> None:
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"), "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


def production_env(database_url: str, scratch: Path, port: int) -> dict[str, str]:
    """The production profile (as tests/bench_pages.py runs it), against `database_url`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PORTAL_", "GUNICORN_", "DATABASE_")) and key != "REDIS_URL"
    }
    # Static files without collectstatic's manifest (CI does not build one): the only change
    # to the production settings, and nothing to do with the database.
    (scratch / "outage_settings.py").write_text(
        "from portal.settings import *  # noqa: F403\n"
        "STORAGES = {**STORAGES, 'staticfiles': "
        "{'BACKEND': 'django.contrib.staticfiles.storage.StaticFilesStorage'}}\n"
    )
    env.update(
        {
            "PYTHONPATH": f"{scratch}{os.pathsep}{BASE_DIR}",
            "DJANGO_SETTINGS_MODULE": "outage_settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "outage-test-" + os.urandom(24).hex(),
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database_url,
            # Every page reaches the database: a page kept in the anonymous cache would still be
            # served during an outage (docs/operations.md), which is not what is measured here.
            "PORTAL_PAGE_CACHE_SECONDS": "0",
            "PORTAL_MEDIA_ROOT": str(scratch / "media"),
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "2",
        }
    )
    return env


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not PG_BINARIES:
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
    throwaway = Cluster(PG_BINARIES[-1])
    try:
        throwaway.init()
        throwaway.start()
        throwaway.run("createdb", "-h", "127.0.0.1", "-p", str(throwaway.port), "-U", "postgres", "portal")
        yield throwaway
    finally:
        throwaway.remove()


@pytest.fixture
def portal_on(cluster: Cluster, tmp_path: Path) -> Iterator[int]:
    """The portal under gunicorn (gunicorn.conf.py, production profile) against the cluster; its port."""
    port = free_port()
    env = production_env(f"postgres://postgres@127.0.0.1:{cluster.port}/portal", tmp_path, port)
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr[-4000:]
    log = tmp_path / "gunicorn.log"
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    with log.open("wb") as sink:
        server = subprocess.Popen([gunicorn], cwd=BASE_DIR, env=env, stdout=sink, stderr=sink)
    try:
        deadline = time.monotonic() + 30
        while fetch(port, "/robots.txt")[0] != 200:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{log.read_text()[-4000:]}")
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


PAGES = ["/", "/requests/", "/es/", "/api/v1/ordinances/"]


@pytest.mark.postgresql
@pytest.mark.skipif(connection.vendor != "postgresql", reason="stops and starts a PostgreSQL cluster")
def test_a_stopped_database_answers_503_and_the_portal_recovers_by_itself_once_it_is_back(cluster, portal_on):
    port = portal_on
    for path in [*PAGES, "/healthz"]:
        assert fetch(port, path)[0] == 200, path

    cluster.stop("fast")
    # Twice round every page: both workers, each with the persistent connection it had kept.
    for path in PAGES * 2:
        status, headers, body = fetch(port, path)
        assert (status, headers.get("retry-after")) == (503, str(outage.RETRY_AFTER_SECONDS)), path
        assert not any(leak in body for leak in LEAKS), path
    status, headers, _ = fetch(port, "/healthz")
    assert (status, headers.get("retry-after")) == (503, str(outage.RETRY_AFTER_SECONDS))

    cluster.start()  # returns once the server accepts connections
    back = time.monotonic()
    while fetch(port, "/")[0] != 200:
        assert time.monotonic() - back < RECOVERY_LIMIT, "the portal did not recover"
        time.sleep(0.05)
    recovery = time.monotonic() - back
    print(f"\nrecovered {recovery:.2f} s after PostgreSQL accepted connections again")
    assert recovery < RECOVERY_LIMIT
    for path in [*PAGES * 2, "/healthz"]:
        assert fetch(port, path)[0] == 200, path
