"""Reads a picture of the shapes world back: shape, colour, size, position and background.

Deterministic and model-free, so evaluation scores mean the same on every machine: the background
is the named colour nearest each half's border, the shape is every pixel far from its half's
background, its colour the named colour nearest those pixels' median, and shape, size and position
are the template (all 4 x 3 x 9 of them, drawn by the data set's own renderer) that overlaps the
shape best (intersection over union), which also copes with shapes cut by the picture's edge.
The style (filled or outline) is read from the template's core: the template shrunk by a few
pixels, which is background inside an outlined shape and shape inside a filled one, however soft
its edge or slightly off its place."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageFilter

from tools.starter.shapes import COLOURS, POSITIONS, SHAPES, SIZES, ShapeSpec, render

_NAMES = sorted(COLOURS)
_PALETTE = np.array([COLOURS[name] for name in _NAMES], dtype=np.float32)
# A pixel this far (RGB distance) from its half's background belongs to the shape.
FOREGROUND_DISTANCE = 60.0
# A shape whose best template's core shows at least this share of background is drawn in
# outline. Measured on 200 pictures at 64 px: drawn, 200 filled and 195 outlined read right;
# blurred (radius 0.8) and moved by two pixels, 200 and 188 (a small star's outline has next to
# no inside left at 64 px).
HOLLOW_OUTLINE = 0.2
# The core: the template eroded by this share of the picture's side (2 px at 64 px), about the
# outline's width, so an outline's ring and a filled shape's soft edge both fall outside it.
CORE_MARGIN = 1 / 32


@dataclass(frozen=True)
class Reading:
    shape: str
    colour: str
    size: str
    position: str
    background: str
    background_2: str
    # Best template overlap (0-1): low means "no clear shape".
    overlap: float
    # Share of the best template's core where the background shows through: ~0 for a filled
    # shape, large for the outline style (shapes cut by the picture's edge included).
    hollow: float = 0.0

    @property
    def style(self) -> str:
        return "outline" if self.hollow >= HOLLOW_OUTLINE else "filled"


def colour_name(rgb: np.ndarray) -> str:
    """The named colour nearest an RGB value."""
    return _NAMES[int(np.argmin(((_PALETTE - rgb) ** 2).sum(axis=1)))]


@lru_cache(maxsize=4)
def _templates(side: int) -> tuple[list[tuple[str, str, str]], np.ndarray, np.ndarray]:
    """Every (shape, size, position), its mask and its core (the mask eroded by CORE_MARGIN)."""
    keys = [(s, z, p) for s in SHAPES for z in SIZES for p in POSITIONS]
    pictures = [
        render(ShapeSpec(s, "white", z, p, "black"), side=side).convert("L") for s, z, p in keys
    ]
    erode = ImageFilter.MinFilter(2 * max(1, round(side * CORE_MARGIN)) + 1)
    masks = np.stack([np.asarray(picture) > 127 for picture in pictures])
    cores = np.stack([np.asarray(picture.filter(erode)) > 127 for picture in pictures])
    return keys, masks, cores


# A drawn shape is seldom exactly where its template is: the core is also tried a pixel off in
# each direction, and the best cover counts (two pixels would slide it onto an outline's ring).
_CORE_SHIFTS = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]


def _shifted(mask: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``mask`` moved dx pixels right and dy down, what leaves the picture dropped."""
    moved = np.zeros_like(mask)
    h, w = mask.shape
    moved[max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx)] = mask[
        max(0, -dy) : h + min(0, -dy), max(0, -dx) : w + min(0, -dx)
    ]
    return moved


def picture_read(image: Image.Image) -> Reading:
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    side = pixels.shape[0]
    if pixels.shape[:2] != (side, side):
        raise ValueError("pictures of the shapes world are square")
    half = side // 2
    border = np.zeros((side, side), dtype=bool)
    border[:2, :] = border[-2:, :] = border[:, :2] = border[:, -2:] = True
    left_bg = np.median(pixels[:, :half][border[:, :half]], axis=0)
    right_bg = np.median(pixels[:, half:][border[:, half:]], axis=0)
    left_name, right_name = colour_name(left_bg), colour_name(right_bg)

    background = np.empty_like(pixels)
    background[:, :half] = left_bg
    background[:, half:] = right_bg
    distance = np.sqrt(((pixels - background) ** 2).sum(axis=2))
    mask = distance > FOREGROUND_DISTANCE
    if mask.sum() == 0:
        return Reading("", "", "", "", left_name, "" if left_name == right_name else right_name, 0)
    core = distance >= np.percentile(distance[mask], 50)
    colour = colour_name(np.median(pixels[core & mask], axis=0))

    keys, templates, cores = _templates(side)
    intersection = (templates & mask).sum(axis=(1, 2))
    union = (templates | mask).sum(axis=(1, 2))
    overlaps = intersection / np.maximum(union, 1)
    best = int(np.argmax(overlaps))
    shape, size, position = keys[best]
    inside = cores[best] if cores[best].any() else templates[best]
    covered = max((_shifted(inside, dx, dy) & mask).sum() / inside.sum() for dx, dy in _CORE_SHIFTS)
    return Reading(
        shape=shape,
        colour=colour,
        size=size,
        position=position,
        background=left_name,
        background_2="" if left_name == right_name else right_name,
        overlap=float(overlaps[best]),
        hollow=float(1 - covered),
    )
