"""The built-in starter model shipped in the repository (safetensors only): where bootstrap finds
its pipeline folder, its outline LoRA and its model card, and the settings it is registered with.

Its training and evaluation tools are not shipped code: they live in ``tools/starter``."""

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parents[1] / "modelhub" / "assets" / "starter"
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
