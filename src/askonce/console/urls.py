from django.contrib.auth import views as auth_views
from django.urls import path

from askonce.console import oncall_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="console/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("console/", views.agent_queue, name="agent-queue"),
    path("console/teams/<slug:slug>/", views.team_queue, name="team-queue"),
    path("console/tickets/<int:ticket_id>/", views.agent_ticket, name="agent-ticket"),
    path(
        "console/tickets/<int:ticket_id>/<str:action>/",
        views.agent_ticket_action,
        name="agent-ticket-action",
    ),
    path("attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("console/pages/", views.page_list, name="pages"),
    path("console/pages/<int:page_id>/<str:action>/", views.page_action, name="page-action"),
    path("console/schedules/", oncall_views.schedule_list, name="schedules"),
    path("console/schedules/<slug:slug>/", oncall_views.schedule_detail, name="schedule"),
    path(
        "console/schedules/<slug:slug>/overrides/new/",
        oncall_views.override_new,
        name="schedule-override-new",
    ),
    path(
        "console/schedules/<slug:slug>/overrides/<int:override_id>/",
        oncall_views.override_edit,
        name="schedule-override",
    ),
    path(
        "console/schedules/<slug:slug>/overrides/<int:override_id>/remove/",
        oncall_views.override_remove,
        name="schedule-override-remove",
    ),
    path(
        "console/schedules/<slug:slug>/layers/<int:layer_id>/",
        oncall_views.layer_edit,
        name="schedule-layer",
    ),
    path("console/my-shifts/", oncall_views.my_shifts, name="my-shifts"),
    path(
        "console/my-shifts/calendar-feed/",
        oncall_views.calendar_feed_renew,
        name="my-shifts-feed-renew",
    ),
    path(
        "console/my-shifts/calendar-feed/off/",
        oncall_views.calendar_feed_revoke,
        name="my-shifts-feed-revoke",
    ),
    path("portal/", views.portal_home, name="portal"),
    path("portal/new/", views.portal_new_ticket, name="portal-new"),
    path("portal/tickets/<int:ticket_id>/", views.portal_ticket, name="portal-ticket"),
]
