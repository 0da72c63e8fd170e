"""URL configuration: the public portal at the root, the review workspace under /admin/."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

admin.site.site_header = "Surveillance Oversight Portal: review workspace"
admin.site.site_title = "Oversight review"
admin.site.index_title = "Requests, ordinances and the inventory"

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("", include("ordinances.urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
