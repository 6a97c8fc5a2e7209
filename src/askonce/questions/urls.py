from django.urls import path

from askonce.questions import views

urlpatterns = [
    path("console/kb/gaps/", views.gap_queue, name="gap-queue"),
    path("console/kb/gaps/<int:gap_id>/write", views.gap_write, name="gap-write"),
    path("console/kb/overlaps/", views.overlap_queue, name="overlap-queue"),
    path(
        "console/kb/overlaps/<int:overlap_id>/decide", views.overlap_decide, name="overlap-decide"
    ),
    path("console/kb/kcs/", views.kcs_dashboard, name="kcs-dashboard"),
]
