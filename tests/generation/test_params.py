"""Job parameters have one home (generation.params): the job model, the generate form, the jobs
API and the A1111 API take their limits and defaults from it."""

from __future__ import annotations

import pytest

from generation import params
from generation.api.serializers import JobCreateSerializer
from generation.forms import GenerateForm
from generation.models import GenerationJob, SdApiOptions
from generation.sdapi.mapping import A1111_DEFAULTS
from generation.sdapi.serializers import Txt2ImgRequestSerializer

NUMERIC = {
    "seed": params.SEED,
    "steps": params.STEPS,
    "cfg_scale": params.CFG_SCALE,
    "clip_skip": params.CLIP_SKIP,
    "batch_size": params.BATCH_SIZE,
}


def _model_bounds(model: type, name: str) -> tuple[object, object]:
    validators = model._meta.get_field(name).validators
    low = next(v.limit_value for v in validators if v.code == "min_value")
    high = next(v.limit_value for v in validators if v.code == "max_value")
    return low, high


@pytest.mark.parametrize("name", sorted(NUMERIC))
def test_the_model_the_form_and_the_api_share_each_limit(db, name):
    bounds = NUMERIC[name]
    assert _model_bounds(GenerationJob, name) == (bounds.min, bounds.max)
    api = JobCreateSerializer().fields[name]
    assert (api.min_value, api.max_value) == (bounds.min, bounds.max)
    form = GenerateForm().fields[name]
    if name == "batch_size":
        offered = [value for value, _label in form.choices]
        assert offered == list(range(bounds.min, bounds.max + 1))
    else:
        assert (form.min_value, form.max_value) == (bounds.min, bounds.max)


def test_the_model_the_form_and_the_api_share_the_defaults(db):
    form = GenerateForm()
    api = JobCreateSerializer().fields
    for name in ("seed", "steps", "sampler", "batch_size", "clip_skip", "denoising_strength"):
        default = getattr(params.DEFAULTS, name)
        assert form.fields[name].initial == default
        assert api[name].default == default
        if name != "denoising_strength":  # a text-to-image job has none
            assert GenerationJob._meta.get_field(name).default == default
    assert _model_bounds(GenerationJob, "denoising_strength") == (0.0, 1.0)
    assert _model_bounds(SdApiOptions, "clip_skip") == (params.CLIP_SKIP.min, params.CLIP_SKIP.max)


def test_the_a1111_api_keeps_a1111s_defaults():
    fields = Txt2ImgRequestSerializer().fields
    assert fields["steps"].default == A1111_DEFAULTS.steps == 50
    assert fields["cfg_scale"].default == A1111_DEFAULTS.cfg_scale == 7.0
    assert fields["sampler_index"].default == A1111_DEFAULTS.sampler == "Euler"


def test_a_random_seed_leaves_room_for_every_picture_of_a_batch(monkeypatch):
    monkeypatch.setattr(params.secrets, "randbelow", lambda n: n - 1)
    assert params.random_seed() + params.BATCH_SIZE.max - 1 <= params.SEED.max


@pytest.mark.parametrize(
    ("side", "allowed"), [(64, True), (256, True), (56, False), (100, False), (264, False)]
)
def test_a_side_is_a_multiple_of_eight_up_to_the_models_largest(side, allowed):
    assert params.size_allowed(side, largest=256) is allowed


def test_bounds_refuse_booleans_and_other_types():
    assert 12 in params.CLIP_SKIP and 13 not in params.CLIP_SKIP
    assert True not in params.CLIP_SKIP and "3" not in params.CLIP_SKIP
