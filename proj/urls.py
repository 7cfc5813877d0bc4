"""HTTP routes."""

from django.contrib import admin
from django.urls import include, path

from proj import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("metrics", health.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("sheets.web.urls")),
]
