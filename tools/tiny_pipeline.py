"""Build a small Stable Diffusion pipeline from configs (no download) and save it in diffusers format.

Sizes follow ../ML_NOTES: a 4-block VAE (scale factor 8, like real SD), a small cross-attention
UNet and a 5-layer CLIP text encoder over the real CLIP BPE vocabulary shipped in modelhub/assets.
Randomly initialised: it proves the machinery end to end; it does not draw the prompt."""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

TOKENIZER_DIR = Path(__file__).resolve().parents[1] / "modelhub" / "assets" / "clip-tokenizer"
TEXT_HIDDEN = 32
# Tiny SDXL: the second encoder differs in width and projection from the first, so a mix-up
# between them (concatenation order, which one is pooled) shows up as a shape error.
SDXL_TEXT_HIDDEN_2 = 48
SDXL_POOLED = 40
SDXL_TIME_EMBED = 8


def tokenizer_load() -> CLIPTokenizer:
    # transformers 5 ignores vocab_file=/merges_file= kwargs; from_pretrained(dir) reads them.
    return CLIPTokenizer.from_pretrained(str(TOKENIZER_DIR), local_files_only=True)


def _tiny_vae(sample_size: int, *, scaling_factor: float = 0.18215) -> AutoencoderKL:
    """A 4-block VAE (scale factor 8, like real SD): the 2-block one of diffusers' tests makes
    256 px pictures ~40x slower. ``scaling_factor``: SD 1.x's 0.18215 or SDXL's 0.13025."""
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(32, 32, 64, 64),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=32,
        sample_size=sample_size,
        scaling_factor=scaling_factor,
    )


def tiny_pipeline_build(*, seed: int = 0, sample_size: int = 128) -> StableDiffusionPipeline:
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=sample_size // 8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=TEXT_HIDDEN,
        attention_head_dim=8,
        norm_num_groups=32,
    )
    vae = _tiny_vae(sample_size)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=49406,
            eos_token_id=49407,
            pad_token_id=49407,
            hidden_size=TEXT_HIDDEN,
            intermediate_size=37,
            num_hidden_layers=5,
            num_attention_heads=4,
            vocab_size=49408,
            max_position_embeddings=77,
            projection_dim=TEXT_HIDDEN,
        )
    )
    scheduler = EulerAncestralDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        steps_offset=1,
        timestep_spacing="leading",
    )
    return StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer_load(),
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def tiny_sdxl_pipeline_build(*, seed: int = 0, sample_size: int = 64) -> StableDiffusionXLPipeline:
    """A tiny SDXL pipeline (two CLIP text encoders, "text_time" UNet conditioning) for tests;
    laid out like the shipped configs/sdxl, including the second tokenizer padding with "!"."""
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=sample_size // 8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=TEXT_HIDDEN + SDXL_TEXT_HIDDEN_2,
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=SDXL_TIME_EMBED,
        # Six micro-conditioning numbers (original size, crop corner, target size), each
        # embedded, plus the pooled text embedding.
        projection_class_embeddings_input_dim=6 * SDXL_TIME_EMBED + SDXL_POOLED,
        norm_num_groups=32,
    )
    vae = _tiny_vae(sample_size, scaling_factor=0.13025)
    common = {
        "bos_token_id": 49406,
        "eos_token_id": 49407,
        "intermediate_size": 37,
        "num_hidden_layers": 5,
        "num_attention_heads": 4,
        "vocab_size": 49408,
        "max_position_embeddings": 77,
    }
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            **common, pad_token_id=49407, hidden_size=TEXT_HIDDEN, projection_dim=TEXT_HIDDEN
        )
    )
    text_encoder_2 = CLIPTextModelWithProjection(
        CLIPTextConfig(
            **common,
            pad_token_id=0,
            hidden_size=SDXL_TEXT_HIDDEN_2,
            projection_dim=SDXL_POOLED,
            hidden_act="gelu",
        )
    )
    tokenizer_2 = tokenizer_load()
    tokenizer_2.pad_token_id = 0  # "!", as OpenCLIP bigG (and configs/sdxl/tokenizer_2) pads
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        steps_offset=1,
        timestep_spacing="leading",
    )
    return StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer_load(),
        tokenizer_2=tokenizer_2,
        unet=unet,
        scheduler=scheduler,
        force_zeros_for_empty_prompt=True,
        add_watermarker=False,
    )


def tiny_pipeline_save(directory: Path, *, seed: int = 0, sample_size: int = 128) -> Path:
    pipe = tiny_pipeline_build(seed=seed, sample_size=sample_size)
    directory.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(str(directory), safe_serialization=True)
    return directory


def tiny_lora_save(
    model_dir: Path, path: Path, *, seed: int = 0, rank: int = 4, scale: float = 1.0
) -> Path:
    """A LoRA for the pipeline in ``model_dir``, UNet attention and text encoder, saved as one
    .safetensors file in diffusers' key layout. Random (seeded) low-rank deltas: it changes the
    picture visibly, which is what the plumbing needs; a trained style LoRA is another matter."""
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    from generation.worker.engine.loading import pipeline_load

    pipe = pipeline_load(model_dir)
    torch.manual_seed(seed)
    unet_config = LoraConfig(
        r=rank,
        lora_alpha=rank,
        init_lora_weights="gaussian",
        target_modules=["to_q", "to_k", "to_v", "to_out.0"],
    )
    text_config = LoraConfig(
        r=rank,
        lora_alpha=rank,
        init_lora_weights="gaussian",
        target_modules=["q_proj", "k_proj", "v_proj", "out_proj"],
    )
    pipe.unet.add_adapter(unet_config)
    pipe.text_encoder.add_adapter(text_config)
    with torch.no_grad():
        # peft starts B at zero (a no-op); give both factors seeded random values instead.
        for module in (pipe.unet, pipe.text_encoder):
            for name, tensor in module.named_parameters():
                if "lora_" in name:
                    tensor.copy_(torch.randn_like(tensor) * scale / rank**0.5)
    path.parent.mkdir(parents=True, exist_ok=True)
    StableDiffusionPipeline.save_lora_weights(
        save_directory=str(path.parent),
        unet_lora_layers=get_peft_model_state_dict(pipe.unet),
        text_encoder_lora_layers=get_peft_model_state_dict(pipe.text_encoder),
        weight_name=path.name,
        safe_serialization=True,
    )
    return path
