"""The starter model's evaluation runs through the workers' engine and counts every picture."""

from __future__ import annotations

import pytest

from generation.engine.loading import pipeline_load
from generation.starter.evaluate import FIELDS, lora_weights, score
from generation.starter.shapes import eval_specs


@pytest.mark.django_db
def test_score_reads_back_one_picture_per_prompt_with_and_without_a_lora(
    tiny_model_dir, tiny_lora_file
):
    pipe = pipeline_load(tiny_model_dir)
    specs = eval_specs(3)
    plain = score(pipe, specs, steps=2, batch=2)
    assert plain.pictures == 3
    assert all(0 <= plain.share(name) <= 1 for name in FIELDS)
    # Weight 0 is the base picture exactly, so every reading agrees.
    at_zero = score(pipe, specs, steps=2, batch=2, loras=(lora_weights(tiny_lora_file, 0.0),))
    assert (at_zero.right, at_zero.outlined) == (plain.right, plain.outlined)
