"""The shipped starter model draws what the prompt says, through the workers' own engine; and the
check is sharp enough to fail when the pipeline breaks (prompt or guidance ignored, a scheduler
with the wrong noise schedule, a LoRA not applied or leaking into the next call)."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import numpy as np
import pytest
from diffusers import EulerAncestralDiscreteScheduler
from PIL import Image

from generation import starter
from generation.engine import runner
from generation.engine.loading import pipeline_load
from generation.engine.runner import RenderRequest, Row, render
from generation.starter.checker import picture_read
from generation.starter.evaluate import Scores, lora_weights, score
from generation.starter.shapes import eval_specs

# A handful of the held-out prompts at few steps: seconds, not minutes.
SPECS = eval_specs(8)
STEPS = 10


@pytest.fixture(scope="module")
def pipe() -> Any:
    return pipeline_load(starter.MODEL_DIR)


def acceptable(scores: Scores) -> bool:
    """The floor a working pipeline clears on SPECS (the full evaluation's goals, less a margin
    for eight pictures at ten steps)."""
    return (
        scores.share("colour") >= 0.75
        and scores.share("background") >= 0.75
        and scores.share("shape") >= 0.5
        and scores.share("position") >= 0.5
    )


def test_the_starter_model_draws_the_prompts(pipe):
    scores = score(pipe, SPECS, steps=STEPS)
    assert acceptable(scores), (scores.right, scores.misses)
    assert scores.outline_share == 0


def test_a_pipeline_that_ignores_the_prompt_fails_the_check(pipe, monkeypatch):
    build = runner.prompt_embeddings_build

    def prompt_dropped(pipeline, prompts, negatives, **kwargs):
        return build(pipeline, negatives, negatives, **kwargs)

    monkeypatch.setattr(runner, "prompt_embeddings_build", prompt_dropped)
    assert not acceptable(score(pipe, SPECS, steps=STEPS))


def test_a_pipeline_without_classifier_free_guidance_fails_the_check(pipe):
    # guidance 1 is what a pipeline that drops the unconditional half computes.
    assert not acceptable(score(pipe, SPECS, steps=STEPS, cfg_scale=1.0))


def test_a_scheduler_with_another_noise_schedule_fails_the_check(pipe, monkeypatch):
    def wrong_schedule(sampler, base_config):
        return EulerAncestralDiscreteScheduler.from_config(
            base_config, beta_schedule="linear", beta_start=0.0001, beta_end=0.02
        )

    monkeypatch.setattr(runner, "scheduler_for", wrong_schedule)
    assert not acceptable(score(pipe, SPECS, steps=STEPS))


def test_the_lora_draws_outlines_at_weight_one_and_nothing_at_weight_zero(pipe):
    with_lora = score(pipe, SPECS, steps=STEPS, loras=(lora_weights(starter.LORA_FILE, 1.0),))
    assert with_lora.outline_share >= 0.75
    at_zero = score(pipe, SPECS, steps=STEPS, loras=(lora_weights(starter.LORA_FILE, 0.0),))
    assert at_zero.outline_share == 0


def test_a_lora_that_is_not_applied_fails_the_check(pipe, monkeypatch):
    monkeypatch.setattr(runner, "loras_applied", lambda pipeline, loras: nullcontext())
    with_lora = score(pipe, SPECS, steps=STEPS, loras=(lora_weights(starter.LORA_FILE, 1.0),))
    assert with_lora.outline_share < 0.75


def _one(pipe: Any, **kwargs: Any) -> np.ndarray:
    spec = SPECS[0]
    request = RenderRequest(
        rows=(Row(spec.caption(), "", 7),),
        steps=STEPS,
        cfg_scale=7.0,
        width=starter.SIDE,
        height=starter.SIDE,
        sampler="Euler a",
        **kwargs,
    )
    return np.asarray(render(pipe, request)[0][0])


def _style(pixels: np.ndarray) -> str:
    return picture_read(Image.fromarray(pixels)).style


def test_the_lora_does_not_leak_into_the_next_call(pipe):
    before = _one(pipe)
    outlined = _one(pipe, loras=(lora_weights(starter.LORA_FILE, 1.0),))
    after = _one(pipe)
    assert _style(outlined) == "outline"
    assert _style(after) == "filled"
    assert np.array_equal(before, after)


def test_a_lora_left_loaded_is_caught(pipe, monkeypatch):
    monkeypatch.setattr(pipe, "unload_lora_weights", lambda: None)
    _one(pipe, loras=(lora_weights(starter.LORA_FILE, 1.0),))
    monkeypatch.undo()
    try:
        assert _style(_one(pipe)) == "outline"
    finally:
        pipe.unload_lora_weights()
