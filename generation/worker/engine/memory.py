"""How much memory one pipeline call needs beyond its weights: the working memory the model cache
reserves beside a model for the length of a call (``ModelCache.use(working_bytes=...)``)."""

from __future__ import annotations

# Constants of ``working_memory_bytes``. Measured on this CPU (torch 2.13, diffusers 0.42, random
# weights built from the shipped SD 1.5 configs): the peak resident memory of one call above the
# resident model, glibc's mmap threshold pinned so freed blocks go back at once.
# - VAE decode: ~3.9 KiB per output pixel in fp32 and ~2.1 KiB in bf16 at 384-512 px, i.e. ~1,000
#   live values per pixel (the full-size 256- and 128-channel maps of its last up blocks). SD 1.x,
#   2.x and SDXL share this VAE architecture.
# - UNet: ~1.0 KiB per output pixel in fp32 at 384-512 px (two rows per picture for CFG), i.e.
#   ~250 values per pixel; attention through torch's SDPA, whose kernels stay linear in tokens.
# - A fixed part of 3-5% of the module's weights (reordered weight copies, library workspaces).
VAE_DECODE_VALUES_PER_PIXEL = 1024
UNET_VALUES_PER_PIXEL = 256
WEIGHT_TEMPORARIES_SHARE = 0.05
# Not measured here: the CUDA caching allocator rounds and fragments what the CPU frees exactly.
ALLOCATOR_HEADROOM = 1.25


def working_memory_bytes(
    *,
    model_bytes: int,
    width: int,
    height: int,
    batch: int,
    dtype_bytes: int,
    vae_dtype_bytes: int | None = None,
) -> int:
    """An estimate (not a measurement) of the memory one pipeline call needs beyond its weights.

    The UNet's activations and the VAE decode of the whole batch do not overlap in time, so the
    larger counts, scaled by the picture (width x height x batch) and the element size each part
    runs in (the VAE may run in fp32 under an fp16 UNet), plus a share of the weights. Constants:
    see the comments above, measured with random-weight SD 1.5 modules on a CPU."""
    pixels = width * height * batch
    unet = UNET_VALUES_PER_PIXEL * dtype_bytes * pixels
    vae = VAE_DECODE_VALUES_PER_PIXEL * (vae_dtype_bytes or dtype_bytes) * pixels
    activations = max(unet, vae) * ALLOCATOR_HEADROOM
    return int(activations + model_bytes * WEIGHT_TEMPORARIES_SHARE)
