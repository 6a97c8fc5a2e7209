from django.contrib import admin
from django.urls import include, path

from askonce.config.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("", include("askonce.oncall.urls")),
    path("", include("askonce.kb.urls")),
    path("", include("askonce.questions.urls")),
    path("", include("askonce.console.urls")),
]
