"""The starter model's world and tools: a procedural captioned data set of simple shapes, a
deterministic checker that reads a picture back, the training script and the evaluation script.
The trained weights are not shipped yet (see README, "The starter model")."""

# Native size the starter model is trained at (its VAE's latents are 16 x 16).
SIDE = 128
