"""Train the starter model on the shapes world: ``python -m tools.starter.train OUT``.

Seven stages, each reproducible from ``--seed`` and written under OUT (``--stages`` runs some):
1. ``vae``: an AutoencoderKL (4 blocks, scale factor 8 like SD's, 8 latent channels) learns to
   reconstruct the pictures (filled and outlined shapes, the shape's pixels weighted up); its
   latent scaling factor is measured, as SD's was.
2. ``vae-refine``: more VAE steps at the native size, a squared error added.
3. ``decoder``: the decoder alone, with an edge loss (the latents stay as they are); then
   ``decoder-more``: the same stage again from its result, in passes of 3,000, 9,000, 6,000 and
   6,000 steps, each with its own decaying rate and pass i on pictures drawn with seed + i, a
   quarter of them outlined (half in the last pass).
4. ``base``: the UNet (cross-attention) and the CLIP text encoder learn to denoise the latents
   of captioned pictures (epsilon prediction, SD 1.x's noise schedule, 10% empty captions for
   classifier-free guidance, a quarter of the others without the size, offset noise so plain
   backgrounds keep their colour, min-SNR loss weighting, EMA weights). OUT/pipeline is a
   StableDiffusionPipeline folder.
5. ``base-more``: more base steps from OUT/pipeline on another draw of the data, at half the
   learning rate (positions are learnt late: 12 % of held-out prompts at step 4,000, 69 % at
   5,000).
6. ``lora``: a LoRA on the UNet learns the outline style from the same captions; the base
   stays frozen. OUT/outline-lora.safetensors.

The defaults are the shipped model's weights. Its run made the decoder passes and the LoRA
last, on the finished model (``--stages decoder-more --seed S --decoder-more-steps N``, one pass
at a time, which also updates OUT/pipeline, then ``--stages lora``): the decoder stages leave the
encoder and so the latents as they are, so the UNet stays valid, the LoRA learns from the same
latents either way, and the default order gives the same weights. The passes lifted the
held-out shape score from 49.5 % to 59 %, 75 % and 82.5 % (VAE round trips of filled shapes
read right: 56 %, 72 %, 92 %, 97 %); a fourth pass on the same mix gave nothing more, one on
pictures half of them outlined (run after the LoRA: ``--stages decoder-more --seed 3
--decoder-more-steps 6000 --decoder-outline-shares 0.5``) lifted outlined round trips read as
outlines from 82.5 % to 89.5 % and the LoRA's style at weight 1 from 73 % to 80.5 %. On this
project's 2-core CPU (2 threads) the run takes about 2 hours 15 min: VAE stages 17 min,
decoder-more 55, base 33, base-more 16, LoRA 10 (each base stage first encodes its pictures, a
minute). The pipeline is saved every 500 base steps and the checker's reading of 32 held-out
prompts is logged every 1,000, so a long run can be inspected while it trains."""

from __future__ import annotations

import argparse
import copy
import logging
import math
import random
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from diffusers import (
    AutoencoderKL,
    DDPMScheduler,
    EulerDiscreteScheduler,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from PIL import Image
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from tools.starter import SIDE
from tools.starter.shapes import ShapeSpec, render, train_specs
from tools.tiny_pipeline import tokenizer_load

logger = logging.getLogger("tools.starter.train")

TEXT_HIDDEN = 64
# Latent channels of the VAE (and so the UNet's input and output). SD 1.x has 4; at 64 px (8 x 8
# latents) four channels rounded every corner (a VAE round trip read 55 % of the shapes right),
# eight keep the shapes apart, as newer VAEs (SD3's 16) widened the latent for detail.
LATENT_CHANNELS = 8
CFG_DROPOUT = 0.1
# Share of training captions without the size ("a red circle on a blue background"), so prompts
# that do not name one are in the model's world.
SIZE_DROPOUT = 0.25
VAE_LATENT_NOISE = 0.1
FOREGROUND_WEIGHT = 8.0
EDGE_WEIGHT = 4.0
OFFSET_NOISE = 0.1
MIN_SNR_GAMMA = 5.0
LORA_RANK = 8
LORA_TARGETS = [
    "to_q",
    "to_k",
    "to_v",
    "to_out.0",
    "proj_in",
    "proj_out",
    "ff.net.0.proj",
    "ff.net.2",
    "conv1",
    "conv2",
]
NOISE_SCHEDULE = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000,
}


def vae_build() -> AutoencoderKL:
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(16, 32, 64, 64),
        layers_per_block=1,
        latent_channels=LATENT_CHANNELS,
        # Four channels per group at the full-resolution level (as in SD's VAE): with one
        # channel per group the last norm erases a flat background's colour.
        norm_num_groups=4,
        sample_size=SIDE,
    )


def text_encoder_build() -> CLIPTextModel:
    return CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=49406,
            eos_token_id=49407,
            pad_token_id=49407,
            hidden_size=TEXT_HIDDEN,
            intermediate_size=4 * TEXT_HIDDEN,
            num_hidden_layers=3,
            num_attention_heads=4,
            vocab_size=49408,
            max_position_embeddings=77,
            projection_dim=TEXT_HIDDEN,
        )
    )


def unet_build() -> UNet2DConditionModel:
    return UNet2DConditionModel(
        sample_size=SIDE // 8,
        in_channels=LATENT_CHANNELS,
        out_channels=LATENT_CHANNELS,
        block_out_channels=(32, 64, 128),
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=TEXT_HIDDEN,
        # (diffusers' legacy name for the number of heads) 2 heads of 16-32 dims: CPU attention
        # with 4-dim heads cost a third of a training step.
        attention_head_dim=2,
        # Eight channels per norm group at the first level. With one channel per group (32 groups
        # of 32 channels) every norm, the last one before conv_out included, removes each
        # channel's mean over the picture, so the UNet cannot predict a picture-wide colour:
        # plain backgrounds came out in a random colour.
        norm_num_groups=4,
    )


def scheduler_build() -> EulerDiscreteScheduler:
    # "trailing" spacing starts sampling at the last training step (pure noise), which keeps
    # plain backgrounds in their named colour at few steps.
    return EulerDiscreteScheduler(
        **NOISE_SCHEDULE,
        prediction_type="epsilon",
        timestep_spacing="trailing",
        steps_offset=1,
    )


def pictures(
    specs: Sequence[ShapeSpec], *, side: int = SIDE, outline_share: float = 0.0
) -> torch.Tensor:
    """uint8 tensor (N, 3, side, side): filled shapes, the last ``outline_share`` outlined."""
    split = len(specs) - int(len(specs) * outline_share)
    arrays = [
        np.asarray(render(spec, side=side, style="filled" if i < split else "outline"))
        for i, spec in enumerate(specs)
    ]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def _to_unit(batch: torch.Tensor) -> torch.Tensor:
    return batch.float() / 127.5 - 1.0


def _lr(step: int, steps: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def _set_lr(optimizer: torch.optim.Optimizer, value: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = value


# (picture side, batch, share of the steps): whole pictures throughout (the group norms see the
# statistics they will meet; crops do not carry over), most updates on pictures drawn at half
# size, which cost a quarter, then the native size.
VAE_PHASES = ((SIDE // 2, 16, 0.6), (SIDE, 16, 0.4))


def train_vae(out: Path, *, seed: int, steps: int) -> AutoencoderKL:
    torch.manual_seed(seed)
    specs = train_specs(seed, 4000)
    pools = {side: pictures(specs, side=side, outline_share=0.25) for side, _, _ in VAE_PHASES}
    pool = pools[SIDE]
    vae = vae_build()
    optimizer = torch.optim.AdamW(vae.parameters(), lr=1e-3, weight_decay=0.0)
    generator = torch.Generator().manual_seed(seed)
    started = time.monotonic()
    schedule = [
        (side, batch) for side, batch, share in VAE_PHASES for _ in range(round(steps * share))
    ]
    for step, (side, batch) in enumerate(schedule):
        _set_lr(optimizer, _lr(step, len(schedule), 1e-3, 50))
        index = torch.randint(0, len(specs), (batch,), generator=generator)
        images = _to_unit(pools[side][index])
        posterior = vae.encode(images).latent_dist
        # The posterior's mean plus a little fixed noise: a decoder that tolerates what the
        # UNet will hand it, without the slow start of sampling at the initial unit variance.
        latent = posterior.mean
        latent = latent + VAE_LATENT_NOISE * torch.randn(latent.shape, generator=generator)
        decoded = vae.decode(latent).sample
        error = (decoded - images).abs() * foreground_weights(images)
        loss = error.mean() + 1e-6 * posterior.kl().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 50 == 0 or step == len(schedule) - 1:
            logger.info(
                "vae %d/%d (%d px) loss %.4f (%.0f s)",
                step,
                len(schedule),
                side,
                loss.item(),
                time.monotonic() - started,
            )
    return _vae_finish(out, vae, pool, seed=seed)


def _edges(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return images[..., :, 1:] - images[..., :, :-1], images[..., 1:, :] - images[..., :-1, :]


def reconstruction_loss(decoded: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """L1 plus squared error, the shape's pixels weighted up: the squared term punishes the large
    colour errors that move a shape to the wrong named colour."""
    error = decoded - images
    weights = foreground_weights(images)
    return (error.abs() * weights).mean() + (error**2 * weights).mean()


def edge_loss(decoded: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """L1 between the horizontal and vertical differences of neighbouring pixels: blurred edges
    cost, so corners and star points come back sharp enough to tell the shapes apart."""
    return sum(
        ((d - i).abs().mean() for d, i in zip(_edges(decoded), _edges(images), strict=True)),
        torch.zeros(()),
    )


def train_vae_refine(out: Path, *, seed: int, steps: int, lr: float = 5e-4) -> AutoencoderKL:
    """More VAE steps at the native size on fresh pictures, a squared error added to the weighted
    L1 (reconstruction_loss), a fresh optimiser at a constant rate. Logs the checker's reading
    every 200 steps."""
    vae = AutoencoderKL.from_pretrained(str(out / "vae"))
    pool = pictures(train_specs(seed + 5, 4000), outline_share=0.25)
    optimizer = torch.optim.AdamW(vae.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    started = time.monotonic()
    for step in range(1, steps + 1):
        images = _to_unit(pool[torch.randint(0, len(pool), (16,), generator=generator)])
        posterior = vae.encode(images).latent_dist
        latent = posterior.mean
        latent = latent + VAE_LATENT_NOISE * torch.randn(latent.shape, generator=generator)
        loss = reconstruction_loss(vae.decode(latent).sample, images)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 200 == 0:
            logger.info(
                "vae refine %d/%d loss %.4f (%.0f s)",
                step,
                steps,
                loss.item(),
                time.monotonic() - started,
            )
            vae.eval()
            vae_check(vae, 48)
            vae.train()
    return _vae_finish(out, vae, pool, seed=seed)


def train_decoder(
    out: Path, *, seed: int, steps: int, batch: int = 16, outline_share: float = 0.25
) -> AutoencoderKL:
    """Fine-tune the decoder alone (as SD's fine-tuned VAE decoders were): the encoder, and so
    the latents the UNet learns, stay as they are. The latents of a pool of pictures are
    computed once; each step is the decoder's alone, with the weighted errors, the edge loss
    and a learning rate that decays to zero."""
    vae = AutoencoderKL.from_pretrained(str(out / "vae"))
    vae.requires_grad_(False)
    vae.decoder.requires_grad_(True)
    vae.post_quant_conv.requires_grad_(True)
    pool = pictures(train_specs(seed + 6, 4000), outline_share=outline_share)
    with torch.no_grad():
        means = torch.cat([vae.encode(_to_unit(c)).latent_dist.mean for c in pool.split(64)])
    parameters = [p for p in vae.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=5e-4, weight_decay=0.0)
    generator = torch.Generator().manual_seed(seed)
    started = time.monotonic()
    for step in range(steps):
        _set_lr(optimizer, 5e-4 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        index = torch.randint(0, len(pool), (batch,), generator=generator)
        images = _to_unit(pool[index])
        latent = means[index]
        latent = latent + VAE_LATENT_NOISE * torch.randn(latent.shape, generator=generator)
        decoded = vae.decode(latent).sample
        loss = reconstruction_loss(decoded, images) + EDGE_WEIGHT * edge_loss(decoded, images)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if (step + 1) % 250 == 0:
            logger.info(
                "decoder %d/%d loss %.4f (%.0f s)",
                step + 1,
                steps,
                loss.item(),
                time.monotonic() - started,
            )
            vae.eval()
            vae_check(vae, 48)
    vae.requires_grad_(True)
    vae.eval()
    vae_check(vae)
    vae.save_pretrained(str(out / "vae"), safe_serialization=True)
    return vae


def _vae_finish(out: Path, vae: AutoencoderKL, pool: torch.Tensor, *, seed: int) -> AutoencoderKL:
    """Measure the latents' scaling factor (as SD's was), check, log the live previews' latent ->
    RGB projection (for generation/worker/engine/previews.py; the decoder stage leaves the encoder and
    so the projection as they are) and save."""
    vae.eval()
    with torch.no_grad():
        sample = torch.cat(
            [vae.encode(_to_unit(c)).latent_dist.mean for c in pool[:1024].split(64)]
        )
        check = _to_unit(pool[-64:])
        error = (vae.decode(vae.encode(check).latent_dist.mean).sample - check).abs().mean()
    logger.info("vae reconstruction error (L1, whole pictures) %.4f", error)
    vae_check(vae)
    vae.register_to_config(scaling_factor=float(1.0 / sample.std()))
    logger.info("vae scaling factor %.5f", vae.config.scaling_factor)
    factors, bias = latent_rgb_fit(vae, pictures(train_specs(seed + 9, 512), outline_share=0.25))
    logger.info("latent -> RGB projection: factors %s, bias %s", factors, bias)
    vae.save_pretrained(str(out / "vae"), safe_serialization=True)
    return vae


def vae_check(vae: AutoencoderKL, count: int = 96) -> dict[str, float]:
    """The checker's reading of held-out pictures after a trip through the VAE, filled and
    outlined: the ceiling of what the diffusion model can score."""
    from tools.starter.checker import picture_read
    from tools.starter.shapes import eval_specs

    specs = eval_specs(count)
    right = {"colour": 0, "background": 0, "shape": 0, "position": 0, "style": 0}
    for style in ("filled", "outline"):
        images = pictures(specs, outline_share=1.0 if style == "outline" else 0.0)
        with torch.no_grad():
            decoded = vae.decode(vae.encode(_to_unit(images)).latent_dist.mean).sample
        rgb = ((decoded.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
        for spec, array in zip(specs, rgb, strict=True):
            seen = picture_read(Image.fromarray(array))
            right["colour"] += seen.colour == spec.colour
            right["background"] += (seen.background, seen.background_2) == (
                spec.background,
                spec.background_2,
            )
            right["shape"] += seen.shape == spec.shape
            right["position"] += seen.position == spec.position
            right["style"] += seen.style == style
    shares = {name: value / (2 * count) for name, value in right.items()}
    logger.info(
        "vae round trip read back: %s", ", ".join(f"{k} {v:.1%}" for k, v in shares.items())
    )
    return shares


def foreground_weights(images: torch.Tensor) -> torch.Tensor:
    """Per-pixel loss weights: FOREGROUND_WEIGHT where a pixel differs from its picture's most
    common colour (the shape; the second half of a two-tone background), 1 elsewhere, so a small
    shape's colour counts as much as the wide background around it."""
    flat = images.flatten(2)  # (N, 3, pixels)
    background = flat.median(dim=2).values[:, :, None, None]
    distance = (images - background).abs().sum(dim=1, keepdim=True)
    return 1 + (FOREGROUND_WEIGHT - 1) * (distance > 0.3).float()


def latent_rgb_fit(
    vae: AutoencoderKL, images: torch.Tensor
) -> tuple[list[list[float]], list[float]]:
    """Least-squares projection of the (scaled) latents to the mean colour of each latent cell's
    8 x 8 pixels: the live previews' cheap latent -> RGB, as A1111's "Approx cheap" for SD."""
    latents = latents_encode(vae, images)
    channels = latents.shape[1]
    latents = latents.permute(0, 2, 3, 1).reshape(-1, channels)
    colours = torch.nn.functional.avg_pool2d(_to_unit(images), 8).permute(0, 2, 3, 1)
    inputs = torch.cat([latents, torch.ones(len(latents), 1)], dim=1)
    solution = torch.linalg.lstsq(inputs, colours.reshape(-1, 3)).solution
    return solution[:channels].tolist(), solution[channels].tolist()


def latents_encode(vae: AutoencoderKL, images: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        chunks = [vae.encode(_to_unit(c)).latent_dist.mean for c in images.split(64)]
    return torch.cat(chunks) * vae.config.scaling_factor


def tokens(tokenizer: CLIPTokenizer, captions: Sequence[str]) -> torch.Tensor:
    return tokenizer(
        list(captions),
        padding="max_length",
        max_length=tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    ).input_ids


def _batches(count: int, batch: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    while True:
        yield from torch.randperm(count, generator=generator).split(batch)


def _denoising_loss(
    unet: UNet2DConditionModel,
    noise_schedule: DDPMScheduler,
    latents: torch.Tensor,
    conditioning: torch.Tensor,
    generator: torch.Generator,
) -> torch.Tensor:
    noise = torch.randn(latents.shape, generator=generator)
    noise += OFFSET_NOISE * torch.randn((*latents.shape[:2], 1, 1), generator=generator)
    timesteps = torch.randint(0, 1000, (latents.shape[0],), generator=generator)
    noisy = noise_schedule.add_noise(latents, noise, timesteps)
    predicted = unet(noisy, timesteps, conditioning).sample
    alphas = noise_schedule.alphas_cumprod[timesteps]
    snr = alphas / (1 - alphas)
    weight = torch.clamp(snr, max=MIN_SNR_GAMMA) / snr
    per_item = ((predicted - noise) ** 2).mean(dim=(1, 2, 3))
    return (weight * per_item).mean()


def conditioning_gap(
    unet: UNet2DConditionModel,
    text_encoder: CLIPTextModel,
    tokenizer: CLIPTokenizer,
    noise_schedule: DDPMScheduler,
    latents: torch.Tensor,
    specs: Sequence[ShapeSpec],
) -> tuple[float, float]:
    """The denoising loss on a fixed batch with its own captions and with captions shifted by
    one (each picture paired with another's): equal losses mean the prompt is not being used."""
    generator = torch.Generator().manual_seed(1234)
    noise = torch.randn(latents.shape, generator=generator)
    timesteps = torch.randint(100, 900, (latents.shape[0],), generator=generator)
    noisy = noise_schedule.add_noise(latents, noise, timesteps)
    captions = [spec.caption() for spec in specs]
    losses = []
    with torch.no_grad():
        for paired in (captions, captions[1:] + captions[:1]):
            conditioning = text_encoder(tokens(tokenizer, paired))[0]
            predicted = unet(noisy, timesteps, conditioning).sample
            losses.append(float(((predicted - noise) ** 2).mean()))
    return losses[0], losses[1]


def _captions(specs: Sequence[ShapeSpec], rng: random.Random) -> list[str]:
    """Training captions: CFG_DROPOUT of them empty (classifier-free guidance), SIZE_DROPOUT of
    the others without the size."""
    return [
        "" if rng.random() < CFG_DROPOUT else spec.caption(size=rng.random() >= SIZE_DROPOUT)
        for spec in specs
    ]


def pipeline_assemble(
    vae: AutoencoderKL, text_encoder: CLIPTextModel, unet: UNet2DConditionModel
) -> StableDiffusionPipeline:
    return StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer_load(),
        unet=unet,
        scheduler=scheduler_build(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def quick_score(pipe: StableDiffusionPipeline, step: int, count: int = 32) -> None:
    """A glance at the held-out table while training (the site's default sampler, the model's
    recommended CFG scale)."""
    from tools.starter.evaluate import FIELDS, score
    from tools.starter.shapes import eval_specs

    scores = score(pipe, eval_specs(count))
    shares = ", ".join(f"{name} {scores.share(name):.0%}" for name in FIELDS)
    logger.info("base %d: held-out %d prompts: %s", step + 1, count, shares)


def train_base(
    out: Path,
    vae: AutoencoderKL,
    *,
    seed: int,
    steps: int,
    examples: int,
    batch: int = 64,
    resume: bool = False,
    peak_lr: float = 1e-3,
) -> StableDiffusionPipeline:
    """``resume``: start from OUT/pipeline's (EMA) weights instead of fresh ones, with a fresh
    optimiser and learning-rate schedule (and another draw of the data: ``seed`` + 1)."""
    torch.manual_seed(seed)
    specs = train_specs(seed + 1, examples)
    started = time.monotonic()
    latents = latents_encode(vae, pictures(specs))
    logger.info("encoded %d pictures (%.0f s)", len(specs), time.monotonic() - started)
    tokenizer = tokenizer_load()
    if resume:
        text_encoder = CLIPTextModel.from_pretrained(str(out / "pipeline" / "text_encoder"))
        unet = UNet2DConditionModel.from_pretrained(str(out / "pipeline" / "unet"))
        text_encoder.train()
        unet.train()
    else:
        text_encoder, unet = text_encoder_build(), unet_build()
    ema = [copy.deepcopy(text_encoder).eval(), copy.deepcopy(unet).eval()]
    parameters = [*text_encoder.parameters(), *unet.parameters()]
    ema_parameters = [*ema[0].parameters(), *ema[1].parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=peak_lr, betas=(0.9, 0.99), weight_decay=0.0)
    noise_schedule = DDPMScheduler(**NOISE_SCHEDULE)
    generator = torch.Generator().manual_seed(seed)
    rng = random.Random(seed)  # noqa: S311 - reproducible training, not a secret
    batches = _batches(len(specs), batch, generator)
    for step in range(steps):
        _set_lr(optimizer, _lr(step, steps, peak_lr, 100))
        index = next(batches)
        ids = tokens(tokenizer, _captions([specs[i] for i in index], rng))
        conditioning = text_encoder(ids)[0]
        loss = _denoising_loss(unet, noise_schedule, latents[index], conditioning, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        decay = min(0.998, (1 + step) / (10 + step))
        with torch.no_grad():
            torch._foreach_lerp_(ema_parameters, [p.detach() for p in parameters], 1 - decay)
        if step % 50 == 0 or step == steps - 1:
            logger.info(
                "base %d/%d loss %.4f (%.0f s)",
                step,
                steps,
                loss.item(),
                time.monotonic() - started,
            )
        if (step + 1) % 250 == 0 or step == steps - 1:
            own, shifted = conditioning_gap(
                ema[1], ema[0], tokenizer, noise_schedule, latents[:64], specs[:64]
            )
            logger.info("base %d: loss with own captions %.4f, shifted %.4f", step, own, shifted)
        if (step + 1) % 1000 == 0 or step == steps - 1:
            quick_score(pipeline_assemble(vae, ema[0], ema[1]), step)
        if (step + 1) % 500 == 0 or step == steps - 1:
            pipeline_assemble(vae, ema[0], ema[1]).save_pretrained(
                str(out / "pipeline"), safe_serialization=True
            )
            logger.info("saved the pipeline at step %d", step + 1)
    return pipeline_assemble(vae, ema[0], ema[1])


def train_lora(
    out: Path, pipe: StableDiffusionPipeline, *, seed: int, steps: int, examples: int
) -> Path:
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(seed)
    specs = train_specs(seed + 2, examples)
    latents = latents_encode(pipe.vae, pictures(specs, outline_share=1.0))
    tokenizer, text_encoder, unet = pipe.tokenizer, pipe.text_encoder, pipe.unet
    text_encoder.requires_grad_(False)
    unet.requires_grad_(False)
    unet.add_adapter(
        LoraConfig(
            r=LORA_RANK,
            lora_alpha=LORA_RANK,
            init_lora_weights="gaussian",
            target_modules=LORA_TARGETS,
        )
    )
    unet.train()
    parameters = [p for p in unet.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=1e-3, weight_decay=0.0)
    noise_schedule = DDPMScheduler(**NOISE_SCHEDULE)
    generator = torch.Generator().manual_seed(seed)
    rng = random.Random(seed)  # noqa: S311 - reproducible training, not a secret
    batches = _batches(len(specs), 64, generator)
    started = time.monotonic()
    for step in range(steps):
        _set_lr(optimizer, _lr(step, steps, 1e-3, 50))
        index = next(batches)
        with torch.no_grad():
            conditioning = text_encoder(
                tokens(tokenizer, _captions([specs[i] for i in index], rng))
            )[0]
        loss = _denoising_loss(unet, noise_schedule, latents[index], conditioning, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        if step % 50 == 0 or step == steps - 1:
            logger.info(
                "lora %d/%d loss %.4f (%.0f s)",
                step,
                steps,
                loss.item(),
                time.monotonic() - started,
            )
    path = out / "outline-lora.safetensors"
    StableDiffusionPipeline.save_lora_weights(
        save_directory=str(out),
        unet_lora_layers=get_peft_model_state_dict(unet),
        weight_name=path.name,
        safe_serialization=True,
    )
    return path


def _passes(text: str) -> list[int]:
    """The step counts of a stage run as several passes: "3000,9000" -> [3000, 9000]."""
    try:
        passes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of step counts: {text!r}") from None
    if min(passes) < 1:
        raise argparse.ArgumentTypeError(f"step counts must be positive: {text!r}")
    return passes


def _shares(text: str) -> list[float]:
    """A share per pass, each from 0 to 1: "0.25,0.5" -> [0.25, 0.5]."""
    try:
        shares = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of shares: {text!r}") from None
    if not all(0 <= share <= 1 for share in shares):
        raise argparse.ArgumentTypeError(f"shares must be from 0 to 1: {text!r}")
    return shares


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--stages",
        default="vae,vae-refine,decoder,decoder-more,base,base-more,lora",
        help="comma-separated, in this order: vae, vae-refine, decoder, decoder-more (the "
        "decoder stage again, from its result), base, base-more (more base steps from "
        "OUT/pipeline, another draw of the data), lora",
    )
    parser.add_argument("--vae-steps", type=int, default=1500)
    parser.add_argument("--vae-refine-steps", type=int, default=1200)
    parser.add_argument("--decoder-steps", type=int, default=1500)
    parser.add_argument(
        "--decoder-more-steps",
        type=_passes,
        default="3000,9000,6000,6000",
        help="comma-separated passes, each from the last one's result with its own decaying "
        "rate; pass i draws its pictures with seed + i",
    )
    parser.add_argument(
        "--decoder-outline-shares",
        type=_shares,
        default="0.25,0.25,0.25,0.5",
        help="comma-separated, one per decoder-more pass: the share of its pictures drawn in "
        "the outline style",
    )
    parser.add_argument("--base-steps", type=int, default=5000)
    parser.add_argument("--base-examples", type=int, default=30000)
    parser.add_argument("--base-more-steps", type=int, default=2500)
    parser.add_argument("--lora-steps", type=int, default=2500)
    parser.add_argument("--lora-examples", type=int, default=6000)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's choice)")
    args = parser.parse_args(argv)
    if len(args.decoder_outline_shares) != len(args.decoder_more_steps):
        parser.error(
            f"--decoder-outline-shares gives {len(args.decoder_outline_shares)} shares for "
            f"{len(args.decoder_more_steps)} decoder-more passes"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    stages = set(args.stages.split(","))
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if "vae" in stages:
        vae = train_vae(out, seed=args.seed, steps=args.vae_steps)
    else:
        vae = AutoencoderKL.from_pretrained(str(out / "vae"))
    if "vae-refine" in stages:
        vae = train_vae_refine(out, seed=args.seed, steps=args.vae_refine_steps)
    if "decoder" in stages:
        vae = train_decoder(out, seed=args.seed, steps=args.decoder_steps)
    if "decoder-more" in stages:
        passes = zip(args.decoder_more_steps, args.decoder_outline_shares, strict=True)
        for index, (steps, share) in enumerate(passes):
            vae = train_decoder(out, seed=args.seed + index, steps=steps, outline_share=share)
        if (out / "pipeline").is_dir():  # run on a finished model: its pipeline gets the decoder
            vae.save_pretrained(str(out / "pipeline" / "vae"), safe_serialization=True)
    if "base" in stages:
        pipe = train_base(
            out, vae, seed=args.seed, steps=args.base_steps, examples=args.base_examples
        )
    if "base-more" in stages:
        pipe = train_base(
            out,
            vae,
            seed=args.seed + 10,
            steps=args.base_more_steps,
            examples=args.base_examples,
            resume=True,
            peak_lr=5e-4,
        )
    if not {"base", "base-more"} & stages:
        pipe = StableDiffusionPipeline.from_pretrained(str(out / "pipeline"))
    if "lora" in stages:
        train_lora(out, pipe, seed=args.seed, steps=args.lora_steps, examples=args.lora_examples)


if __name__ == "__main__":
    main()
