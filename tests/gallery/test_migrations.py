"""gallery's data migrations."""

from __future__ import annotations

from importlib import import_module

from django.apps import apps

from gallery.models import ImageLora
from tests.gallery.factories import ImageFactory
from tests.generation.factories import GenerationJobFactory
from tests.modelhub.factories import AIModelFactory, ModelVersionFactory

backfill = import_module("gallery.migrations.0004_image_loras_backfill").backfill


def test_backfill_links_earlier_pictures_to_their_jobs_loras(db):
    lora = ModelVersionFactory(model=AIModelFactory(type="lora"))
    entry = {"version": lora.pk, "name": "Ink", "weight": 0.6, "hash": "0" * 10, "sha256": "0"}
    gone = entry | {"version": lora.pk + 1000, "name": "Deleted since"}
    styled = ImageFactory(job=GenerationJobFactory(loras=[entry, gone]))
    ImageFactory(job=GenerationJobFactory())  # no LoRA
    ImageFactory()  # uploaded, no job

    backfill(apps, None)
    backfill(apps, None)  # safe to run again

    assert [(u.image_id, u.version_id, u.weight) for u in ImageLora.objects.all()] == [
        (styled.pk, lora.pk, 0.6)
    ]
