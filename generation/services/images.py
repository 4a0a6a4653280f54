"""Storing a job's pictures."""

from __future__ import annotations

import logging

from django.core.files.base import ContentFile

from gallery.models import Image
from generation.models import GenerationJob

logger = logging.getLogger(__name__)


def image_store(*, job: GenerationJob, png: bytes, seed: int, infotext: str) -> Image:
    """One private picture of ``job``: the PNG in storage, its recipe on the row."""
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
    )
    image.file.save("result.png", ContentFile(png), save=False)
    image.save()
    return image
