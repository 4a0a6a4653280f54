"""The trainer's instruments, on the random tiny pipeline (the training itself runs outside the
suite: its smallest useful run takes minutes)."""

from __future__ import annotations

import math

import pytest
import torch
from diffusers import DDPMScheduler

from tools.starter.shapes import eval_specs
from tools.starter.train import (
    FOREGROUND_WEIGHT,
    NOISE_SCHEDULE,
    _passes,
    _shares,
    conditioning_gap,
    edge_loss,
    foreground_weights,
    main,
    pictures,
    unet_build,
    vae_build,
)
from tools.tiny_pipeline import tiny_pipeline_build


def test_conditioning_gap_compares_own_and_shifted_captions():
    pipe = tiny_pipeline_build(seed=0, sample_size=64)
    specs = eval_specs(8)
    latents = torch.randn((8, 4, 8, 8), generator=torch.Generator().manual_seed(0))
    own, shifted = conditioning_gap(
        pipe.unet,
        pipe.text_encoder,
        pipe.tokenizer,
        DDPMScheduler(**NOISE_SCHEDULE),
        latents,
        specs,
    )
    assert math.isfinite(own) and math.isfinite(shifted)
    assert own != shifted  # the captions reach the UNet: pairing them differently changes it


def test_edge_loss_is_zero_for_the_same_picture_and_grows_with_blur():
    picture = pictures(eval_specs(1), side=64).float() / 127.5 - 1
    blurred = torch.nn.functional.avg_pool2d(picture, 3, stride=1, padding=1)
    assert edge_loss(picture, picture) == 0
    assert edge_loss(blurred, picture) > 0.01


def test_foreground_weights_weigh_the_shape_up():
    specs = [spec for spec in eval_specs(20) if not spec.background_2][:4]
    images = pictures(specs, side=64).float() / 127.5 - 1
    weights = foreground_weights(images)
    assert weights.shape == (4, 1, 64, 64)
    shape_pixels = weights == FOREGROUND_WEIGHT
    # Plain backgrounds: every picture has a shape, and the shape is the smaller part of it.
    assert all(0 < share < 0.5 for share in shape_pixels.float().mean(dim=(1, 2, 3)))


def test_the_models_keep_several_channels_per_norm_group():
    # One channel per group removes each channel's mean: a plain background's colour is lost.
    unet, vae = unet_build(), vae_build()
    for model in (unet, vae):
        norms = [m for m in model.modules() if isinstance(m, torch.nn.GroupNorm)]
        assert norms and all(m.num_channels // m.num_groups >= 4 for m in norms)


def _refused(out, capsys, option: str, values: tuple[str, ...]) -> str:
    """Run the decoder-more stage with each bad value of ``option``; return what argparse said."""
    for value in values:
        with pytest.raises(SystemExit) as stopped:
            main([str(out), "--stages", "decoder-more", option, value])
        assert stopped.value.code == 2
    return capsys.readouterr().err


def test_decoder_passes_are_a_list_of_step_counts(tmp_path, capsys):
    assert _passes("3000,9000") == [3000, 9000]
    error = _refused(tmp_path, capsys, "--decoder-more-steps", ("3000,x", "0", ""))
    assert "not a list of step counts: '3000,x'" in error
    assert "step counts must be positive: '0'" in error
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_decoder_outline_shares_are_one_share_per_pass(tmp_path, capsys):
    assert _shares("0.25,0.5") == [0.25, 0.5]
    error = _refused(tmp_path, capsys, "--decoder-outline-shares", ("0.25,x", "1.5", "0.25"))
    assert "not a list of shares: '0.25,x'" in error
    assert "shares must be from 0 to 1: '1.5'" in error
    assert "--decoder-outline-shares gives 1 shares for 4 decoder-more passes" in error
    assert not any(tmp_path.iterdir())  # refused before anything was written
