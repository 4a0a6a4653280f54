from __future__ import annotations

from django.contrib import admin

from generation.models import GenerationJob


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ("pk", "user", "model_version", "state", "worker", "created_at", "finished_at")
    list_filter = ("state", "sampler")
    search_fields = ("prompt", "user__username")
    raw_id_fields = ("user", "model_version")
    list_select_related = ("user", "model_version__model")
    readonly_fields = ("created_at", "started_at", "finished_at", "attempts", "worker", "error")
