"""
The U.S. Web Design System is served from our own static files (installed by `npm ci`
from package-lock.json), never a CDN, and survives the production manifest storage.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "path",
    [
        "uswds/css/uswds.min.css",
        "uswds/js/uswds-init.min.js",
        "uswds/js/uswds.min.js",
        "uswds/img/sprite.svg",
        "css/portal.css",
        "css/print.css",
        "css/noscript.css",
        "img/favicon.svg",
        "img/favicon.ico",
        "img/apple-touch-icon.png",
    ],
)
def test_the_static_files_finders_serve_the_file(path):
    assert finders.find(path), path


def test_the_installed_uswds_is_the_version_package_json_pins():
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["@uswds/uswds"]
    installed = json.loads((ROOT / "node_modules/@uswds/uswds/package.json").read_text())["version"]
    assert re.fullmatch(r"3\.14\.\d+", pinned)
    assert installed == pinned


@pytest.mark.django_db
def test_pages_load_uswds_from_our_static_files_not_a_cdn(client):
    content = client.get(reverse("ordinances:home")).content.decode()
    assert 'href="/static/uswds/css/uswds.min.css"' in content
    assert '/static/uswds/js/uswds-init.min.js"' in content
    assert '/static/uswds/js/uswds.min.js"' in content
    head = content.split("<body", 1)[0]
    assert not re.search(r'<script[^>]+src="(https?:)?//', head)
    assert not re.search(r'<link[^>]+rel="stylesheet"[^>]+href="(https?:)?//', head)


def test_collectstatic_with_the_production_manifest_rewrites_every_url_in_the_uswds_css(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)

    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    css = tmp_path / manifest["uswds/css/uswds.min.css"]
    urls = set(re.findall(r'url\("?([^")]*)"?\)', css.read_text()))
    referenced = {url for url in urls if url and not url.startswith("data:")}
    assert any("fonts/" in url for url in referenced)
    assert any("img/" in url for url in referenced)
    for url in referenced:
        target = (css.parent / url.split("#", 1)[0]).resolve()
        assert target.is_file(), url
        assert re.search(r"\.[0-9a-f]{12}\.", target.name), f"{url} was not given its hashed name"
