"""The generation form: field-level validation; the service re-checks model-specific limits."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from generation.params import (
    BATCH_SIZE,
    CFG_SCALE,
    CLIP_SKIP,
    DEFAULTS,
    DENOISING_STRENGTH_ASKED,
    FALLBACK_CFG_SCALE,
    PROMPT_MAX_CHARS,
    SEED,
    SIZE_MIN,
    STEPS,
    Sampler,
)
from modelhub.models import ModelVersion
from modelhub.selectors import version_default, versions_generatable

# The sizes offered; job_submit checks them against the chosen model's largest side.
SIZE_CHOICES = [(n, f"{n}") for n in (SIZE_MIN, 128, 192, 256, 384, 512, 768, 1024)]


class VersionChoiceField(forms.ModelChoiceField[ModelVersion]):
    def label_from_instance(self, obj: ModelVersion) -> str:
        return str(obj)


class GenerateForm(forms.Form):
    model_version = VersionChoiceField(
        label=_("Model"), queryset=ModelVersion.objects.none(), empty_label=None
    )
    prompt = forms.CharField(
        label=_("Prompt"),
        max_length=PROMPT_MAX_CHARS,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": _("a red circle on a blue background")}
        ),
    )
    negative_prompt = forms.CharField(
        label=_("Negative prompt"),
        max_length=PROMPT_MAX_CHARS,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    init_image = forms.FileField(
        label=_("Starting picture"),
        required=False,
        help_text=_(
            "Optional (img2img): PNG, JPEG, WebP or GIF; the new picture grows from this one."
        ),
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp,image/gif"}),
    )
    denoising_strength = forms.FloatField(
        label=_("Denoising strength"),
        min_value=DENOISING_STRENGTH_ASKED.min,
        max_value=DENOISING_STRENGTH_ASKED.max,
        initial=DEFAULTS.denoising_strength,
        required=False,
        help_text=_("How much of the starting picture is repainted: low keeps it, 1 replaces it."),
        widget=forms.NumberInput(
            attrs={
                "type": "range",
                "step": "0.05",
                "min": f"{DENOISING_STRENGTH_ASKED.min:g}",
                "data-show-value": "1",
            }
        ),
    )
    sampler = forms.ChoiceField(
        label=_("Sampler"), choices=Sampler.choices, initial=DEFAULTS.sampler
    )
    steps = forms.IntegerField(
        label=_("Steps"),
        min_value=STEPS.min,
        max_value=STEPS.max,
        initial=DEFAULTS.steps,
        widget=forms.NumberInput(attrs={"type": "range", "data-show-value": "1"}),
    )
    cfg_scale = forms.FloatField(
        label=_("CFG scale"),
        min_value=CFG_SCALE.min,
        max_value=CFG_SCALE.max,
        initial=FALLBACK_CFG_SCALE,
        widget=forms.NumberInput(attrs={"type": "range", "step": "0.5", "data-show-value": "1"}),
    )
    width = forms.TypedChoiceField(label=_("Width"), choices=SIZE_CHOICES, coerce=int)
    height = forms.TypedChoiceField(label=_("Height"), choices=SIZE_CHOICES, coerce=int)
    batch_size = forms.TypedChoiceField(
        label=_("Pictures"),
        choices=[(n, str(n)) for n in range(BATCH_SIZE.min, BATCH_SIZE.max + 1)],
        coerce=int,
        initial=DEFAULTS.batch_size,
        help_text=_("Made together in one run; picture n uses seed + n − 1."),
    )
    clip_skip = forms.IntegerField(
        label=_("Clip skip"),
        min_value=CLIP_SKIP.min,
        max_value=CLIP_SKIP.max,
        initial=DEFAULTS.clip_skip,
        help_text=_(
            "1 uses the text encoder's last layer; 2 (popular for anime models) the one before."
        ),
    )
    share_live = forms.BooleanField(
        label=_("Let anyone watch this picture form on the live page"),
        required=False,
        help_text=_("Watchers see the progress and previews, not the finished picture."),
    )
    seed = forms.IntegerField(
        label=_("Seed"),
        min_value=SEED.min,
        max_value=SEED.max,
        initial=DEFAULTS.seed,
        help_text=_("-1 picks a random seed."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model_version"].queryset = versions_generatable()  # type: ignore[attr-defined]
        default = version_default()
        if default is not None:
            self.fields["model_version"].initial = default.pk
            self.fields["width"].initial = default.default_width
            self.fields["height"].initial = default.default_height
            self.fields["cfg_scale"].initial = default.default_cfg_scale

    def clean_init_image(self) -> bytes | None:
        """The starting picture's bytes, read no further than one byte past the size limit (the
        service says what is wrong with a picture that is too big or not a picture)."""
        upload: UploadedFile | None = self.cleaned_data.get("init_image")
        if not upload:
            return None
        upload.seek(0)
        data: bytes = upload.read(settings.GENERATION_INIT_IMAGE_MAX_BYTES + 1)
        return data

    def clean_denoising_strength(self) -> float:
        # Absent when the slider is disabled (no starting picture chosen).
        strength: float | None = self.cleaned_data.get("denoising_strength")
        return DEFAULTS.denoising_strength if strength is None else strength

    def remembered(self) -> dict[str, Any]:
        """What the page pre-fills next time (the member's last settings, not the picture)."""
        data = dict(self.cleaned_data)
        data.pop("init_image", None)
        data["model_version"] = data["model_version"].pk
        return data
