"""A procedural, captioned data set: one shape in a named colour, size and position on a plain or
two-tone background, e.g. "a small red circle on a blue background, top left".

Everything is drawn on the fly from a seed (no download); the same seed gives the same pictures
and captions on every machine."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image, ImageDraw

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 60),
    "blue": (30, 70, 220),
    "yellow": (240, 220, 30),
    "orange": (245, 140, 20),
    "purple": (130, 40, 170),
    "pink": (245, 130, 190),
    "cyan": (40, 210, 220),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
    "gray": (128, 128, 128),
    "brown": (120, 70, 30),
}
SHAPES = ("circle", "square", "triangle", "star")
SIZES = {"small": 0.22, "medium": 0.34, "large": 0.48}  # shape width as a share of the side
# (column, row) of a 3 x 3 grid; the caption names the position ("center" says nothing extra).
POSITIONS: dict[str, tuple[int, int]] = {
    "top left": (0, 0),
    "top": (1, 0),
    "top right": (2, 0),
    "left": (0, 1),
    "center": (1, 1),
    "right": (2, 1),
    "bottom left": (0, 2),
    "bottom": (1, 2),
    "bottom right": (2, 2),
}


@dataclass(frozen=True)
class ShapeSpec:
    shape: str
    colour: str
    size: str
    position: str
    background: str
    # Two-tone backgrounds: the right half in this colour ("" for a plain background).
    background_2: str = ""

    def caption(self, *, size: bool = True) -> str:
        """The prompt for this spec; ``size=False`` leaves the size out (any size fits it)."""
        where = "" if self.position == "center" else f", {self.position}"
        ground = (
            f"{self.background} and {self.background_2} background"
            if self.background_2
            else f"{self.background} background"
        )
        sized = f"{self.size} " if size else ""
        return f"a {sized}{self.colour} {self.shape} on a {ground}{where}"


def _star(cx: float, cy: float, radius: float) -> list[tuple[float, float]]:
    points = []
    for i in range(10):
        r = radius if i % 2 == 0 else radius * 0.42
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    return points


def shape_box(spec: ShapeSpec, side: int) -> tuple[float, float, float]:
    """Centre x, centre y and half-width of the shape in a ``side`` px picture."""
    half = SIZES[spec.size] * side / 2
    column, row = POSITIONS[spec.position]
    cell = side / 3
    return (column + 0.5) * cell, (row + 0.5) * cell, half


# The style the starter LoRA learns: the shape drawn as a thick outline in its colour, the
# background showing through; the ring is this share of the shape's width.
OUTLINE_SHARE = 0.13
STYLES = ("filled", "outline")


def render(spec: ShapeSpec, *, side: int = 128, style: str = "filled") -> Image.Image:
    """The picture of ``spec``: drawn at 4x and downsampled, so edges are smooth."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}")
    scale = 4
    big = side * scale
    image = Image.new("RGB", (big, big), COLOURS[spec.background])
    draw = ImageDraw.Draw(image)
    if spec.background_2:
        draw.rectangle((big // 2, 0, big, big), fill=COLOURS[spec.background_2])
    cx, cy, half = (v * scale for v in shape_box(spec, side))
    colour = COLOURS[spec.colour]
    # Filled: the colour inside; outline: a ring of the colour, the background inside.
    paint: dict[str, object] = {"fill": colour}
    if style == "outline":
        paint = {"outline": colour, "width": max(2 * scale, round(OUTLINE_SHARE * 2 * half))}
    if spec.shape == "circle":
        draw.ellipse((cx - half, cy - half, cx + half, cy + half), **paint)  # type: ignore[arg-type]
    elif spec.shape == "square":
        draw.rectangle((cx - half, cy - half, cx + half, cy + half), **paint)  # type: ignore[arg-type]
    elif spec.shape == "triangle":
        corners = [(cx, cy - half), (cx + half, cy + half), (cx - half, cy + half)]
        draw.polygon(corners, **paint)  # type: ignore[arg-type]
    elif spec.shape == "star":
        draw.polygon(_star(cx, cy, half), **paint)  # type: ignore[arg-type]
    else:
        raise ValueError(f"unknown shape {spec.shape!r}")
    return image.resize((side, side), Image.Resampling.LANCZOS)


def spec_random(rng: random.Random, *, two_tone_share: float = 0.2) -> ShapeSpec:
    """One random spec; the shape's colour always differs from the background's."""
    colour, background = rng.sample(sorted(COLOURS), 2)
    background_2 = ""
    if rng.random() < two_tone_share:
        background_2 = rng.choice([c for c in sorted(COLOURS) if c not in (colour, background)])
    return ShapeSpec(
        shape=rng.choice(SHAPES),
        colour=colour,
        size=rng.choice(sorted(SIZES)),
        position=rng.choice(list(POSITIONS)),
        background=background,
        background_2=background_2,
    )


def specs(seed: int, count: int, *, two_tone_share: float = 0.2) -> Iterator[ShapeSpec]:
    """``count`` specs, the same for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible data set, not a secret
    for _ in range(count):
        yield spec_random(rng, two_tone_share=two_tone_share)


# The evaluation's prompts come from their own seed and never appear in training.
EVAL_SEED = 20261121


def eval_specs(count: int = 200) -> list[ShapeSpec]:
    return list(specs(EVAL_SEED, count))


def train_specs(seed: int, count: int, *, held_out: int = 200) -> list[ShapeSpec]:
    """``count`` training specs whose captions are none of the first ``held_out`` evaluation
    prompts (a caption fixes everything the checker scores)."""
    excluded = {spec.caption() for spec in eval_specs(held_out)}
    rng = random.Random(seed)  # noqa: S311 - a reproducible data set, not a secret
    chosen: list[ShapeSpec] = []
    while len(chosen) < count:
        spec = spec_random(rng)
        if spec.caption() not in excluded:
            chosen.append(spec)
    return chosen
