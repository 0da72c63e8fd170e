from django.urls import path

from ordinances import views

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
    path("requests/<str:reference>/", views.request_detail, name="request_detail"),
]
