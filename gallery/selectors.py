"""Reads for the gallery. Unpublished pictures are visible to their owner only."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from gallery.models import Image, ImageLora

Viewer = AbstractBaseUser | AnonymousUser


def _with_joins(images: QuerySet[Image]) -> QuerySet[Image]:
    return images.select_related("owner", "model_version__model")


def images_published() -> QuerySet[Image]:
    """The public gallery, newest first; gallery.filters.ImageFilter narrows it (``?q=``)."""
    return _with_joins(Image.objects.filter(is_published=True)).order_by("-published_at", "-pk")


def images_of_model(*, model_id: int) -> QuerySet[Image]:
    """Published pictures made with any version of a model, or with it as a LoRA: its previews
    on the hub."""
    with_lora = ImageLora.objects.filter(version__model_id=model_id).values("image_id")
    return images_published().filter(Q(model_version__model_id=model_id) | Q(pk__in=with_lora))


def loras_of_image(*, image: Image) -> QuerySet[ImageLora]:
    """The LoRAs a picture was made with, and their weights: its recipe's resources."""
    return image.lora_uses.select_related("version__model")


def images_visible_to(*, viewer: Viewer) -> QuerySet[Image]:
    visible = Q(is_published=True)
    if viewer.is_authenticated:
        visible |= Q(owner_id=viewer.pk)
    return _with_joins(Image.objects.filter(visible))


def images_of_owner_for_viewer(*, owner: AbstractBaseUser, viewer: Viewer) -> QuerySet[Image]:
    images = images_visible_to(viewer=viewer).filter(owner_id=owner.pk)
    return images.order_by("-created_at", "-pk")


def images_withheld_of_job(*, job_id: int) -> QuerySet[Image]:
    """A job's pictures the image classifier withheld: the member is told, never shown them."""
    return Image.all_objects.filter(job_id=job_id, withheld_at__isnull=False).order_by("pk")


def withheld_notices(*, job_id: int) -> list[dict[str, str]]:
    """What the member is told about each withheld picture: its level and the reason."""
    return [
        {"level": image.level_label, "reason": image.withheld_reason}
        for image in images_withheld_of_job(job_id=job_id)
    ]
