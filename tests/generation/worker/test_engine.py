"""The diffusion engine on its own: infotext, samplers, the byte-bounded cache, the runner."""

from __future__ import annotations

import base64
import io
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from diffusers import DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler
from PIL import Image

from generation.infotext import Recipe, infotext_build, png_read_infotext, png_with_infotext
from generation.worker.engine.cache import ModelCache, ModelTooLarge, pipeline_nbytes
from generation.worker.engine.loading import pipeline_load
from generation.worker.engine.previews import latents_to_preview, preview_data_url
from generation.worker.engine.runner import Interrupted, TextToImage, text_to_image
from generation.worker.engine.samplers import SAMPLERS, UnknownSampler, scheduler_for

RECIPE = Recipe(
    prompt="a red circle",
    negative_prompt="blurry",
    steps=20,
    sampler="Euler a",
    cfg_scale=7.0,
    seed=123,
    width=512,
    height=512,
    model_hash="0123456789",
    model_name="Visionary Tiny",
)


def test_infotext_follows_a1111_layout():
    assert infotext_build(RECIPE) == (
        "a red circle\nNegative prompt: blurry\n"
        "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 123, Size: 512x512, "
        "Model hash: 0123456789, Model: Visionary Tiny"
    )


def test_infotext_omits_empty_negative_prompt():
    text = infotext_build(Recipe(**{**RECIPE.__dict__, "negative_prompt": "", "cfg_scale": 6.5}))
    assert text.splitlines()[1].startswith("Steps: 20, Sampler: Euler a, CFG scale: 6.5,")


def test_png_carries_infotext_in_parameters_chunk():
    png = png_with_infotext(Image.new("RGB", (8, 8)), "hello\nSteps: 1")
    assert png_read_infotext(png) == "hello\nSteps: 1"
    assert Image.open(io.BytesIO(png)).text["parameters"] == "hello\nSteps: 1"


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_every_sampler_builds_from_the_model_schedule(sampler, tiny_model_dir):
    base = pipeline_load(tiny_model_dir).base_scheduler_config
    scheduler = scheduler_for(sampler, base)
    assert scheduler.config.beta_schedule == "scaled_linear"


def test_karras_sampler_uses_karras_sigmas(tiny_model_dir):
    base = pipeline_load(tiny_model_dir).base_scheduler_config
    scheduler = scheduler_for("DPM++ 2M Karras", base)
    assert isinstance(scheduler, DPMSolverMultistepScheduler)
    assert scheduler.config.use_karras_sigmas is True
    assert isinstance(scheduler_for("Euler a", base), EulerAncestralDiscreteScheduler)


def test_unknown_sampler_is_rejected(tiny_model_dir):
    with pytest.raises(UnknownSampler):
        scheduler_for("Heun++ 9000", pipeline_load(tiny_model_dir).base_scheduler_config)


class _Sized(dict[str, int]):
    """A stand-in pipeline of a given size. Weakly referenceable like a real pipeline, so an
    eviction sees it freed instead of running a full garbage collection (which, in a test
    process holding many models, made 500 acquisitions take minutes)."""


def _sized(size: int) -> dict[str, int]:
    return _Sized(size=size)


def _touch(cache: ModelCache, key: str, load: Callable[[], Any]) -> None:
    """Run a call on ``key`` (nothing stays pinned afterwards)."""
    with cache.use(key, load):
        pass


def test_cache_evicts_least_recently_used_to_stay_in_budget():
    cache = ModelCache(budget_bytes=100, measure=lambda p: p["size"])
    _touch(cache, "a", lambda: _sized(40))
    _touch(cache, "b", lambda: _sized(40))
    _touch(cache, "a", lambda: _sized(40))  # a becomes most recent
    _touch(cache, "c", lambda: _sized(40))
    assert cache.held_keys() == ["a", "c"]
    assert (cache.stats.hits, cache.stats.misses, cache.stats.evictions) == (1, 3, 1)
    assert cache.stats.bytes_held == 80


def test_cache_never_exceeds_budget_under_a_random_mix():
    rng = random.Random(7)
    sizes = {f"m{i}": rng.randint(10, 60) for i in range(12)}
    cache = ModelCache(budget_bytes=100, measure=lambda p: p["size"])
    for _ in range(500):
        key = rng.choice(list(sizes))
        _touch(cache, key, lambda key=key: _sized(sizes[key]))
        assert cache.stats.bytes_held <= 100
    assert cache.stats.peak_bytes <= 100


def test_model_larger_than_budget_fails_clearly():
    cache = ModelCache(budget_bytes=10, measure=lambda p: p["size"])
    with pytest.raises(ModelTooLarge, match="cache budget"):
        _touch(cache, "big", lambda: _sized(11))
    assert cache.stats.bytes_held == 0


def test_pipeline_bytes_are_measured_from_tensors(tiny_model_dir):
    pipe = pipeline_load(tiny_model_dir)
    expected = sum(p.numel() * p.element_size() for p in pipe.unet.parameters()) + sum(
        p.numel() * p.element_size() for p in pipe.vae.parameters()
    )
    assert pipeline_nbytes(pipe) > expected > 0


def _request(**overrides) -> TextToImage:
    values = {
        "prompt": "a red circle",
        "negative_prompt": "",
        "steps": 4,
        "cfg_scale": 7.0,
        "width": 64,
        "height": 64,
        "sampler": "Euler",
        "seed": 1,
    }
    values.update(overrides)
    return TextToImage(**values)


def test_same_seed_gives_the_same_picture(tiny_model_dir):
    pipe = pipeline_load(tiny_model_dir)
    first = text_to_image(pipe, _request())[0]
    text_to_image(pipe, _request(sampler="DDIM", seed=5))  # another job in between
    second = text_to_image(pipe, _request())[0]
    assert first.tobytes() == second.tobytes()
    other_seed = text_to_image(pipe, _request(seed=2))[0]
    assert other_seed.tobytes() != first.tobytes()


def test_each_step_is_reported(tiny_model_dir):
    steps: list[tuple[int, int]] = []
    text_to_image(
        pipeline_load(tiny_model_dir),
        _request(steps=5),
        on_step=lambda s, t, _latents: steps.append((s, t)),
    )
    assert steps == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


def test_stop_request_interrupts_after_the_current_step(tiny_model_dir):
    seen: list[int] = []
    with pytest.raises(Interrupted):
        text_to_image(
            pipeline_load(tiny_model_dir),
            _request(steps=10),
            on_step=lambda s, t, _latents: seen.append(s),
            should_stop=lambda: True,
        )
    assert seen == [1]


def test_runner_leaves_no_grad_state(tiny_model_dir):
    text_to_image(pipeline_load(tiny_model_dir), _request(steps=1))
    assert torch.is_grad_enabled()


def test_preview_is_a_small_picture_from_the_latents():
    latents = torch.zeros(1, 4, 8, 16)  # (batch, channels, height, width)
    latents[0, 0] = 2.0  # strong first channel -> warm colours in SD's projection
    picture = latents_to_preview(latents)
    assert picture.size == (128, 64)
    red, _green, blue = picture.getpixel((10, 10))
    assert red > blue


def test_preview_data_url_is_a_jpeg():
    url = preview_data_url(torch.randn(1, 4, 16, 16))
    assert url.startswith("data:image/jpeg;base64,")
    data = base64.b64decode(url.split(",", 1)[1])
    assert Image.open(io.BytesIO(data)).format == "JPEG"
    assert len(url) < 20_000  # small enough to push every few steps


def test_batch_picture_matches_a_single_run_with_its_seed(tiny_model_dir):
    pipe = pipeline_load(tiny_model_dir)
    batch = text_to_image(pipe, _request(seed=4, batch_size=2, sampler="DDIM"))
    single = text_to_image(pipe, _request(seed=5, sampler="DDIM"))[0]
    assert len(batch) == 2
    difference = np.abs(np.asarray(batch[1], dtype=int) - np.asarray(single, dtype=int)).max()
    assert difference <= 2  # same noise; batched matmuls may round differently


def test_clip_skip_is_written_to_infotext_only_when_used():
    assert "Clip skip" not in infotext_build(RECIPE)
    text = infotext_build(Recipe(**{**RECIPE.__dict__, "clip_skip": 2}))
    assert text.endswith("Model: Visionary Tiny, Clip skip: 2")


def test_clip_skip_changes_the_picture(tiny_model_dir):
    pipe = pipeline_load(tiny_model_dir)
    plain = text_to_image(pipe, _request(sampler="DDIM"))[0]
    skipped = text_to_image(pipe, _request(sampler="DDIM", clip_skip=2))[0]
    assert plain.tobytes() != skipped.tobytes()


def test_sdxl_previews_use_sdxl_latent_colours():
    latents = torch.zeros(1, 4, 8, 8)
    latents[0, 1] = 2.0  # channel 2 is blue-ish for SDXL, green-ish for SD 1.x
    sd = latents_to_preview(latents).getpixel((4, 4))
    sdxl = latents_to_preview(latents, base_model="sdxl").getpixel((4, 4))
    assert sd[1] > sd[2]
    assert sdxl[2] > sdxl[1]
