"""Pictures: private to their owner until published to the gallery."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


def image_upload_to(instance: Any, filename: str) -> str:
    return f"images/{uuid.uuid4().hex}.png"


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
    is_published = models.BooleanField(_("published"), default=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
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
