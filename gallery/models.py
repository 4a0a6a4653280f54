"""Pictures: private to their owner until published to the gallery."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from moderation.imagefilter import labels_describe, withheld_message
from visionary.levels import Level


def image_upload_to(instance: Any, filename: str) -> str:
    # Withheld pictures live under their own prefix: a bucket policy can keep it private.
    folder = "quarantine" if getattr(instance, "withheld_at", None) else "images"
    return f"{folder}/{uuid.uuid4().hex}.png"


class ShownImages(models.Manager["Image"]):
    """Pictures that may be served. Those the image classifier withheld (rated above the site's
    limit) are left out of every read that starts here; only moderators' views and the
    quarantine purge reach them, through ``Image.all_objects``."""

    def get_queryset(self) -> models.QuerySet[Image]:
        return super().get_queryset().filter(withheld_at__isnull=True)


class Image(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="images",
        verbose_name=_("owner"),
    )
    job = models.ForeignKey(
        "generation.GenerationJob",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="images",
        verbose_name=_("job"),
    )
    model_version = models.ForeignKey(
        "modelhub.ModelVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="images",
        verbose_name=_("model version"),
    )
    # The LoRAs the picture was made with (from its job), so a LoRA's hub page shows them.
    loras = models.ManyToManyField(
        "modelhub.ModelVersion",
        through="ImageLora",
        related_name="images_with_lora",
        blank=True,
        verbose_name=_("LoRAs"),
    )
    file = models.ImageField(_("file"), upload_to=image_upload_to)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    # The recipe: the A1111 infotext written into the PNG, and its parsed fields.
    infotext = models.TextField(_("generation parameters"), blank=True)
    prompt = models.TextField(_("prompt"), blank=True)
    negative_prompt = models.TextField(_("negative prompt"), blank=True)
    seed = models.BigIntegerField(_("seed"), null=True, blank=True)
    steps = models.PositiveSmallIntegerField(_("steps"), null=True, blank=True)
    sampler = models.CharField(_("sampler"), max_length=30, blank=True)
    cfg_scale = models.FloatField(_("CFG scale"), null=True, blank=True)
    # The image classifier's content level (null: made before classification existed) and the
    # detector labels that set it.
    level = models.PositiveSmallIntegerField(
        _("content level"), choices=Level.choices, null=True, blank=True, db_index=True
    )
    level_labels = models.CharField(_("classifier labels"), max_length=200, blank=True)
    # Set when the level was above the site's maximum: never served, deleted after retention.
    withheld_at = models.DateTimeField(_("withheld at"), null=True, blank=True, db_index=True)
    is_published = models.BooleanField(_("published"), default=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    all_objects = models.Manager()
    objects = ShownImages()  # the default (Meta.default_manager_name): withheld ones left out

    class Meta:
        ordering = ["-created_at"]
        base_manager_name = "all_objects"
        default_manager_name = "objects"
        permissions = [
            ("view_withheld_image", _("Can see pictures withheld by the image classifier")),
        ]
        indexes = [
            models.Index(fields=["is_published", "-published_at"], name="image_published"),
        ]
        verbose_name = _("image")
        verbose_name_plural = _("images")

    def __str__(self) -> str:
        return f"image {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("gallery:detail", kwargs={"pk": self.pk})

    def get_file_url(self) -> str:
        return reverse("gallery:file", kwargs={"pk": self.pk})

    @property
    def level_label(self) -> str:
        return Level(self.level).label if self.level is not None else ""

    @property
    def withheld_reason(self) -> str:
        if self.withheld_at is None or self.level is None:
            return ""
        return withheld_message(Level(self.level), labels_describe(self.level_labels.split()))


class ImageLora(models.Model):
    """A LoRA a picture was made with, at the weight its prompt gave it."""

    image = models.ForeignKey(
        Image, on_delete=models.CASCADE, related_name="lora_uses", verbose_name=_("image")
    )
    version = models.ForeignKey(
        "modelhub.ModelVersion",
        on_delete=models.CASCADE,
        related_name="lora_uses",
        verbose_name=_("LoRA version"),
    )
    weight = models.FloatField(_("weight"))

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["image", "version"], name="image_lora_unique"),
        ]
        verbose_name = _("LoRA used")
        verbose_name_plural = _("LoRAs used")

    def __str__(self) -> str:
        return f"{self.version} at {self.weight:g}"
