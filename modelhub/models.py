"""Models people generate with: AIModel -> ModelVersion -> ModelFile."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class AIModel(models.Model):
    class Type(models.TextChoices):
        CHECKPOINT = "checkpoint", _("Checkpoint")
        LORA = "lora", _("LoRA")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ai_models",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=100, unique=True)
    type = models.CharField(_("type"), max_length=20, choices=Type.choices)
    description = models.TextField(_("description"), blank=True)
    is_builtin = models.BooleanField(_("built in"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("AI model")
        verbose_name_plural = _("AI models")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("modelhub:detail", kwargs={"pk": self.pk})


class ModelVersion(models.Model):
    class BaseModel(models.TextChoices):
        SD15 = "sd15", "SD 1.5"
        SD21 = "sd21", "SD 2.1"
        SDXL = "sdxl", "SDXL 1.0"
        TINY = "tiny", _("Tiny (built in)")
        SHAPES = "shapes", _("Visionary Shapes (built in)")

    model = models.ForeignKey(
        AIModel, on_delete=models.CASCADE, related_name="versions", verbose_name=_("model")
    )
    name = models.CharField(_("version name"), max_length=60)
    base_model = models.CharField(_("base model"), max_length=10, choices=BaseModel.choices)
    default_width = models.PositiveIntegerField(_("default width"), default=512)
    default_height = models.PositiveIntegerField(_("default height"), default=512)
    max_size = models.PositiveIntegerField(_("largest side"), default=1024)
    # What the generate form and the REST API use when a request names no CFG scale.
    default_cfg_scale = models.FloatField(
        _("recommended CFG scale"),
        default=7.0,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
    )
    is_default = models.BooleanField(_("site default"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["model__name", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["model", "name"], name="unique_version_name"),
        ]
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")

    def __str__(self) -> str:
        return f"{self.model.name} {self.name}"


class ModelFile(models.Model):
    class Format(models.TextChoices):
        DIFFUSERS = "diffusers", _("diffusers folder")
        SAFETENSORS = "safetensors", _("single .safetensors file")

    version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="files", verbose_name=_("version")
    )
    format = models.CharField(_("format"), max_length=20, choices=Format.choices)
    # Relative to settings.MODELS_DIR: workers read weights from local disk.
    path = models.CharField(_("path"), max_length=500)
    size_bytes = models.BigIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("model file")
        verbose_name_plural = _("model files")

    def __str__(self) -> str:
        return self.path

    @property
    def autov2(self) -> str:
        """A1111's short model hash: the first 10 hex digits of the SHA-256."""
        return self.sha256[:10]

    @property
    def local_path(self) -> Path:
        return Path(settings.MODELS_DIR) / self.path
