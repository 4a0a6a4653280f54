"""Top-level URL map. Page URLs are public contracts (see docs/architecture.md)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from accounts import views as account_views
from gallery import views as gallery_views
from generation import views as generation_views
from modelhub import views as modelhub_views
from social import views as social_views
from visionary import health
from visionary.metrics import metrics_view

admin.site.site_header = _("Visionary Art moderation")
admin.site.site_title = _("Visionary Art admin")

urlpatterns = [
    path("", gallery_views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("media/avatars/<str:name>", account_views.avatar_file, name="avatar"),
    path("u/<str:username>/", social_views.profile_detail, name="profile"),
    path("i18n/setlang/", account_views.language_set, name="set_language"),
    path("gallery/", include("gallery.urls")),
    # A model's page shows the pictures made with it, so the gallery (the higher app) serves it.
    path(
        "models/",
        include(
            (
                [
                    path("", modelhub_views.model_list, name="list"),
                    path("<int:pk>/", gallery_views.model_detail, name="detail"),
                ],
                "modelhub",
            )
        ),
    ),
    path("generate/", include("generation.urls")),
    path("live/", generation_views.live, name="live"),
    path("feed/", include("social.urls")),
    path("api/", include("visionary.api_urls")),
    path("sdapi/v1/", include("generation.sdapi.urls")),
    path(
        "moderation/",
        include(
            (
                [
                    path(
                        "withheld/<int:pk>.png",
                        gallery_views.withheld_file,
                        name="withheld_file",
                    )
                ],
                "moderation",
            )
        ),
    ),
]
