"""Paging URLs outside /api/v1: monitoring tools' receivers and the links in page mails."""

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
]
