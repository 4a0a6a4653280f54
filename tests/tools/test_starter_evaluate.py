"""The starter model's evaluation runs through the workers' engine and counts every picture."""

from __future__ import annotations

import pytest

from generation.worker.engine.loading import pipeline_load
from tools.starter.evaluate import FIELDS, Scores, lora_weights, score, table
from tools.starter.shapes import eval_specs


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


def test_the_table_blanks_the_size_of_prompts_written_without_one():
    sized = Scores(
        pictures=4, right={"colour": 4, "background": 3, "shape": 2, "position": 4, "size": 1}
    )
    unsized = Scores(sized=False, pictures=2, right=dict.fromkeys(FIELDS, 1), outlined=1)
    header, rule, first, second = table({"plain": sized, "any name": unsized})
    assert header == "| run | colour | background | shape | position | size | outline style |"
    assert rule == "|---|---|---|---|---|---|---|"
    assert first == "| plain | 100.0% | 75.0% | 50.0% | 100.0% | 25.0% | 0.0% |"
    assert second == "| any name | 50.0% | 50.0% | 50.0% | 50.0% | – | 50.0% |"
