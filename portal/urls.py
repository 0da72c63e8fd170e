"""URL configuration: the public portal at the root (and under each language prefix), the review workspace under /admin/."""

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import URLPattern, URLResolver, include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.i18n import set_language

from ordinances.catalog import data_catalog
from ordinances.documents import document
from ordinances.sitemaps import SITEMAPS, robots_txt
from portal import bench

admin.site.site_header = "Surveillance Oversight Portal: review workspace"
admin.site.site_title = "Oversight review"
admin.site.index_title = "Requests, ordinances and the inventory"

# Refusals are pages in the site's style with the reason (portal/errors.py).
handler403 = "portal.errors.permission_denied"
# A database outage is a 503 with Retry-After, not a 500 (portal/outage.py).
handler500 = "portal.outage.server_error"

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    # Switching language keeps the reader on the same page (POST with `next`). Without a CSRF
    # token, so every page's language buttons leave it the same for every reader and cacheable
    # (ordinances/page_cache.py): a forged post can only choose a visitor's language.
    path("i18n/setlang/", csrf_exempt(set_language), name="set_language"),
    # One sitemap for every language (each page lists its translations); see ordinances/sitemaps.py.
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path("robots.txt", robots_txt, name="robots_txt"),
    # The public read-only API, its schema and docs (ordinances/api.py, docs/api.md): one
    # address in every language, so outside the language prefixes.
    path("api/", include("ordinances.api")),
    # Every dataset the portal publishes, as a DCAT-US 1.1 catalog (ordinances/catalog.py).
    path("data.json", data_catalog, name="data_catalog"),
    # Documents filed with requests, to whoever may see the request, always as a download
    # (ordinances/documents.py); nothing serves MEDIA_ROOT directly, in development either.
    path("documents/<int:pk>/<str:filename>", document, name="document"),
]
# The public portal in each language: English at the root, the others under /es/, /so/, /hmn/.
urlpatterns += i18n_patterns(path("", include("ordinances.urls")), prefix_default_language=False)
if settings.PORTAL_BENCHMARK:
    # The floor every page is measured against (portal/bench.py, tests/bench_pages.py).
    urlpatterns += [path("bench/floor/", bench.floor, name="bench_floor")]
