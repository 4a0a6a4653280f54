"""URL map of the REST API (/api/v1/) and its OpenAPI schema and docs (/api/schema/, /api/docs/)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
