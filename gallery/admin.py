from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from gallery.models import Image, ImageLora


class WithheldFilter(admin.SimpleListFilter):
    title = _("withheld")
    parameter_name = "withheld"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", str(_("Withheld (quarantine)"))), ("no", str(_("Shown")))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Image]) -> QuerySet[Image]:
        if self.value() == "yes":
            return queryset.filter(withheld_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(withheld_at__isnull=True)
        return queryset


class ImageLoraInline(admin.TabularInline):
    model = ImageLora
    extra = 0
    raw_id_fields = ("version",)
    verbose_name_plural = _("LoRAs used")


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    inlines = (ImageLoraInline,)
    list_display = ("pk", "owner", "model_version", "level", "withheld_at", "is_published")
    list_filter = (WithheldFilter, "level", "is_published")
    search_fields = ("prompt", "owner__username")
    raw_id_fields = ("owner", "job", "model_version")
    list_select_related = ("owner", "model_version__model")
    readonly_fields = ("infotext", "level", "level_labels", "withheld_at", "picture")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Pictures come from generation jobs (with their files and recipes), never from a blank
        # admin form: the add page crashed on the picture preview of an unsaved row.
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Image]:
        """Moderators see every picture, the withheld ones included (the default manager hides
        them everywhere else)."""
        images = Image.all_objects.select_related("owner", "model_version__model")
        if not request.user.has_perm("gallery.view_withheld_image"):
            images = images.filter(withheld_at__isnull=True)
        return images

    @admin.display(description=_("picture"))
    def picture(self, image: Image) -> str:
        url = (
            reverse("moderation:withheld_file", kwargs={"pk": image.pk})
            if image.withheld_at
            else image.get_file_url()
        )
        return format_html('<a href="{0}"><img src="{0}" width="256" alt=""></a>', url)
