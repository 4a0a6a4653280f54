"""Serializers of the jobs API: what a request may carry and what a job looks like."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.conf import settings
from drf_spectacular.utils import (
    extend_schema_field,
)
from rest_framework import serializers

from gallery.models import Image
from generation.models import GenerationJob
from generation.params import (
    BATCH_SIZE,
    CFG_SCALE,
    CLIP_SKIP,
    DEFAULTS,
    DENOISING_STRENGTH_ASKED,
    PROMPT_MAX_CHARS,
    SEED,
    SIZE_MAX,
    SIZE_MIN,
    SIZE_MULTIPLE,
    STEPS,
    Sampler,
)
from generation.selectors import job_status
from modelhub.models import ModelVersion
from modelhub.selectors import version_default, versions_generatable

SIZE_HELP = f"Multiple of {SIZE_MULTIPLE}; model default."
# Database ids are 64-bit: a larger number is "not found", never an overflow.
MAX_ID = 2**63 - 1


class JobCreateSerializer(serializers.Serializer[Any]):
    """What a client sends to generate; the service checks what depends on the model."""

    model_version = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text="A generatable version's id (GET /api/v1/versions/); the site default if left out.",
    )
    prompt = serializers.CharField(
        max_length=PROMPT_MAX_CHARS, help_text="May name LoRAs: <lora:name:0.8>."
    )
    negative_prompt = serializers.CharField(
        max_length=PROMPT_MAX_CHARS,
        required=False,
        allow_blank=True,
        default=DEFAULTS.negative_prompt,
    )
    seed = serializers.IntegerField(min_value=SEED.min, max_value=SEED.max, default=DEFAULTS.seed)
    steps = serializers.IntegerField(
        min_value=STEPS.min, max_value=STEPS.max, default=DEFAULTS.steps
    )
    cfg_scale = serializers.FloatField(
        min_value=CFG_SCALE.min,
        max_value=CFG_SCALE.max,
        required=False,
        help_text="The model's recommended scale.",
    )
    width = serializers.IntegerField(
        min_value=SIZE_MIN, max_value=SIZE_MAX, required=False, help_text=SIZE_HELP
    )
    height = serializers.IntegerField(
        min_value=SIZE_MIN, max_value=SIZE_MAX, required=False, help_text=SIZE_HELP
    )
    sampler = serializers.ChoiceField(choices=Sampler.choices, default=DEFAULTS.sampler)
    batch_size = serializers.IntegerField(
        min_value=BATCH_SIZE.min, max_value=BATCH_SIZE.max, default=DEFAULTS.batch_size
    )
    clip_skip = serializers.IntegerField(
        min_value=CLIP_SKIP.min, max_value=CLIP_SKIP.max, default=DEFAULTS.clip_skip
    )
    init_image = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="img2img: the starting picture as base64 (a data: URL works too).",
    )
    denoising_strength = serializers.FloatField(
        min_value=DENOISING_STRENGTH_ASKED.min,
        max_value=DENOISING_STRENGTH_ASKED.max,
        default=DEFAULTS.denoising_strength,
    )
    share_live = serializers.BooleanField(default=False)

    def validate_model_version(self, value: int) -> ModelVersion:
        version = versions_generatable().filter(pk=value).first()
        if version is None:
            raise serializers.ValidationError("No generatable model version with this id.")
        return version

    def validate_init_image(self, value: str) -> bytes | None:
        if not value:
            return None
        encoded = value.split(",", 1)[1] if value.startswith("data:") else value
        # base64 is 4/3 of the bytes; refuse before decoding anything far too big.
        if len(encoded) > settings.GENERATION_INIT_IMAGE_MAX_BYTES * 4 // 3 + 8:
            raise serializers.ValidationError("The picture is too big.")
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise serializers.ValidationError("Not valid base64.") from exc

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("model_version") is None:
            default = version_default()
            if default is None:
                raise serializers.ValidationError(
                    {"model_version": "No model can generate on this site yet."}
                )
            attrs["model_version"] = default
        attrs["init_image"] = attrs.get("init_image") or None
        return attrs


class ProgressSerializer(serializers.Serializer[Any]):
    step = serializers.IntegerField()
    total = serializers.IntegerField()
    eta_s = serializers.FloatField(allow_null=True, help_text="Seconds left, when running.")


class JobSerializer(serializers.ModelSerializer[GenerationJob]):
    model_name = serializers.SerializerMethodField()
    img2img = serializers.BooleanField(source="is_img2img", read_only=True)
    url = serializers.SerializerMethodField(help_text="The job's page on the site.")

    class Meta:
        model = GenerationJob
        fields = [
            "id",
            "state",
            "model_version",
            "model_name",
            "prompt",
            "negative_prompt",
            "seed",
            "seed_used",
            "steps",
            "cfg_scale",
            "width",
            "height",
            "sampler",
            "batch_size",
            "clip_skip",
            "loras",
            "img2img",
            "denoising_strength",
            "share_live",
            "error",
            "blocked_category",
            "created_at",
            "started_at",
            "finished_at",
            "url",
        ]
        read_only_fields = fields

    def get_model_name(self, job: GenerationJob) -> str:
        return str(job.model_version)

    def get_url(self, job: GenerationJob) -> str:
        request = self.context.get("request")
        path = job.get_absolute_url()
        return request.build_absolute_uri(path) if request else path


class WithheldSerializer(serializers.Serializer[Any]):
    level = serializers.CharField(help_text="PG-13, R or X: above the site's limit.")
    reason = serializers.CharField()


class JobDetailSerializer(JobSerializer):
    """One job with where it stands now (the same document the job page polls)."""

    progress = serializers.SerializerMethodField()
    queue_position = serializers.SerializerMethodField()
    images = serializers.SerializerMethodField()
    withheld = serializers.SerializerMethodField(
        help_text="One notice per picture the image classifier withheld: level and reason."
    )

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "progress", "queue_position", "images", "withheld"]
        read_only_fields = fields

    def _status(self, job: GenerationJob) -> dict[str, Any]:
        # Computed once per job and serializer (three fields read it).
        cached: dict[int, dict[str, Any]] = self.__dict__.setdefault("_status_cache", {})
        if job.pk not in cached:
            cached[job.pk] = job_status(job=job)
        return cached[job.pk]

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, job: GenerationJob) -> dict[str, Any]:
        progress: dict[str, Any] = self._status(job)["progress"]
        return progress

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_queue_position(self, job: GenerationJob) -> int | None:
        position: int | None = self._status(job)["queue_position"]
        return position

    @extend_schema_field(serializers.ListField(child=serializers.URLField()))
    def get_images(self, job: GenerationJob) -> list[str]:
        request = self.context.get("request")
        urls: list[str] = self._status(job)["images"]
        return [request.build_absolute_uri(url) if request else url for url in urls]

    @extend_schema_field(serializers.ListField(child=WithheldSerializer()))
    def get_withheld(self, job: GenerationJob) -> list[dict[str, str]]:
        notices: list[dict[str, str]] = self._status(job)["withheld"]
        return notices


class ResultSerializer(serializers.ModelSerializer[Image]):
    url = serializers.SerializerMethodField(help_text="The PNG (infotext in its text chunk).")
    page_url = serializers.SerializerMethodField()
    published = serializers.BooleanField(source="is_published", read_only=True)
    level = serializers.CharField(
        source="level_label", read_only=True, help_text="The image classifier's rating."
    )
    png_base64 = serializers.SerializerMethodField(
        help_text="The PNG as base64, only with ?include=data (token clients cannot use url)."
    )

    class Meta:
        model = Image
        fields = [
            "id",
            "url",
            "page_url",
            "width",
            "height",
            "seed",
            "infotext",
            "level",
            "published",
            "png_base64",
        ]
        read_only_fields = fields

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_url(self, image: Image) -> str:
        return self._absolute(image.get_file_url())

    def get_page_url(self, image: Image) -> str:
        return self._absolute(image.get_absolute_url())

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_png_base64(self, image: Image) -> str | None:
        if not self.context.get("include_data"):
            return None
        with image.file.open("rb") as fh:
            return base64.b64encode(fh.read()).decode("ascii")
