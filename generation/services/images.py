"""Storing a job's pictures."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from gallery.models import Image, ImageLora
from generation.models import GenerationJob
from modelhub.models import ModelVersion
from moderation.imagefilter import Rating

logger = logging.getLogger(__name__)


def image_store(
    *, job: GenerationJob, png: bytes, seed: int, infotext: str, rating: Rating
) -> Image:
    """One private picture of ``job``: the PNG in storage, its recipe and content level on the
    row. Rated above the site's limit, it is withheld: stored under quarantine/, never served."""
    withheld = rating.level > settings.MODERATION_MAX_LEVEL
    image = Image(
        owner=job.user,
        job=job,
        model_version=job.model_version,
        width=job.width,
        height=job.height,
        infotext=infotext,
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
        seed=seed,
        steps=job.steps,
        sampler=job.sampler,
        cfg_scale=job.cfg_scale,
        level=rating.level,
        level_labels=" ".join(rating.labels),
        withheld_at=timezone.now() if withheld else None,
    )
    image.file.save("result.png", ContentFile(png), save=False)
    image.save()
    _loras_link(image, job)
    if withheld:
        logger.warning(
            "picture withheld",
            extra={"job_id": job.pk, "image_id": image.pk, "level": rating.level.label},
        )
    return image


def _loras_link(image: Image, job: GenerationJob) -> None:
    """Link the picture to the LoRAs its job used (a LoRA deleted since submission is left out:
    the infotext still names it)."""
    weights = {lora["version"]: float(lora["weight"]) for lora in job.loras}
    existing = ModelVersion.objects.filter(pk__in=weights).values_list("pk", flat=True)
    ImageLora.objects.bulk_create(
        ImageLora(image=image, version_id=pk, weight=weights[pk]) for pk in existing
    )
