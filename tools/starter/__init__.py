"""The built-in starter model's tools, not shipped with the site: the procedural shapes world, the
checker that reads pictures back, the training and the evaluation scripts. The weights they make
are shipped in modelhub/assets/starter; ``generation.builtin`` says where."""

from generation.builtin import (
    ASSETS_DIR,
    LORA_FILE,
    LORA_NAME,
    MODEL_CARD,
    MODEL_DIR,
    MODEL_NAME,
    RECOMMENDED_CFG_SCALE,
    SIDE,
)

__all__ = [
    "ASSETS_DIR",
    "LORA_FILE",
    "LORA_NAME",
    "MODEL_CARD",
    "MODEL_DIR",
    "MODEL_NAME",
    "RECOMMENDED_CFG_SCALE",
    "SIDE",
]
