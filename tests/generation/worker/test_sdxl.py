"""SDXL: two text encoders and a pooled embedding, encoded as diffusers does for plain prompts and
as A1111 does for weighted and long ones; txt2img, img2img, batched rows and LoRAs on a tiny SDXL."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLPipeline
from PIL import Image, ImageChops, ImageStat

from generation.worker.engine.prompt_encoding import (
    PromptEmbeddings,
    prompt_embeddings_build,
    token_count,
)
from generation.worker.engine.runner import LoraWeights, RenderRequest, Row, _img2img, render
from tools.tiny_pipeline import (
    SDXL_POOLED,
    SDXL_TEXT_HIDDEN_2,
    TEXT_HIDDEN,
    tiny_sdxl_pipeline_build,
)

FEATURES = TEXT_HIDDEN + SDXL_TEXT_HIDDEN_2
STEPS = 2
LONG = ", ".join(["a detailed painting of a quiet harbour at dawn with boats"] * 12)


@pytest.fixture(scope="module")
def pipe() -> StableDiffusionXLPipeline:
    pipeline = tiny_sdxl_pipeline_build(seed=0, sample_size=64)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def _encode(pipe: StableDiffusionXLPipeline, prompts: list[str], negatives: list[str], **kw):
    with torch.inference_mode():
        return prompt_embeddings_build(pipe, prompts, negatives, **kw)


def _theirs(pipe: StableDiffusionXLPipeline, prompt: str, **kw) -> PromptEmbeddings:
    with torch.inference_mode():
        embeds = pipe.encode_prompt(prompt, device="cpu", num_images_per_prompt=1, **kw)
    return PromptEmbeddings(*embeds)


def _assert_same(ours: PromptEmbeddings, theirs: PromptEmbeddings) -> None:
    torch.testing.assert_close(ours.positive, theirs.positive)
    torch.testing.assert_close(ours.negative, theirs.negative)
    torch.testing.assert_close(ours.pooled, theirs.pooled)
    torch.testing.assert_close(ours.negative_pooled, theirs.negative_pooled)


def _request(**overrides) -> RenderRequest:
    values = {
        "rows": (Row("a red circle", "blurry", seed=1),),
        "steps": STEPS,
        "cfg_scale": 7.0,
        "width": 64,
        "height": 64,
        "sampler": "Euler",
    }
    return RenderRequest(**(values | overrides))


def test_plain_short_prompt_encodes_as_diffusers_does(pipe):
    ours = _encode(pipe, ["a red circle"], ["blurry"])
    assert ours.positive.shape == (1, 77, FEATURES)
    assert ours.pooled is not None and ours.pooled.shape == (1, SDXL_POOLED)
    _assert_same(ours, _theirs(pipe, "a red circle", negative_prompt="blurry"))


def test_empty_negative_prompt_is_zeros_as_sdxl_was_trained(pipe):
    ours = _encode(pipe, ["a red circle"], [""])
    assert not ours.negative.any() and ours.negative_pooled is not None
    assert not ours.negative_pooled.any()
    _assert_same(ours, _theirs(pipe, "a red circle"))  # diffusers: no negative prompt -> zeros


def test_clip_skip_one_and_two_both_mean_sdxls_penultimate_layer(pipe):
    torch.testing.assert_close(
        _encode(pipe, ["a red circle"], ["x"], clip_skip=1).positive,
        _encode(pipe, ["a red circle"], ["x"], clip_skip=2).positive,
    )


def test_clip_skip_beyond_two_encodes_as_diffusers_does(pipe):
    ours = _encode(pipe, ["a red circle"], ["x"], clip_skip=3)
    theirs = _theirs(pipe, "a red circle", do_classifier_free_guidance=False, clip_skip=1)
    torch.testing.assert_close(ours.positive, theirs.positive)
    torch.testing.assert_close(ours.pooled, theirs.pooled)


def test_emphasis_scales_both_encoders_and_keeps_each_ones_mean(pipe):
    plain = _encode(pipe, ["a red circle"], [""])
    stressed = _encode(pipe, ["a (red:1.5) circle"], [""])
    assert not torch.allclose(plain.positive, stressed.positive)
    for features in (slice(0, TEXT_HIDDEN), slice(TEXT_HIDDEN, FEATURES)):
        torch.testing.assert_close(
            plain.positive[..., features].mean(), stressed.positive[..., features].mean()
        )
        red = 2  # BOS, "a", "red"
        ratio = (stressed.positive[0, red, features] / plain.positive[0, red, features]).mean()
        ratio /= (stressed.positive[0, 1, features] / plain.positive[0, 1, features]).mean()
        assert ratio == pytest.approx(1.5, rel=1e-3)
    # As in A1111, the pooled embedding is the encoder's own: weights do not touch it.
    torch.testing.assert_close(plain.pooled, stressed.pooled)


def test_long_prompt_is_chunked_and_pooled_from_its_first_chunk(pipe):
    chunks = -(-token_count(pipe.tokenizer, LONG) // 75)
    assert chunks >= 2
    red = _encode(pipe, [LONG + ", red"], ["blurry"])
    blue = _encode(pipe, [LONG + ", blue"], ["blurry"])
    assert red.positive.shape == red.negative.shape == (1, 77 * chunks, FEATURES)
    assert not torch.allclose(red.positive, blue.positive)  # the tail still counts
    torch.testing.assert_close(red.pooled, blue.pooled)  # but not in the pooled vector


def test_rows_of_a_batch_stack_and_each_encodes_as_it_would_alone(pipe):
    both = _encode(pipe, ["a red circle", "a blue square"], ["blurry", ""])
    assert both.positive.shape == (2, 77, FEATURES)
    assert both.pooled is not None and both.pooled.shape == (2, SDXL_POOLED)
    alone = _encode(pipe, ["a blue square"], [""])
    torch.testing.assert_close(both.positive[1:], alone.positive)
    torch.testing.assert_close(both.pooled[1:], alone.pooled)
    torch.testing.assert_close(both.negative_pooled[1:], alone.negative_pooled)


def test_txt2img_draws_the_requested_size_and_repeats_with_the_seed(pipe):
    steps: list[int] = []
    first = render(pipe, _request(height=96), on_step=lambda step, total, lat: steps.append(step))
    again = render(pipe, _request(height=96))
    assert first[0][0].size == (64, 96)
    assert steps == [1, 2]
    assert first[0][0].tobytes() == again[0][0].tobytes()


def test_batched_rows_draw_what_each_job_draws_alone(pipe):
    rows = (Row("a red circle", "blurry", seed=1), Row("a blue square", "", seed=5, count=2))
    batched = render(pipe, _request(rows=rows))
    alone = render(pipe, _request(rows=(Row("a blue square", "", seed=6),)))
    assert [len(group) for group in batched] == [1, 2]
    assert batched[1][0].tobytes() != batched[1][1].tobytes()  # seeds 5 and 6
    # Equal up to rounding: with several threads, a batch of 3 may sum in another order than 1.
    difference = ImageChops.difference(batched[1][1], alone[0][0])
    assert max(high for _, high in difference.getextrema()) <= 2


def _red_share(picture: Image.Image) -> float:
    red, green, blue = ImageStat.Stat(picture).mean
    return float(red / (red + green + blue))


def test_img2img_runs_on_a_cached_sdxl_img2img_pipeline_from_the_picture(pipe):
    steps: list[int] = []
    pictures = {
        colour: render(
            pipe,
            _request(init_image=Image.new("RGB", (80, 80), colour), denoising_strength=0.5),
            on_step=lambda step, total, lat: steps.append(total),
        )[0][0]
        for colour in ((220, 20, 20), (20, 20, 220))
    }
    assert isinstance(_img2img(pipe), StableDiffusionXLImg2ImgPipeline)
    assert _img2img(pipe) is _img2img(pipe)
    red, blue = pictures.values()
    assert red.size == (64, 64)  # resized to the requested size
    assert steps and all(total < STEPS for total in steps)  # strength 0.5 redoes half
    assert _red_share(red) > _red_share(blue)


@pytest.fixture(scope="module")
def sdxl_lora(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random LoRA over the UNet and both text encoders, in diffusers' SDXL key layout."""
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    source = tiny_sdxl_pipeline_build(seed=0, sample_size=64)
    torch.manual_seed(3)
    attention = ["to_k", "to_v"]
    text = ["q_proj", "v_proj"]
    modules = {
        "unet_lora_layers": (source.unet, attention),
        "text_encoder_lora_layers": (source.text_encoder, text),
        "text_encoder_2_lora_layers": (source.text_encoder_2, text),
    }
    layers = {}
    with torch.no_grad():
        for name, (module, targets) in modules.items():
            module.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=targets))
            for key, tensor in module.named_parameters():
                if "lora_" in key:
                    tensor.copy_(torch.randn_like(tensor) * 0.5)
            layers[name] = get_peft_model_state_dict(module)
    directory = tmp_path_factory.mktemp("sdxl-lora")
    StableDiffusionXLPipeline.save_lora_weights(
        save_directory=str(directory), weight_name="lora.safetensors", **layers
    )
    return directory / "lora.safetensors"


def test_lora_changes_the_picture_and_is_removed_afterwards(pipe, sdxl_lora):
    base = render(pipe, _request())[0][0]
    lora = LoraWeights(path=sdxl_lora, weight=1.0, key="sdxl-test")
    styled = render(pipe, _request(loras=(lora,)))[0][0]
    assert styled.tobytes() != base.tobytes()
    assert render(pipe, _request())[0][0].tobytes() == base.tobytes()
