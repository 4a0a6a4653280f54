from __future__ import annotations

from django.contrib import admin

from gallery.models import Image


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("pk", "owner", "model_version", "is_published", "created_at")
    list_filter = ("is_published",)
    search_fields = ("prompt", "owner__username")
    raw_id_fields = ("owner", "job", "model_version")
    list_select_related = ("owner", "model_version__model")
    readonly_fields = ("infotext",)
