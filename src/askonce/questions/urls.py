from django.urls import path

from askonce.questions import views

urlpatterns = [
    path("console/kb/gaps/", views.gap_queue, name="gap-queue"),
    path("console/kb/gaps/<int:gap_id>/write", views.gap_write, name="gap-write"),
]
