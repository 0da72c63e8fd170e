from django.urls import path, register_converter

from ordinances import views


class ReferenceConverter:
    """A request's public reference, e.g. REQ-2026-0007."""

    regex = r"[A-Z]+-[0-9]{4}-[0-9]{4,}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ReferenceConverter, "reference")

app_name = "ordinances"

urlpatterns = [
    path("", views.home, name="home"),
    path("how-it-works/", views.how_it_works, name="how_it_works"),
    path("healthz", views.healthz, name="healthz"),
    path("ordinances/", views.ordinance_list, name="ordinance_list"),
    path("ordinances/<slug:slug>/", views.ordinance_detail, name="ordinance_detail"),
    path("agencies/", views.agency_list, name="agency_list"),
    path("agencies/<slug:slug>/", views.agency_detail, name="agency_detail"),
    path("technologies/", views.technology_list, name="technology_list"),
    path("technologies/<slug:slug>/", views.technology_detail, name="technology_detail"),
    path("requests/", views.request_list, name="request_list"),
    path("requests/<reference:reference>/", views.request_detail, name="request_detail"),
]
