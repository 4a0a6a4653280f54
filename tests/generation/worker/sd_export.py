"""Test helper: write a diffusers Stable Diffusion pipeline as ONE .safetensors file in the original
CompVis/LDM key layout (``model.diffusion_model.*``, ``first_stage_model.*``,
``cond_stage_model.transformer.text_model.*``), the layout of the SD 1.x files people upload.

It is the inverse of diffusers' single-file conversion (``diffusers.loaders.single_file_utils``),
derived from each component's config rather than hard-coded for SD's 4x2 blocks, so a tiny
pipeline can be exported. diffusers ships only the LDM -> diffusers direction, hence this helper."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
CLIP_PREFIX = "cond_stage_model.transformer.text_model."

# Inside a UNet ResnetBlock2D: diffusers name -> LDM ResBlock name.
_UNET_RESNET_PARTS = {
    "norm1.": "in_layers.0.",
    "conv1.": "in_layers.2.",
    "norm2.": "out_layers.0.",
    "conv2.": "out_layers.3.",
    "time_emb_proj.": "emb_layers.1.",
    "conv_shortcut.": "skip_connection.",
}
_UNET_TOP_LEVEL = {
    "time_embedding.linear_1.": "time_embed.0.",
    "time_embedding.linear_2.": "time_embed.2.",
    "add_embedding.linear_1.": "label_emb.0.0.",
    "add_embedding.linear_2.": "label_emb.0.2.",
    "conv_in.": "input_blocks.0.0.",
    "conv_norm_out.": "out.0.",
    "conv_out.": "out.2.",
}
# The VAE's mid-block attention: diffusers Attention -> LDM AttnBlock (1x1 convolutions).
_VAE_ATTENTION_PARTS = {
    "group_norm.": "norm.",
    "to_q.": "q.",
    "to_k.": "k.",
    "to_v.": "v.",
    "to_out.0.": "proj_out.",
}


def _rename(key: str, prefixes: Mapping[str, str]) -> tuple[str, str] | None:
    """(diffusers prefix, LDM prefix) of the longest matching prefix, if any."""
    matches = [p for p in prefixes if key.startswith(p)]
    if not matches:
        return None
    best = max(matches, key=len)
    return best, prefixes[best]


def unet_prefixes(config: Mapping[str, Any]) -> tuple[dict[str, str], set[str]]:
    """diffusers -> LDM prefixes for a UNet2DConditionModel config, and which are resnets."""
    blocks = len(config["block_out_channels"])
    per_block = config["layers_per_block"]
    prefixes: dict[str, str] = dict(_UNET_TOP_LEVEL)
    resnets: set[str] = set()
    for i in range(blocks):
        for j in range(per_block):
            index = 1 + i * (per_block + 1) + j
            resnets.add(f"down_blocks.{i}.resnets.{j}.")
            prefixes[f"down_blocks.{i}.resnets.{j}."] = f"input_blocks.{index}.0."
            prefixes[f"down_blocks.{i}.attentions.{j}."] = f"input_blocks.{index}.1."
        if i < blocks - 1:
            index = 1 + i * (per_block + 1) + per_block
            prefixes[f"down_blocks.{i}.downsamplers.0.conv."] = f"input_blocks.{index}.0.op."
    prefixes["mid_block.resnets.0."] = "middle_block.0."
    prefixes["mid_block.attentions.0."] = "middle_block.1."
    prefixes["mid_block.resnets.1."] = "middle_block.2."
    resnets |= {"mid_block.resnets.0.", "mid_block.resnets.1."}
    for i, block_type in enumerate(config["up_block_types"]):
        has_attention = "CrossAttn" in block_type
        for j in range(per_block + 1):
            index = i * (per_block + 1) + j
            resnets.add(f"up_blocks.{i}.resnets.{j}.")
            prefixes[f"up_blocks.{i}.resnets.{j}."] = f"output_blocks.{index}.0."
            prefixes[f"up_blocks.{i}.attentions.{j}."] = f"output_blocks.{index}.1."
        if i < blocks - 1:
            # LDM puts the upsampler after the last resnet (and its attention, if any).
            index = i * (per_block + 1) + per_block
            slot = 2 if has_attention else 1
            prefixes[f"up_blocks.{i}.upsamplers.0.conv."] = f"output_blocks.{index}.{slot}.conv."
    return prefixes, resnets


def unet_to_ldm(
    state_dict: Mapping[str, torch.Tensor], config: Mapping[str, Any]
) -> dict[str, torch.Tensor]:
    prefixes, resnets = unet_prefixes(config)
    converted: dict[str, torch.Tensor] = {}
    for key, tensor in state_dict.items():
        match = _rename(key, prefixes)
        if match is None:
            raise KeyError(f"No LDM name for UNet key {key}")
        old, new = match
        rest = key[len(old) :]
        if old in resnets:
            part = _rename(rest, _UNET_RESNET_PARTS)
            if part is not None:
                rest = part[1] + rest[len(part[0]) :]
        converted[UNET_PREFIX + new + rest] = tensor
    return converted


def vae_prefixes(config: Mapping[str, Any]) -> dict[str, str]:
    """diffusers -> LDM prefixes for an AutoencoderKL config (LDM numbers decoder blocks upwards)."""
    blocks = len(config["block_out_channels"])
    per_block = config["layers_per_block"]
    prefixes = {
        "encoder.conv_norm_out.": "encoder.norm_out.",
        "decoder.conv_norm_out.": "decoder.norm_out.",
    }
    for i in range(blocks):
        for j in range(per_block):
            prefixes[f"encoder.down_blocks.{i}.resnets.{j}."] = f"encoder.down.{i}.block.{j}."
        prefixes[f"encoder.down_blocks.{i}.downsamplers.0."] = f"encoder.down.{i}.downsample."
        up = blocks - 1 - i
        for j in range(per_block + 1):
            prefixes[f"decoder.up_blocks.{i}.resnets.{j}."] = f"decoder.up.{up}.block.{j}."
        prefixes[f"decoder.up_blocks.{i}.upsamplers.0."] = f"decoder.up.{up}.upsample."
    for part in ("encoder", "decoder"):
        prefixes[f"{part}.mid_block.resnets.0."] = f"{part}.mid.block_1."
        prefixes[f"{part}.mid_block.resnets.1."] = f"{part}.mid.block_2."
        prefixes[f"{part}.mid_block.attentions.0."] = f"{part}.mid.attn_1."
    return prefixes


def vae_to_ldm(
    state_dict: Mapping[str, torch.Tensor], config: Mapping[str, Any]
) -> dict[str, torch.Tensor]:
    prefixes = vae_prefixes(config)
    converted: dict[str, torch.Tensor] = {}
    for key, tensor in state_dict.items():
        match = _rename(key, prefixes)
        new_key = key if match is None else match[1] + key[len(match[0]) :]
        if ".mid.attn_1." in new_key:
            head, _, rest = new_key.partition(".mid.attn_1.")
            part = _rename(rest, _VAE_ATTENTION_PARTS)
            if part is not None:
                rest = part[1] + rest[len(part[0]) :]
            new_key = f"{head}.mid.attn_1.{rest}"
            if rest.endswith(".weight") and tensor.ndim == 2:
                tensor = tensor[:, :, None, None]  # LDM's AttnBlock uses 1x1 convolutions
        new_key = new_key.replace(".conv_shortcut.", ".nin_shortcut.")
        converted[VAE_PREFIX + new_key] = tensor
    return converted


def clip_to_ldm(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """transformers 5 saves CLIPTextModel without the ``text_model.`` level; SD 1.x files have it."""
    converted = {CLIP_PREFIX + key.removeprefix("text_model."): t for key, t in state_dict.items()}
    # Real SD 1.x files carry the position ids buffer that transformers 5 no longer saves.
    positions = converted[CLIP_PREFIX + "embeddings.position_embedding.weight"].shape[0]
    converted.setdefault(
        CLIP_PREFIX + "embeddings.position_ids", torch.arange(positions).unsqueeze(0)
    )
    return converted


def ldm_schedule_buffers(*, steps: int = 1000) -> dict[str, torch.Tensor]:
    """The DDPM schedule tensors LatentDiffusion stores next to the weights (SD's scaled_linear
    betas); a loader must ignore them."""
    betas = torch.linspace(0.00085**0.5, 0.012**0.5, steps, dtype=torch.float64) ** 2
    alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
    return {
        "betas": betas.float(),
        "alphas_cumprod": alphas_cumprod.float(),
        "alphas_cumprod_prev": torch.cat([torch.ones(1), alphas_cumprod[:-1].float()]),
        "sqrt_alphas_cumprod": alphas_cumprod.sqrt().float(),
    }


def pipeline_export_single_file(pipe: Any, path: Path) -> Path:
    """Write ``pipe``'s UNet, VAE and CLIP text encoder as one SD 1.x-layout .safetensors file."""
    tensors = {
        **unet_to_ldm(pipe.unet.state_dict(), pipe.unet.config),
        **vae_to_ldm(pipe.vae.state_dict(), pipe.vae.config),
        **clip_to_ldm(pipe.text_encoder.state_dict()),
        **ldm_schedule_buffers(),
    }
    # safetensors refuses shared storage; real checkpoints hold independent tensors anyway.
    save_file({k: v.detach().clone().contiguous() for k, v in tensors.items()}, str(path))
    return path


def config_dir_copy(pipeline_dir: Path, target: Path) -> Path:
    """A diffusers folder's configs and tokenizer without its weights: what we ship per base model."""
    shutil.copytree(
        pipeline_dir, target, ignore=shutil.ignore_patterns("*.safetensors", "*.bin", "*.ckpt")
    )
    return target
