"""The shapes world of the starter model: a seeded data set and a checker that reads it back."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from generation.starter.checker import picture_read
from generation.starter.shapes import ShapeSpec, render, specs

FIELDS = ("shape", "colour", "size", "position", "background", "background_2")


def test_same_seed_gives_the_same_data_set():
    first = [(spec, render(spec, side=64).tobytes()) for spec in specs(3, 20)]
    again = [(spec, render(spec, side=64).tobytes()) for spec in specs(3, 20)]
    assert first == again
    assert [spec for spec, _ in first] != list(specs(4, 20))


def test_captions_read_like_the_issue_says():
    spec = ShapeSpec("circle", "red", "small", "top left", "blue")
    assert spec.caption() == "a small red circle on a blue background, top left"
    centred = ShapeSpec("star", "yellow", "large", "center", "purple", "white")
    assert centred.caption() == "a large yellow star on a purple and white background"


def test_the_shape_never_has_the_background_colour():
    for spec in specs(1, 500):
        assert spec.colour not in (spec.background, spec.background_2)


@pytest.mark.parametrize("side", [64, 128])
def test_checker_reads_every_field_of_drawn_pictures(side):
    for spec in specs(11, 150):
        reading = picture_read(render(spec, side=side))
        assert tuple(getattr(reading, f) for f in FIELDS) == tuple(
            getattr(spec, f) for f in FIELDS
        ), spec


def test_checker_survives_noise():
    rng = np.random.default_rng(0)
    right = 0
    cases = list(specs(5, 100))
    for spec in cases:
        pixels = np.asarray(render(spec), dtype=np.float32)
        noisy = np.clip(pixels + rng.normal(0, 12, pixels.shape), 0, 255).astype(np.uint8)
        reading = picture_read(Image.fromarray(noisy))
        right += all(getattr(reading, f) == getattr(spec, f) for f in FIELDS)
    assert right >= 95


def test_checker_on_a_blank_picture_finds_no_shape():
    reading = picture_read(Image.new("RGB", (64, 64), (30, 70, 220)))
    assert (reading.shape, reading.background, reading.overlap) == ("", "blue", 0)
