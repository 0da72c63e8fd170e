"""
What search engines may find: `sitemap.xml` (every public page, in every language, with
the other languages as alternates) and `robots.txt`.

Requests come from `Request.objects.public()`, so a draft is never listed.
"""

from __future__ import annotations

import datetime

from django.contrib.sitemaps import Sitemap
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from ordinances.models import Agency, Ordinance, Request, Technology


class PortalSitemap(Sitemap):
    """Every page in each language (English at the root, the others under their prefix)."""

    i18n = True
    alternates = True
    x_default = True


class StaticPages(PortalSitemap):
    priority = 0.8
    changefreq = "daily"

    def items(self) -> list[str]:
        return [
            "ordinances:home",
            "ordinances:ordinance_list",
            "ordinances:agency_list",
            "ordinances:technology_list",
            "ordinances:request_list",
            "ordinances:how_it_works",
            "ordinances:data_dictionary",
        ]

    def location(self, item: str) -> str:
        return reverse(item)


class Ordinances(PortalSitemap):
    changefreq = "monthly"

    def items(self) -> QuerySet:
        return Ordinance.objects.order_by("pk")


class Agencies(PortalSitemap):
    changefreq = "weekly"

    def items(self) -> QuerySet:
        return Agency.objects.order_by("pk")


class Technologies(PortalSitemap):
    changefreq = "weekly"

    def items(self) -> QuerySet:
        return Technology.objects.order_by("pk")


class Requests(PortalSitemap):
    changefreq = "daily"

    def items(self) -> QuerySet:
        return Request.objects.public().order_by("pk")

    def lastmod(self, item: Request) -> datetime.datetime:
        return item.public_updated_at


SITEMAPS: dict[str, type[Sitemap]] = {
    "pages": StaticPages,
    "ordinances": Ordinances,
    "agencies": Agencies,
    "technologies": Technologies,
    "requests": Requests,
}


@require_safe
@cache_control(max_age=60 * 60 * 24)
def robots_txt(request: HttpRequest) -> HttpResponse:
    """Everything public may be crawled; the review workspace may not. Points to the sitemap."""
    lines = [
        "User-agent: *",
        "Allow: /",
        "Disallow: /admin/",
        "Disallow: /i18n/",
        f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
