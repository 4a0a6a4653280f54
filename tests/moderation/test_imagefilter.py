"""The image classifier: nudenet's detections turned into a level by the rules in settings."""

from __future__ import annotations

from PIL import Image as PILImage

from moderation.imagefilter import Rating, image_rate, rating_from_detections
from visionary.levels import Level, level_parse

RULES = {
    "FEMALE_GENITALIA_EXPOSED": ("X", 0.35),
    "FEMALE_BREAST_EXPOSED": ("R", 0.35),
    "FEMALE_BREAST_COVERED": ("PG-13", 0.5),
}


def detection(label: str, score: float) -> dict[str, object]:
    return {"class": label, "score": score, "box": [0, 0, 10, 10]}


def test_no_detection_is_pg() -> None:
    assert rating_from_detections([], RULES) == Rating(Level.PG)


def test_the_highest_level_reached_wins_and_names_its_labels() -> None:
    rating = rating_from_detections(
        [detection("FEMALE_BREAST_COVERED", 0.9), detection("FEMALE_BREAST_EXPOSED", 0.6)], RULES
    )
    assert rating == Rating(Level.R, ("FEMALE_BREAST_EXPOSED",))
    assert rating.reason == "exposed breasts"


def test_a_score_below_its_threshold_does_not_count() -> None:
    rating = rating_from_detections([detection("FEMALE_GENITALIA_EXPOSED", 0.3)], RULES)
    assert rating.level == Level.PG


def test_labels_without_a_rule_do_not_raise_the_level() -> None:
    rating = rating_from_detections([detection("FACE_FEMALE", 0.99)], RULES)
    assert rating.level == Level.PG


def test_levels_parse_from_their_labels() -> None:
    assert level_parse("pg-13") == Level.PG13
    assert Level.PG < Level.PG13 < Level.R < Level.X


def test_the_real_detector_rates_a_plain_picture_pg() -> None:
    picture = PILImage.new("RGB", (128, 128), (40, 90, 200))
    picture.paste((220, 40, 40), (32, 32, 96, 96))
    assert image_rate(picture).level == Level.PG
