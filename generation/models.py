"""Generation jobs: the database is the job store; Celery messages only wake workers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from generation.params import (
    BATCH_SIZE,
    CFG_SCALE,
    CLIP_SKIP,
    DEFAULTS,
    DENOISING_STRENGTH,
    FALLBACK_CFG_SCALE,
    FALLBACK_SIZE,
    PROMPT_MAX_CHARS,
    SEED,
    STEPS,
    Sampler,
)
from moderation.models import FilterTerm


class GenerationJob(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        BLOCKED = "blocked", _("Blocked")

    FINISHED_STATES = (State.SUCCEEDED, State.FAILED, State.CANCELLED, State.BLOCKED)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="generation_jobs",
        verbose_name=_("user"),
    )
    model_version = models.ForeignKey(
        "modelhub.ModelVersion",
        on_delete=models.PROTECT,
        related_name="jobs",
        verbose_name=_("model version"),
    )
    prompt = models.TextField(_("prompt"), max_length=PROMPT_MAX_CHARS)
    negative_prompt = models.TextField(
        _("negative prompt"), max_length=PROMPT_MAX_CHARS, blank=True
    )
    seed = models.BigIntegerField(_("seed"), default=DEFAULTS.seed, validators=SEED.validators())
    seed_used = models.BigIntegerField(_("seed used"), null=True, blank=True)
    steps = models.PositiveSmallIntegerField(
        _("steps"), default=DEFAULTS.steps, validators=STEPS.validators()
    )
    cfg_scale = models.FloatField(
        _("CFG scale"), default=FALLBACK_CFG_SCALE, validators=CFG_SCALE.validators()
    )
    width = models.PositiveIntegerField(_("width"), default=FALLBACK_SIZE)
    height = models.PositiveIntegerField(_("height"), default=FALLBACK_SIZE)
    sampler = models.CharField(
        _("sampler"), max_length=30, choices=Sampler.choices, default=DEFAULTS.sampler
    )
    clip_skip = models.PositiveSmallIntegerField(
        _("clip skip"), default=DEFAULTS.clip_skip, validators=CLIP_SKIP.validators()
    )
    # Pictures made by one pipeline call; picture i uses seed + i (as AUTOMATIC1111 does).
    batch_size = models.PositiveSmallIntegerField(
        _("batch size"), default=DEFAULTS.batch_size, validators=BATCH_SIZE.validators()
    )

    # LoRAs named in the prompt with <lora:name:weight>, resolved when the job was submitted:
    # [{"version": id, "name": str, "weight": float, "hash": AutoV2, "sha256": str}, ...]
    loras = models.JSONField(_("LoRAs"), default=list, blank=True)
    # img2img: the starting picture (re-encoded PNG) and how much of it is redone (0-1).
    init_image = models.FileField(
        _("initial image"), upload_to="generation/init/%Y/%m/", blank=True, max_length=300
    )
    denoising_strength = models.FloatField(
        _("denoising strength"),
        null=True,
        blank=True,
        validators=DENOISING_STRENGTH.validators(),
    )
    # Jobs with equal keys can share one batched pipeline call (same model, size, sampler, steps,
    # CFG, clip skip and LoRA set); empty for jobs that always run alone (img2img).
    batch_key = models.CharField(_("batch key"), max_length=64, blank=True, db_index=True)

    share_live = models.BooleanField(
        _("share live"),
        default=False,
        help_text=_("Anyone may watch this generation form on the live page."),
    )
    # SHA-256 of the model file and every parameter that decides the pixels (result cache key).
    fingerprint = models.CharField(_("fingerprint"), max_length=64, blank=True, db_index=True)

    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.QUEUED, db_index=True
    )
    progress_step = models.PositiveSmallIntegerField(_("step reached"), default=0)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    worker = models.CharField(_("worker"), max_length=200, blank=True)
    # Written by the running worker; the reaper requeues a job whose heartbeat went stale.
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    # The prompt filter's verdict: the category that blocked the job (never the matched term),
    # and the categories of "flag" terms found in a prompt that was let through.
    blocked_category = models.CharField(
        _("blocked for"),
        max_length=20,
        choices=FilterTerm.Categories.choices,
        blank=True,
        db_index=True,
    )
    flagged_categories = models.JSONField(_("flagged for"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "created_at"], name="job_state_created")]
        verbose_name = _("generation job")
        verbose_name_plural = _("generation jobs")

    def __str__(self) -> str:
        return f"job {self.pk} ({self.state})"

    def get_absolute_url(self) -> str:
        return reverse("generation:job", kwargs={"pk": self.pk})

    @property
    def is_img2img(self) -> bool:
        return bool(self.init_image)

    @property
    def steps_total(self) -> int:
        """Steps actually run: img2img redoes only the last ``denoising_strength`` of them."""
        if self.is_img2img and self.denoising_strength is not None:
            return max(1, min(self.steps, int(self.steps * self.denoising_strength)))
        return self.steps

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED_STATES


class SdApiOptions(models.Model):
    """A member's settings for the A1111-compatible API (POST /sdapi/v1/options): A1111 keeps them
    per server, we keep them per member so one member's model switch never changes another's."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="sdapi_options",
        verbose_name=_("user"),
    )
    # None (or a version no longer generatable): the site's default model.
    model_version = models.ForeignKey(
        "modelhub.ModelVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("model version"),
    )
    # A1111's CLIP_stop_at_last_layers.
    clip_skip = models.PositiveSmallIntegerField(
        _("clip skip"), default=DEFAULTS.clip_skip, validators=CLIP_SKIP.validators()
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("A1111 API options")
        verbose_name_plural = _("A1111 API options")

    def __str__(self) -> str:
        return f"A1111 API options of user {self.user_id}"
