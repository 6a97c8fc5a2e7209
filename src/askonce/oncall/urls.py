"""On-call URLs outside /api/v1: monitoring tools' receivers, the links in page mails, and each
person's calendar feed (no session: the secret address is the credential)."""

from django.urls import path

from askonce.oncall import integrations, views

urlpatterns = [
    path("v2/enqueue", integrations.pagerduty_enqueue, name="pagerduty-enqueue"),
    path("integrations/alertmanager", integrations.alertmanager_webhook, name="alertmanager"),
    path(
        "integrations/alertmanager/<str:routing_key>",
        integrations.alertmanager_webhook,
        name="alertmanager-keyed",
    ),
    path("pages/link/<str:token>/", views.page_link, name="page-link"),
    path("oncall/calendar/<str:token>.ics", views.calendar_feed, name="oncall-calendar-feed"),
]
