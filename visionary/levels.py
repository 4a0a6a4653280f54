"""Content levels, as film ratings: PG < PG-13 < R < X.

A site-wide vocabulary kept in the lowest layer: settings parse MODERATION_MAX_LEVEL with it, and
members' browsing levels (accounts), moderation, models and pictures all rate content with it."""

from __future__ import annotations

from django.db import models


class Level(models.IntegerChoices):
    PG = 0, "PG"
    PG13 = 1, "PG-13"
    R = 2, "R"
    X = 3, "X"


def level_parse(label: str) -> Level:
    """``"PG-13"`` -> Level.PG13; ValueError names the accepted labels."""
    for level in Level:
        if level.label.casefold() == label.strip().casefold():
            return level
    raise ValueError(f"{label!r} is not one of {', '.join(str(lv.label) for lv in Level)}")
