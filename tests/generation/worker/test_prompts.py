"""Prompt syntax (A1111 emphasis and LoRA tags) and prompt encoding (weights, chunks, batches)."""

from __future__ import annotations

import time

import pytest
import torch

from generation.prompt_syntax import (
    LoraTag,
    PromptSyntaxError,
    attention_parse,
    loras_extract,
)
from generation.worker.engine.loading import pipeline_load
from generation.worker.engine.prompt_encoding import prompts_encode, token_count
from generation.worker.engine.runner import TextToImage, text_to_image


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("a red circle", [("a red circle", 1.0)]),
        ("a (red) circle", [("a ", 1.0), ("red", 1.1), (" circle", 1.0)]),
        ("a ((red)) circle", [("a ", 1.0), ("red", 1.21), (" circle", 1.0)]),
        ("a [red] circle", [("a ", 1.0), ("red", 0.909091), (" circle", 1.0)]),
        ("a (red:1.5) circle", [("a ", 1.0), ("red", 1.5), (" circle", 1.0)]),
        ("(a (red:1.5) circle:0.5)", [("a ", 0.5), ("red", 0.75), (" circle", 0.5)]),
        ("a ( red : 1.3 ) circle", [("a ", 1.0), (" red ", 1.3), (" circle", 1.0)]),
        (r"a \(red\) circle", [("a (red) circle", 1.0)]),
        ("a red) circle", [("a red) circle", 1.0)]),  # an unmatched closer is text
        ("a (red circle", [("a ", 1.0), ("red circle", 1.1)]),  # unclosed: to the end
        ("time 12:30", [("time 12:30", 1.0)]),  # a colon outside a group is text
        ("(red:x)", [("red:x", 1.1)]),  # not a number: the colon is text
        ("", [("", 1.0)]),
    ],
)
def test_attention_syntax_reads_like_a1111(prompt, expected):
    assert attention_parse(prompt) == expected


def test_attention_parse_is_linear_on_adversarial_input():
    nasty = "(" * 5000 + ":1" * 5000 + "[" * 5000 + "\\" * 5000
    started = time.perf_counter()
    attention_parse(nasty)
    assert time.perf_counter() - started < 2.0  # generous; quadratic would take minutes


def test_lora_tags_are_extracted_and_removed():
    text, tags = loras_extract("a cat <lora:Pastel Style:0.8>, sitting <LORA:outline>")
    assert text == "a cat , sitting"
    assert tags == [LoraTag("Pastel Style", 0.8), LoraTag("outline", 1.0)]


def test_a_lora_named_twice_keeps_its_last_weight():
    _, tags = loras_extract("<lora:ink:0.2> cat <lora:INK:0.7>")
    assert tags == [LoraTag("INK", 0.7)]


def test_prompt_without_tags_is_left_exactly_as_written():
    assert loras_extract("a  cat,  (red:1.2)") == ("a  cat,  (red:1.2)", [])


@pytest.mark.parametrize("tag", ["<lora:ink:heavy>", "<lora:ink:1.2.3>", "<lora:ink:9>"])
def test_bad_lora_weight_is_a_clear_error(tag):
    with pytest.raises(PromptSyntaxError, match="ink"):
        loras_extract(f"a cat {tag}")


LONG = ", ".join(["a detailed painting of a quiet harbour at dawn with boats"] * 12)


def _request(**overrides):
    values = {
        "prompt": "a red circle",
        "negative_prompt": "",
        "steps": 2,
        "cfg_scale": 7.0,
        "width": 64,
        "height": 64,
        "sampler": "DDIM",
        "seed": 1,
    }
    return TextToImage(**(values | overrides))


def test_long_prompt_tail_is_not_silently_cut(tiny_model_dir):
    pipe = pipeline_load(tiny_model_dir)
    assert token_count(pipe.tokenizer, LONG) > 77
    red = text_to_image(pipe, _request(prompt=LONG + ", red"))[0]
    blue = text_to_image(pipe, _request(prompt=LONG + ", blue"))[0]
    assert red.tobytes() != blue.tobytes()  # the words after token 77 still count


def test_embeddings_come_in_77_token_chunks_padded_across_the_batch(tiny_model_dir):
    pipe = pipeline_load(tiny_model_dir)
    with torch.inference_mode():
        positive, negative = prompts_encode(pipe, [LONG, "a cat"], ["blurry", ""])
    chunks = -(-token_count(pipe.tokenizer, LONG) // 75)
    assert chunks >= 2
    assert positive.shape[:2] == negative.shape[:2] == (2, 77 * chunks)


def test_plain_short_prompt_encodes_as_diffusers_does(tiny_model_dir):
    pipe = pipeline_load(tiny_model_dir)
    with torch.inference_mode():
        ours, ours_negative = prompts_encode(pipe, ["a red circle"], ["blurry"])
        theirs, theirs_negative = pipe.encode_prompt(
            "a red circle", "cpu", 1, True, negative_prompt="blurry"
        )
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(ours_negative, theirs_negative)


def test_clip_skip_encodes_as_diffusers_does(tiny_model_dir):
    pipe = pipeline_load(tiny_model_dir)
    with torch.inference_mode():
        ours, _ = prompts_encode(pipe, ["a red circle"], [""], clip_skip=2)
        theirs, _ = pipe.encode_prompt("a red circle", "cpu", 1, False, clip_skip=1)
    torch.testing.assert_close(ours, theirs)


def test_emphasis_changes_the_embedding_only_where_it_is_written(tiny_model_dir):
    pipe = pipeline_load(tiny_model_dir)
    with torch.inference_mode():
        plain, _ = prompts_encode(pipe, ["a red circle"], [""])
        stressed, _ = prompts_encode(pipe, ["a (red:1.5) circle"], [""])
    assert not torch.allclose(plain, stressed)
    # Same tokens: only the scale changed, and the chunk keeps its mean.
    torch.testing.assert_close(plain.mean(), stressed.mean())
    red = 2  # BOS, "a", "red"
    ratio = (stressed[0, red] / plain[0, red]).mean() / (stressed[0, 1] / plain[0, 1]).mean()
    assert ratio == pytest.approx(1.5, rel=1e-3)


def test_emphasis_changes_the_picture(tiny_model_dir):
    pipe = pipeline_load(tiny_model_dir)
    plain = text_to_image(pipe, _request())[0]
    stressed = text_to_image(pipe, _request(prompt="a (red:1.6) circle"))[0]
    assert plain.tobytes() != stressed.tobytes()
