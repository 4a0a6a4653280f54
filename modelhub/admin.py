from __future__ import annotations

from django.contrib import admin

from modelhub.models import AIModel, ModelFile, ModelVersion


class ModelVersionInline(admin.TabularInline):
    model = ModelVersion
    extra = 0


class ModelFileInline(admin.TabularInline):
    model = ModelFile
    extra = 0
    readonly_fields = ("sha256", "size_bytes")


@admin.register(AIModel)
class AIModelAdmin(admin.ModelAdmin):
    list_display = ("name", "type", "owner", "is_builtin", "created_at")
    list_filter = ("type", "is_builtin")
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner",)
    inlines = [ModelVersionInline]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "base_model", "is_default", "created_at")
    list_filter = ("base_model", "is_default")
    list_select_related = ("model",)
    inlines = [ModelFileInline]
