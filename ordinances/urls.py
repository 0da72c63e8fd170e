from django.urls import path, re_path, register_converter

from ordinances import alert_views, atlas, calendars, choice_views, downloads, embed, feeds, views


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
    # Feeds, calendars and open data (ordinances/feeds.py, calendars.py, downloads.py).
    path("requests/feed/", feeds.RequestsFeed.as_view(), name="request_feed"),
    path("decisions/feed/", feeds.DecisionsFeed.as_view(), name="decision_feed"),
    path("agencies/<slug:slug>/feed/", feeds.AgencyFeed.as_view(), name="agency_feed"),
    path("technologies/<slug:slug>/feed/", feeds.TechnologyFeed.as_view(), name="technology_feed"),
    path(
        "requests/<reference:reference>/feed/", feeds.RequestEventsFeed.as_view(), name="request_events_feed"
    ),
    path("calendar.ics", calendars.site_calendar, name="calendar"),
    path("agencies/<slug:slug>/calendar.ics", calendars.agency_calendar, name="agency_calendar"),
    path("requests/<reference:reference>/calendar.ics", calendars.request_calendar, name="request_calendar"),
    re_path(
        rf"^(?P<dataset>{'|'.join(downloads.DATASETS)})/download\.(?P<fmt>{'|'.join(downloads.FORMATS)})$",
        downloads.download,
        name="download",
    ),
    path("data/", downloads.data_dictionary, name="data_dictionary"),
    # The inventory in the Atlas of Surveillance's column layout (ordinances/atlas.py).
    path("data/atlas.csv", atlas.atlas_csv, name="atlas_csv"),
    path("search/", views.search, name="search"),
    # Status widgets other sites may frame (ordinances/embed.py).
    path("embed/technologies/<slug:slug>/", embed.technology_status, name="embed_technology"),
    path("embed/requests/<reference:reference>/", embed.request_status, name="embed_request"),
    # Public comment while a request's period is open (ordinances/participation.py).
    path("requests/<reference:reference>/comment/", views.request_comment, name="request_comment"),
    path(
        "requests/<reference:reference>/comment/thanks/",
        views.request_comment_thanks,
        name="request_comment_thanks",
    ),
    # The annual oversight summary, as a page and a PDF (ordinances/summary.py).
    path("summary/", views.summary_index, name="summary_index"),
    path("summary/<int:year>/", views.summary_year, name="summary_year"),
    path("summary/<int:year>.pdf", views.summary_pdf, name="summary_pdf"),
]

# The names the agency and technology filters suggest as a resident types
# (ordinances/choice_views.py, static/js/combobox.js).
urlpatterns += [
    path("choices/agencies/", choice_views.agency_choices, name="agency_choices"),
    path("choices/technologies/", choice_views.technology_choices, name="technology_choices"),
]

# Email alerts with no account (ordinances/alerts.py, alert_views.py): the form posts here;
# the emails link to the confirm and unsubscribe pages (GET shows a button, POST acts).
urlpatterns += [
    path("alerts/", alert_views.alert_subscribe, name="alert_subscribe"),
    path("alerts/check-your-inbox/", alert_views.alert_sent, name="alert_sent"),
    path("alerts/confirm/<str:token>/", alert_views.alert_confirm, name="alert_confirm"),
    path("alerts/unsubscribe/<str:token>/", alert_views.alert_unsubscribe, name="alert_unsubscribe"),
]

# Oversight after the decision (ordinances/oversight.py): emergency use, the violations
# register and annual surveillance reports.
urlpatterns += [
    path("emergency-use/", views.emergency_use_list, name="emergency_use_list"),
    path("violations/", views.violation_list, name="violation_list"),
    path("violations/<int:pk>/", views.violation_detail, name="violation_detail"),
    path("annual-reports/", views.annual_report_list, name="annual_report_list"),
    path("annual-reports/<int:pk>/", views.annual_report_detail, name="annual_report_detail"),
]
