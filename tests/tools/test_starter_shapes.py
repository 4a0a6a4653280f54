"""The shapes world of the starter model: a seeded data set and a checker that reads it back."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tools.starter.checker import picture_read
from tools.starter.shapes import ShapeSpec, eval_specs, render, specs, train_specs

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
    # Training leaves the size out of some captions, so prompts without one are in its world.
    assert spec.caption(size=False) == "a red circle on a blue background, top left"


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


def test_checker_tells_the_outline_style_from_filled_shapes_at_64_px():
    cases = list(specs(12, 200))
    filled = [picture_read(render(spec, side=64)).style for spec in cases]
    outlined = [picture_read(render(spec, side=64, style="outline")).style for spec in cases]
    assert filled.count("filled") == 200
    # At 64 px a small star's outline has next to no inside left.
    assert outlined.count("outline") >= 190


def test_checker_tells_the_outline_style_from_filled_shapes():
    for spec in specs(12, 150):
        filled = picture_read(render(spec, side=128))
        outlined = picture_read(render(spec, side=128, style="outline"))
        assert (filled.style, outlined.style) == ("filled", "outline"), spec
        # The outline keeps what the caption says: shape, colour, position.
        assert (outlined.shape, outlined.colour, outlined.position) == (
            spec.shape,
            spec.colour,
            spec.position,
        ), spec


def test_a_soft_or_shifted_filled_shape_is_not_read_as_an_outline():
    # What a model draws is never the template: blurred and off by a pixel or two, a filled
    # shape must still read as filled (its core is covered), an outline as an outline.
    from PIL import ImageFilter

    right = {"filled": 0, "outline": 0}
    for spec in specs(13, 200):
        for style in right:
            picture = render(spec, side=64, style=style).filter(ImageFilter.GaussianBlur(0.8))
            # Two pixels right and one down, the border's pixels repeated.
            pixels = np.pad(np.asarray(picture), ((1, 0), (2, 0), (0, 0)), mode="edge")
            right[style] += picture_read(Image.fromarray(pixels[:64, :64])).style == style
    # (A blurred small star's outline has next to no inside left at 64 px.)
    assert right["filled"] == 200
    assert right["outline"] >= 180


def test_unknown_style_is_refused():
    with pytest.raises(ValueError, match="style"):
        render(ShapeSpec("circle", "red", "small", "top", "blue"), style="sketch")


def test_training_never_sees_an_evaluation_prompt():
    held_out = {spec.caption() for spec in eval_specs(200)}
    assert len(held_out) == 200
    training = train_specs(7, 3000)
    assert not held_out & {spec.caption() for spec in training}
    assert training == train_specs(7, 3000)


def test_training_pictures_outline_the_last_share():
    from tools.starter.checker import picture_read as read
    from tools.starter.train import pictures

    batch = pictures(eval_specs(8), side=64, outline_share=0.25)
    assert batch.shape == (8, 3, 64, 64) and batch.dtype.is_floating_point is False
    full = pictures(eval_specs(4), outline_share=1.0)
    assert {read(Image.fromarray(p.permute(1, 2, 0).numpy())).style for p in full} == {"outline"}
