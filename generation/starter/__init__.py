"""The built-in starter model's world: a procedural captioned data set of simple shapes and a
deterministic checker that reads a picture back (issue 5: training and evaluation build on it)."""
