"""A1111 request and response bodies: field names and defaults as A1111's API has them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from generation.params import CLIP_SKIP, RANDOM_SEED, JobParams
from generation.sdapi.mapping import (
    A1111_DEFAULTS,
    BadImage,
    UnknownName,
    image_b64_decode,
    sampler_resolve,
)
from generation.sdapi.services import GenerationParams

# A1111 fields we accept and do nothing with, without a note when a client sends them (webuiapi
# sends most of them on every call with these no-op values).
QUIETLY_IGNORED = {
    "subseed",
    "subseed_strength",
    "seed_resize_from_h",
    "seed_resize_from_w",
    "save_images",
    "do_not_save_samples",
    "do_not_save_grid",
    "override_settings_restore_afterwards",
    "eta",
    "s_churn",
    "s_tmax",
    "s_tmin",
    "s_noise",
    "hr_scale",
    "hr_upscaler",
    "hr_second_pass_steps",
    "hr_resize_x",
    "hr_resize_y",
    "firstphase_width",
    "firstphase_height",
    "image_cfg_scale",
    "mask_blur",
    "inpainting_fill",
    "inpaint_full_res",
    "inpaint_full_res_padding",
    "inpainting_mask_invert",
    "initial_noise_multiplier",
    "resize_mode",
    "include_init_images",
}


class Txt2ImgRequestSerializer(serializers.Serializer):
    """A1111's StableDiffusionTxt2ImgProcessingAPI subset. Defaults are A1111's API defaults
    (mapping.A1111_DEFAULTS), except width/height: omitted, the model's native size. Ranges are
    checked by job_submit (generation.params), as A1111 leaves them to its pipeline."""

    prompt = serializers.CharField(
        default=A1111_DEFAULTS.prompt, allow_blank=True, trim_whitespace=False
    )
    negative_prompt = serializers.CharField(
        default=A1111_DEFAULTS.negative_prompt,
        allow_blank=True,
        allow_null=True,
        trim_whitespace=False,
    )
    seed = serializers.IntegerField(default=A1111_DEFAULTS.seed, allow_null=True)
    sampler_name = serializers.CharField(default=None, allow_null=True, allow_blank=True)
    sampler_index = serializers.CharField(
        default=A1111_DEFAULTS.sampler, allow_null=True, allow_blank=True
    )
    scheduler = serializers.CharField(default=None, allow_null=True, allow_blank=True)
    steps = serializers.IntegerField(default=A1111_DEFAULTS.steps)
    cfg_scale = serializers.FloatField(default=A1111_DEFAULTS.cfg_scale)
    width = serializers.IntegerField(default=A1111_DEFAULTS.width, allow_null=True)
    height = serializers.IntegerField(default=A1111_DEFAULTS.height, allow_null=True)
    batch_size = serializers.IntegerField(default=A1111_DEFAULTS.batch_size)
    n_iter = serializers.IntegerField(default=1, min_value=1)
    denoising_strength = serializers.FloatField(default=None, allow_null=True)
    override_settings = serializers.DictField(default=dict, allow_null=True)
    send_images = serializers.BooleanField(default=True)
    save_images = serializers.BooleanField(default=False, required=False)
    styles = serializers.ListField(child=serializers.CharField(), default=list, allow_null=True)

    is_img2img = False

    def validate_n_iter(self, value: int) -> int:
        # More than the per-member queue limit would be refused anyway.
        if value > settings.GENERATION_MAX_QUEUED_PER_USER:
            raise serializers.ValidationError(
                f"Ensure this value is less than or equal to "
                f"{settings.GENERATION_MAX_QUEUED_PER_USER}."
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        name = attrs.get("sampler_name") or attrs.get("sampler_index") or A1111_DEFAULTS.sampler
        try:
            attrs["sampler"] = sampler_resolve(name, attrs.get("scheduler"))
        except UnknownName as exc:
            field = exc.field
            if field == "sampler_name" and not attrs.get("sampler_name"):
                field = "sampler_index"
            raise serializers.ValidationError({field: str(exc)}) from exc
        return attrs

    def params(self, raw: dict[str, Any]) -> GenerationParams:
        data = self.validated_data
        overrides = data.get("override_settings") or {}
        clip_skip = overrides.get("CLIP_stop_at_last_layers")
        if clip_skip is not None and (not isinstance(clip_skip, int) or clip_skip not in CLIP_SKIP):
            message = f"Must be between {CLIP_SKIP.min} and {CLIP_SKIP.max}."
            raise serializers.ValidationError(
                {"override_settings": {"CLIP_stop_at_last_layers": message}}
            )
        checkpoint = overrides.get("sd_model_checkpoint")
        ignored = [
            key
            for key, value in raw.items()
            if key not in self.fields and key not in QUIETLY_IGNORED and value
        ]
        ignored += [
            f"override_settings.{key}"
            for key in overrides
            if key not in {"sd_model_checkpoint", "CLIP_stop_at_last_layers"}
        ]
        strength = data.get("denoising_strength")
        job = JobParams(
            prompt=data["prompt"],
            negative_prompt=data.get("negative_prompt") or "",
            seed=RANDOM_SEED if data.get("seed") is None else data["seed"],
            sampler=data["sampler"],
            steps=data["steps"],
            cfg_scale=data["cfg_scale"],
            width=data.get("width") or None,
            height=data.get("height") or None,
            batch_size=data["batch_size"],
            denoising_strength=A1111_DEFAULTS.denoising_strength if strength is None else strength,
        )
        return GenerationParams(
            job=job,
            n_iter=data["n_iter"],
            init_image=data.get("init_image"),
            checkpoint=str(checkpoint) if checkpoint else None,
            clip_skip=clip_skip,
            send_images=data["send_images"],
            ignored=sorted(ignored),
        )

    def parameters_echo(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The response's ``parameters``: the request as understood, with defaults filled in."""
        echo = {key: value for key, value in raw.items() if key != "init_images"}
        for key, value in self.validated_data.items():
            if key not in {"sampler", "init_image"}:
                echo[key] = value
        echo["sampler_name"] = self.validated_data["sampler"]
        if self.is_img2img:
            echo["init_images"] = raw.get("init_images") if raw.get("include_init_images") else None
        return echo


class Img2ImgRequestSerializer(Txt2ImgRequestSerializer):
    """A1111's StableDiffusionImg2ImgProcessingAPI subset: the first of ``init_images`` is the
    starting picture (base64, with or without a data: prefix)."""

    init_images = serializers.ListField(child=serializers.CharField(), allow_empty=False)
    include_init_images = serializers.BooleanField(default=False, required=False)

    is_img2img = True

    def validate_init_images(self, value: list[str]) -> list[str]:
        try:
            self._init_image = image_b64_decode(value[0])
        except BadImage as exc:
            raise serializers.ValidationError([str(exc)]) from exc
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        attrs["init_image"] = self._init_image
        return attrs


class GenerationResponseSerializer(serializers.Serializer):
    images = serializers.ListField(child=serializers.CharField(), help_text="Base64 PNGs.")
    parameters = serializers.DictField(help_text="The request, with defaults filled in.")
    info = serializers.CharField(help_text="JSON string: seeds, infotexts, model...")


class ProgressStateSerializer(serializers.Serializer):
    skipped = serializers.BooleanField()
    interrupted = serializers.BooleanField()
    job = serializers.CharField()
    job_count = serializers.IntegerField()
    job_timestamp = serializers.CharField()
    job_no = serializers.IntegerField()
    sampling_step = serializers.IntegerField()
    sampling_steps = serializers.IntegerField()


class ProgressResponseSerializer(serializers.Serializer):
    progress = serializers.FloatField()
    eta_relative = serializers.FloatField()
    state = ProgressStateSerializer()
    current_image = serializers.CharField(allow_null=True, help_text="Base64 JPEG preview.")
    textinfo = serializers.CharField(allow_null=True)


class SdModelSerializer(serializers.Serializer):
    title = serializers.CharField()
    model_name = serializers.CharField()
    hash = serializers.CharField()
    sha256 = serializers.CharField()
    filename = serializers.CharField()
    config = serializers.CharField(allow_null=True)


class SamplerItemSerializer(serializers.Serializer):
    name = serializers.CharField()
    aliases = serializers.ListField(child=serializers.CharField())
    options = serializers.DictField()


SCHEDULER_LIST_SCHEMA = inline_serializer(
    "SchedulerItem",
    many=True,
    fields={
        "name": serializers.CharField(),
        "label": serializers.CharField(),
        "aliases": serializers.ListField(child=serializers.CharField(), allow_null=True),
        "default_rho": serializers.FloatField(),
        "need_inner_model": serializers.BooleanField(),
    },
)


class LoraItemSerializer(serializers.Serializer):
    name = serializers.CharField()
    alias = serializers.CharField()
    path = serializers.CharField()
    metadata = serializers.DictField()


class PngInfoRequestSerializer(serializers.Serializer):
    image = serializers.CharField(help_text="Base64 image, with or without a data: prefix.")


class PngInfoResponseSerializer(serializers.Serializer):
    info = serializers.CharField()
    items = serializers.DictField()
    parameters = serializers.DictField()
