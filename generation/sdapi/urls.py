"""URL map of /sdapi/v1/ (A1111's paths)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "sdapi"

urlpatterns: list[URLPattern | URLResolver] = []
