from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from generation.models import GenerationJob
from generation.worker_stats import model_cache_stats_all


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ("pk", "user", "model_version", "state", "worker", "created_at", "finished_at")
    list_filter = ("state", "sampler")
    search_fields = ("prompt", "user__username")
    raw_id_fields = ("user", "model_version")
    list_select_related = ("user", "model_version__model")
    readonly_fields = ("created_at", "started_at", "finished_at", "attempts", "worker", "error")
    change_list_template = "admin/generation/generationjob/change_list.html"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The job list, headed by each worker's model cache figures."""
        context = {**(extra_context or {}), "model_cache_stats": model_cache_stats_all()}
        return super().changelist_view(request, extra_context=context)
