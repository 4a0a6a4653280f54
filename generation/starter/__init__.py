"""The built-in starter model: a small latent diffusion model trained here on a procedural
shapes world (see MODEL_CARD.md next to its weights), its outline-style LoRA, the data set, the
checker that reads pictures back, the training and the evaluation scripts."""

from pathlib import Path

# Shipped in the repository (safetensors only): the pipeline folder, the LoRA and the card.
ASSETS_DIR = Path(__file__).resolve().parents[2] / "modelhub" / "assets" / "starter"
MODEL_DIR = ASSETS_DIR / "visionary-shapes-v1"
LORA_FILE = ASSETS_DIR / "outline-lora.safetensors"
MODEL_CARD = ASSETS_DIR / "MODEL_CARD.md"
MODEL_NAME = "Visionary Shapes"
LORA_NAME = "Shapes Outline"
# Native size of the starter model (its VAE's latents are 8 x 8).
SIDE = 64
# The CFG scale it is registered with (and evaluated at): at the usual 7 the guidance overshoots
# and pushes colours to the wrong names (see the model card's table).
RECOMMENDED_CFG_SCALE = 3.0
