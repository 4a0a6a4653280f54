"""URL map of the REST API (/api/v1/) and its OpenAPI schema and docs (/api/schema/, /api/docs/)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from accounts.api import ApiTokenViewSet, MeView
from generation.api.views import JobViewSet
from modelhub.api import AIModelViewSet, LoraViewSet, VersionViewSet
from visionary.api.views import NotFoundView

router = DefaultRouter()
router.include_root_view = False
router.register("jobs", JobViewSet, basename="job")
router.register("models", AIModelViewSet, basename="model")
router.register("versions", VersionViewSet, basename="version")
router.register("loras", LoraViewSet, basename="lora")
router.register("tokens", ApiTokenViewSet, basename="token")

app_name = "api"

urlpatterns: list[URLPattern | URLResolver] = [
    path("v1/me/", MeView.as_view(), name="me"),
    path("v1/", include(router.urls)),
    # The whole schema (/api/v1/ and /sdapi/v1/); JSON with ?format=json or Accept: application/json.
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    re_path(r"^.*$", NotFoundView.as_view(), name="not_found"),
]
